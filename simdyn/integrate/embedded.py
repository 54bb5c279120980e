"""Per-scenario adaptive stepping with embedded Runge–Kutta pairs (Dormand–Prince, Bogacki–Shampine).

Every scenario of a batch keeps its own time, step size and error control; the batch is advanced
together with masks (a scenario whose step is rejected retries with a smaller step while its
neighbours move on; a finished or failed scenario takes steps of length zero). The step control
follows scipy's ``RK45``/``RK23`` (initial step, safety factor 0.9, step ratio within [0.2, 10],
no growth right after a rejection, RMS error norm), applied to each scenario on its own, so a
scenario's steps do not depend on the other scenarios of its batch. States at the saved times
come from the pair's dense output.

The right-hand side is called as ``rhs(t, t, y)`` with ``t`` an array of one time per scenario
(shape ``(n_scenarios,)``, broadcasting against the trailing scenario axis of ``y``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.integrate.fixed import Status
from simdyn.integrate.tableau import EmbeddedPair

__all__ = ["integrate_embedded"]

BatchRhs = Callable[[Any, Any, FloatArray], FloatArray]

_SAFETY = 0.9
_MIN_FACTOR = 0.2
_MAX_FACTOR = 10.0
#: consecutive steps shorter than 1e-12 of the span after which a scenario is stopped (as in
#: the scipy adapter): its step size collapsed at a discontinuity or a singularity
_STALL_STEPS = 100


def _rms_rows(x: FloatArray) -> FloatArray:
    """Root mean square over the rows of ``x`` (state, scenario), summed row by row.

    The explicit loop keeps each column's sum in the same order whatever the number of
    columns, so a scenario's error norm does not depend on its batch.
    """
    acc = x[0] * x[0]
    for r in range(1, x.shape[0]):
        acc += x[r] * x[r]
    out: FloatArray = np.sqrt(acc / x.shape[0])
    return out


def _power(x: FloatArray, exponent: float) -> FloatArray:
    """``x ** exponent`` (``x >= 0`` or NaN) with the C library's ``pow``, one number at a time.

    scipy's solvers raise their scalar error norm to the power this way, and so does the
    compiled backend; numpy's vectorized ``power`` (SIMD loops on CPUs with AVX-512) may differ
    in the last bit, and a step size that differs in its last bit can, rarely, accept or
    reject a step that the others do not. ``0 ** exponent`` is ``inf`` (as numpy gives it).
    """
    out: FloatArray = np.array(
        [math.pow(v, exponent) if v != 0.0 else math.inf for v in x.tolist()], dtype=float
    )
    return out


def _combine(ks: list[FloatArray], weights: tuple[float, ...]) -> FloatArray:
    """``Σ_j weights[j] * ks[j]`` skipping zero weights, in a fixed order."""
    acc: FloatArray | None = None
    for w, k in zip(weights, ks, strict=False):
        if w == 0.0:
            continue
        acc = w * k if acc is None else acc + w * k
    return acc if acc is not None else np.zeros_like(ks[0])


def _first_bad_row(k: FloatArray) -> IntArray:
    rows: IntArray = np.argmin(np.isfinite(k), axis=0)
    return rows


class _Batch:
    """State of a batch of scenarios being stepped by one embedded pair."""

    def __init__(
        self,
        rhs: BatchRhs,
        y0: FloatArray,
        t_eval: FloatArray,
        pair: EmbeddedPair,
        rtol: float,
        atol: float,
        max_step: float,
    ) -> None:
        self.rhs, self.pair = rhs, pair
        self.rtol, self.atol, self.max_step = rtol, atol, max_step
        self.t_eval = t_eval
        self.t_end = float(t_eval[-1])
        n_state, n = y0.shape
        self.y = np.array(y0, dtype=float, copy=True)
        self.t = np.full(n, float(t_eval[0]))
        self.saved = np.full((len(t_eval), n_state, n), np.nan)
        self.saved[0] = self.y
        self.k_next = np.ones(n, dtype=np.int64)
        self.active = np.ones(n, dtype=bool)
        self.rejected = np.zeros(n, dtype=bool)
        self.steps = np.zeros(n, dtype=np.int64)
        self.fail_row = np.full(n, -1, dtype=np.int64)
        self.fail_save = np.full(n, -1, dtype=np.int64)  # first save a failure left empty
        self.worst_row = np.zeros(n, dtype=np.int64)  # the row of the largest last error
        self.stalled = np.zeros(n, dtype=np.int64)  # consecutive collapsed steps
        self.message = ""
        self.f = rhs(self.t, self.t, self.y)
        self._fail(~np.isfinite(self.f).all(axis=0), self.f, "a derivative became non-finite")
        self.h_abs = self._initial_step()
        self._finish_if_done(self.t >= self.t_end)

    def _fail(self, bad: Any, k: FloatArray, why: str) -> None:
        bad = bad & self.active
        if not bad.any():
            return
        cols = np.flatnonzero(bad)
        self.fail_row[cols] = _first_bad_row(k[:, cols])
        self.fail_save[cols] = self.k_next[cols]
        self.active[cols] = False
        if not self.message:
            self.message = f"{why} at t = {float(self.t[cols[0]]):g}"

    def _finish_if_done(self, done: np.ndarray) -> None:
        self.active &= ~done

    def _initial_step(self) -> FloatArray:
        """scipy's ``select_initial_step``, one scenario at a time (vectorized)."""
        order = self.pair.error_order
        length = self.t_end - float(self.t_eval[0])
        scale = self.atol + np.abs(self.y) * self.rtol
        d0 = _rms_rows(self.y / scale)
        d1 = _rms_rows(self.f / scale)
        h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.where(d1 > 0, d1, 1.0))
        h0 = np.minimum(h0, length)
        f1 = self.rhs(self.t + h0, self.t + h0, self.y + h0 * self.f)
        self._fail(~np.isfinite(f1).all(axis=0), f1, "a derivative became non-finite")
        d2 = _rms_rows((f1 - self.f) / scale) / h0
        big = np.maximum(d1, d2)
        h1 = np.where(
            (d1 <= 1e-15) & (d2 <= 1e-15),
            np.maximum(1e-6, h0 * 1e-3),
            _power(0.01 / np.where(big > 0, big, 1.0), 1 / (order + 1)),
        )
        h: FloatArray = np.minimum(np.minimum(100 * h0, h1), min(length, self.max_step))
        return h

    def _step_sizes(self) -> FloatArray:
        """This attempt's step per scenario (zero for inactive scenarios)."""
        min_step = 10 * np.abs(np.nextafter(self.t, np.inf) - self.t)
        fresh = ~self.rejected
        clipped = np.where(
            self.h_abs > self.max_step,
            self.max_step,
            np.where(self.h_abs < min_step, min_step, self.h_abs),
        )
        self.h_abs = np.where(fresh, clipped, self.h_abs)
        too_small = self.active & ~fresh & (self.h_abs < min_step)
        if too_small.any():
            marker = np.zeros_like(self.y)
            marker[self.worst_row, np.arange(self.y.shape[1])] = np.nan
            self._fail(too_small, marker, "the step size became too small")
        t_new = np.minimum(self.t + self.h_abs, self.t_end)
        h: FloatArray = np.where(self.active, t_new - self.t, 0.0)
        self.h_abs = np.where(self.active, h, self.h_abs)  # the last step ends at the end
        return h

    def _stop_stalled(self, h: FloatArray) -> FloatArray:
        """Fail the scenarios whose steps have been collapsed for :data:`_STALL_STEPS` attempts
        (they would otherwise crawl for ever); ``h`` with their steps set to zero."""
        tiny = 1e-12 * (self.t_end - float(self.t_eval[0]))
        self.stalled = np.where(self.active & (h <= tiny), self.stalled + 1, 0)
        collapsed = self.stalled >= _STALL_STEPS
        if not collapsed.any():
            return h
        marker = np.zeros_like(self.y)
        marker[self.worst_row, np.arange(self.y.shape[1])] = np.nan
        self._fail(collapsed, marker, "the step size collapsed")
        return np.where(self.active, h, 0.0)

    def _attempt(self, h: FloatArray) -> tuple[FloatArray, list[FloatArray]]:
        """One trial step of length ``h``: the new state and all stage derivatives."""
        pair = self.pair
        ks = [self.f]
        for j in range(1, pair.stages):
            yj = self.y + h * _combine(ks, pair.a[j])
            tj = self.t + pair.c[j] * h
            ks.append(self.rhs(tj, tj, yj))
        y_new = self.y + h * _combine(ks, pair.b)
        t_new = self.t + h
        ks.append(self.rhs(t_new, t_new, y_new))
        return y_new, ks

    def step(self) -> None:
        """Advance every active scenario by one attempted step (accepted or rejected)."""
        h = self._stop_stalled(self._step_sizes())
        y_new, ks = self._attempt(h)
        finite = np.ones(self.y.shape[1], dtype=bool)
        for k in ks[1:]:
            ok = np.isfinite(k).all(axis=0)
            self._fail(finite & ~ok, k, "a derivative became non-finite")
            finite &= ok
        scale = self.atol + np.maximum(np.abs(self.y), np.abs(y_new)) * self.rtol
        weighted = h * _combine(ks, self.pair.e) / scale
        err = _rms_rows(weighted)
        self.worst_row = np.where(self.active, np.argmax(np.abs(weighted), axis=0), self.worst_row)
        accept = self.active & (err < 1)
        exponent = -1.0 / (self.pair.error_order + 1)
        factor = _SAFETY * _power(err, exponent)
        grow = np.where(err == 0, _MAX_FACTOR, np.minimum(_MAX_FACTOR, factor))
        shrink = np.maximum(_MIN_FACTOR, np.nan_to_num(factor, nan=0.0))
        grow = np.where(self.rejected, np.minimum(1.0, grow), grow)
        self.h_abs = self.h_abs * np.where(accept, grow, np.where(self.active, shrink, 1.0))
        if accept.any():
            self._save_dense(accept, h, ks)
        self.y = np.where(accept, y_new, self.y)
        self.f = np.where(accept, ks[-1], self.f)
        self.t = np.where(accept, self.t + h, self.t)
        self.steps += accept
        self.rejected = np.where(accept, False, self.active)
        self._finish_if_done(accept & (self.t >= self.t_end))

    def _save_dense(self, accept: np.ndarray, h: FloatArray, ks: list[FloatArray]) -> None:
        """Interpolate every saved time inside the accepted steps."""
        n_save = len(self.t_eval)
        t_new = self.t + h
        p = self.pair.p
        while True:
            k = np.minimum(self.k_next, n_save - 1)
            due = accept & (self.k_next < n_save) & (self.t_eval[k] <= t_new)
            if not due.any():
                return
            cols = np.flatnonzero(due)
            kc = k[cols]
            hc = h[cols]
            theta = (self.t_eval[kc] - self.t[cols]) / hc
            acc = np.zeros((self.y.shape[0], cols.size))
            power = np.ones(cols.size)
            for d in range(len(p[0])):
                power = power * theta
                q = _combine([kj[:, cols] for kj in ks], tuple(row[d] for row in p))
                acc += q * power
            self.saved[kc, :, cols] = (self.y[:, cols] + hc * acc).T
            self.k_next[cols] += 1


def integrate_embedded(
    rhs: BatchRhs,
    y0: FloatArray,
    *,
    t_eval: FloatArray,
    pair: EmbeddedPair,
    on_save: Callable[[int, float, FloatArray], None],
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_step: float = np.inf,
    clamp_rows: IntArray | None = None,
) -> Status:
    """Integrate ``rhs`` with ``pair``, each scenario under its own step-size control.

    Parameters
    ----------
    rhs
        Batched right-hand side ``rhs(t, ts, y)``; ``t`` and ``ts`` are arrays of one time per
        scenario, ``y`` has shape ``(n_state, n_scenarios)``.
    y0 : ndarray, shape (n_state, n_scenarios)
        Initial state (not modified).
    t_eval
        Increasing saved times; the first is the start, the last the end of the run.
    pair
        The embedded Runge–Kutta pair (:data:`~simdyn.integrate.DOPRI5`, ``BS23``).
    on_save
        Called as ``on_save(k, t_eval[k], y)`` for every saved time, in order, after the run.
    rtol, atol
        Relative and absolute tolerances of each scenario's local error.
    max_step
        Longest step.
    clamp_rows
        State rows whose saved values are cut at zero (non-negative stocks).

    Returns
    -------
    Status
        Per scenario: ok, or the first saved time it did not reach and the state row whose
        derivative went non-finite; ``steps`` counts each scenario's accepted steps.
    """
    n_state, n = y0.shape
    with np.errstate(all="ignore"):
        if n_state == 0:
            status = Status.all_ok(n)
            status.steps = np.zeros(n, dtype=np.int64)
            for k, t in enumerate(t_eval):
                on_save(k, float(t), np.empty((0, n)))
            return status
        batch = _Batch(rhs, y0, np.asarray(t_eval, dtype=float), pair, rtol, atol, max_step)
        while batch.active.any():
            batch.step()
        return _flush(batch, on_save, clamp_rows)


def _flush(
    batch: _Batch, on_save: Callable[[int, float, FloatArray], None], clamp: IntArray | None
) -> Status:
    n = batch.y.shape[1]
    status = Status.all_ok(n)
    status.message = batch.message
    status.steps = batch.steps
    for k, t in enumerate(batch.t_eval):
        y = batch.saved[k]
        if clamp is not None and clamp.size:
            y[clamp] = np.maximum(y[clamp], 0.0)
        status.check(float(t), y)
        on_save(k, float(t), y)
    # a scenario stopped by a non-finite derivative: name the row that went non-finite
    stopped = np.flatnonzero((batch.fail_save >= 0) & (batch.fail_save < len(batch.t_eval)))
    for s in stopped:
        if status.fail_time[s] == batch.t_eval[batch.fail_save[s]]:
            status.fail_row[s] = batch.fail_row[s]
    return status
