"""The fixed-step driver: any explicit Runge–Kutta tableau over a batch of scenarios.

System-dynamics conventions: time advances as ``start + i * dt`` (no accumulated rounding);
the right-hand side receives the stage time ``t`` and the start time ``ts`` of the current step,
so that discontinuous inputs (STEP, PULSE) switch at step boundaries for every method;
non-negative stocks are clamped at zero after each step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.integrate.tableau import ButcherTableau

__all__ = ["Status", "integrate_fixed"]

Rhs = Callable[[float, float, FloatArray], FloatArray]
OnSave = Callable[[int, float, FloatArray], None]


@dataclass
class Status:
    """Per-scenario outcome: ``ok[s]``; for failures the first time and state row non-finite."""

    ok: np.ndarray
    fail_time: FloatArray
    fail_row: IntArray
    message: str = ""
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
    rhs: Rhs,
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

    Parameters
    ----------
    rhs
        Batched right-hand side; ``y`` has shape ``(n_state, n_scenarios)``.
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
    a, b, c = tableau.a, tableau.b, tableau.c
    s = tableau.stages
    y = np.array(y0, dtype=float, copy=True)
    status = Status.all_ok(y.shape[1])
    clamp = clamp_rows if clamp_rows is not None and clamp_rows.size else None
    with np.errstate(all="ignore"):
        status.check(start, y)
        on_save(0, start, y)
        k_saved = 1
        ks: list[FloatArray] = []
        for i in range(n_steps):
            t = start + i * dt
            ks.clear()
            for j in range(s):
                if j == 0:
                    yj = y
                else:
                    yj = y.copy()
                    for m, coef in enumerate(a[j]):
                        if coef != 0.0:
                            yj += (dt * coef) * ks[m]
                ks.append(rhs(t + c[j] * dt, t, yj))
            for j in range(s):
                y += (dt * b[j]) * ks[j]
            if clamp is not None:
                y[clamp] = np.maximum(y[clamp], 0.0)
            t_next = start + (i + 1) * dt
            if post_step is not None:
                post_step(t_next, y)
            status.check(t_next, y)
            if (i + 1) % save_every == 0:
                on_save(k_saved, t_next, y)
                k_saved += 1
    return status
