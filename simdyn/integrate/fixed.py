"""The fixed-step driver: any explicit Runge–Kutta tableau over a batch of scenarios.

System-dynamics conventions: time advances as ``start + i * dt`` (no accumulated rounding);
the right-hand side receives the stage time ``t`` and the start time ``ts`` of the current step,
so that discontinuous inputs (STEP, PULSE) switch at step boundaries for every method;
non-negative stocks are clamped at zero after each step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.integrate.tableau import ButcherTableau

__all__ = ["RhsInto", "Status", "integrate_fixed"]

Rhs = Callable[[float, float, FloatArray], FloatArray]
OnSave = Callable[[int, float, FloatArray], None]


class RhsInto(Protocol):
    """A batched right-hand side that can write into a given array."""

    def __call__(
        self, t: float, ts: float, y: FloatArray, out: FloatArray | None = None
    ) -> FloatArray:
        """``dy/dt`` at stage time ``t`` of the step starting at ``ts`` (into ``out``)."""
        ...


@dataclass
class Status:
    """Per-scenario outcome: ``ok[s]``; for failures the first time and state row non-finite.

    ``steps`` counts each scenario's accepted steps when the method chooses them per scenario.
    """

    ok: np.ndarray
    fail_time: FloatArray
    fail_row: IntArray
    message: str = ""
    steps: IntArray | None = None
    fail_variable: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    """Name of a failed saved variable (``""``: the failure is the state row ``fail_row``)."""

    def __post_init__(self) -> None:
        if self.fail_variable.shape != self.ok.shape:
            self.fail_variable = np.full(self.ok.shape, "", dtype=object)

    @classmethod
    def all_ok(cls, n: int) -> Status:
        """A status in which all ``n`` scenarios succeeded."""
        return cls(np.ones(n, dtype=bool), np.full(n, np.nan), np.full(n, -1, dtype=np.int64))

    def check(self, t: float, y: FloatArray) -> None:
        """Mark scenarios whose state has become non-finite at time ``t``."""
        finite = np.isfinite(y)
        bad = ~finite.all(axis=0) & self.ok
        if bad.any():
            cols = np.flatnonzero(bad)
            self.ok[cols] = False
            self.fail_time[cols] = t
            self.fail_row[cols] = np.argmin(finite[:, cols], axis=0)


def integrate_fixed(
    rhs: RhsInto,
    y0: FloatArray,
    *,
    start: float,
    dt: float,
    n_steps: int,
    save_every: int,
    tableau: ButcherTableau,
    on_save: OnSave,
    clamp_rows: IntArray | None = None,
    post_step: Callable[[float, FloatArray], None] | None = None,
) -> Status:
    """Integrate ``dy/dt = rhs(t, ts, y)`` from ``start`` for ``n_steps`` steps of ``dt``.

    The driver allocates its work arrays once (state, stage derivatives, stage state, one
    temporary, the finiteness masks, the zeros that non-negative stocks are clamped at) and
    reuses them for every step and stage; ``rhs`` writes each stage's derivative into its slot
    (``out=``).

    Parameters
    ----------
    rhs
        Batched right-hand side ``rhs(t, ts, y, out=None)``; ``y`` and ``out`` have shape
        ``(n_state, n_scenarios)``; it returns ``out`` (a new array when ``out`` is ``None``).
    y0 : ndarray, shape (n_state, n_scenarios)
        Initial state (not modified).
    save_every
        ``on_save(k, t, y)`` is called at step 0 and every ``save_every`` steps (``k`` counts
        saves).
    tableau
        The explicit Runge–Kutta method.
    clamp_rows
        State rows that may not go below zero.
    post_step
        ``post_step(t, y)`` may change ``y`` in place after each step (discrete events), before
        the state is checked and saved.

    Returns
    -------
    Status
        Which scenarios stayed finite.
    """
    y = np.array(y0, dtype=float, copy=True)
    status = Status.all_ok(y.shape[1])
    w = _Work(y, tableau.stages)
    clamp = _row_ranges(clamp_rows)
    with np.errstate(all="ignore"):
        w.check(status, start, y)
        on_save(0, start, y)
        k_saved = 1
        for i in range(n_steps):
            t = start + i * dt
            _step(rhs, t, dt, y, tableau, w)
            for lo, hi in clamp:
                np.maximum(y[lo:hi], w.zeros[lo:hi], out=y[lo:hi])
            t_next = start + (i + 1) * dt
            if post_step is not None:
                post_step(t_next, y)
            w.check(status, t_next, y)
            if (i + 1) % save_every == 0:
                on_save(k_saved, t_next, y)
                k_saved += 1
    return status


class _Work:
    """Work arrays of the fixed-step driver, allocated once per chunk."""

    def __init__(self, y: FloatArray, stages: int) -> None:
        self.ks = np.empty((stages, *y.shape))
        self.yj = np.empty_like(y)
        self.tmp = np.empty_like(y)
        self.finite = np.empty(y.shape, dtype=bool)
        self.col = np.empty(y.shape[1], dtype=bool)
        self.bad = np.empty(y.shape[1], dtype=bool)
        # numpy's maximum is vectorized for two arrays, not for an array and a scalar
        self.zeros = np.zeros_like(y)

    def check(self, status: Status, t: float, y: FloatArray) -> None:
        """:meth:`Status.check` without allocating while every scenario stays finite."""
        np.isfinite(y, out=self.finite)
        if self.finite.all():
            return
        np.logical_and.reduce(self.finite, axis=0, out=self.col)
        np.greater(status.ok, self.col, out=self.bad)  # ok and not finite
        if self.bad.any():
            status.check(t, y)


def _step(
    rhs: RhsInto, t: float, dt: float, y: FloatArray, tableau: ButcherTableau, w: _Work
) -> None:
    """One Runge–Kutta step of ``y`` in place (the same operations, in the same order, as
    ``yj = y + sum((dt * a[j][m]) * k[m])`` and ``y += sum((dt * b[j]) * k[j])``)."""
    a, b, c = tableau.a, tableau.b, tableau.c
    ks, yj, tmp = w.ks, w.yj, w.tmp
    for j in range(tableau.stages):
        if j == 0:
            stage = y
        else:
            stage = y  # until the first term: y + tmp into yj (no copy of y first)
            for m, coef in enumerate(a[j]):
                if coef != 0.0:
                    np.multiply(dt * coef, ks[m], out=tmp)
                    np.add(stage, tmp, out=yj)
                    stage = yj
            if stage is y:  # every coefficient zero: the stage state is the step's state
                np.copyto(yj, y)
                stage = yj
        rhs(t + c[j] * dt, t, stage, out=ks[j])
    for j in range(tableau.stages):
        np.multiply(dt * b[j], ks[j], out=tmp)
        y += tmp


def _row_ranges(rows: IntArray | None) -> list[tuple[int, int]]:
    """Sorted ``rows`` as runs of consecutive rows ``[(lo, hi), ...]``."""
    if rows is None or not rows.size:
        return []
    runs: list[tuple[int, int]] = []
    for r in np.unique(rows).tolist():
        if runs and runs[-1][1] == r:
            runs[-1] = (runs[-1][0], r + 1)
        else:
            runs.append((r, r + 1))
    return runs
