"""Adaptive and stiff integration with scipy's solvers (``RK45`` … ``Radau``).

The whole batch is one system whose state is ordered scenario by scenario, so each scenario's
Jacobian is one dense diagonal block: implicit methods get that sparsity pattern (BDF, Radau)
or band widths (LSODA). The step size follows the error of the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.integrate.fixed import Rhs, Status

__all__ = ["SCIPY_METHODS", "integrate_scipy"]

#: scipy's solver classes by name (scipy is imported when one is used)
SCIPY_METHODS = ("RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau")


def _solver(method: str) -> Callable[..., Any]:
    """scipy's solver class ``method`` (imported on first use)."""
    import scipy.integrate

    solver: Callable[..., Any] = getattr(scipy.integrate, method)
    return solver


def integrate_scipy(
    rhs: Rhs,
    y0: FloatArray,
    *,
    t_eval: FloatArray,
    method: str,
    on_save: Callable[[int, float, FloatArray], None],
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_step: float = np.inf,
    clamp_rows: IntArray | None = None,
    after_step: Callable[[float, FloatArray], None] | None = None,
) -> Status:
    """Integrate ``rhs`` with scipy's ``method``, calling ``on_save`` at every ``t_eval``.

    The solver is stepped here (as :func:`scipy.integrate.solve_ivp` does) so that a run stops
    at the first step whose derivatives are not finite, keeping what was saved before; later
    saved times are NaN. ``rhs(t, ts, y)`` is called with ``ts = t`` (inputs switch at the
    exact time). Saved states
    of ``clamp_rows`` (non-negative stocks) are cut at zero, removing the solver's round-off.
    ``after_step(t, y)`` is called after each accepted step (for example to record the inputs of
    fixed delays).
    """
    n_state, n = y0.shape
    nonfinite_at: list[float] = []

    def fun(t: float, z: FloatArray) -> FloatArray:
        y = z.reshape(n, n_state).T
        dz = np.ascontiguousarray(rhs(t, t, np.ascontiguousarray(y)).T).ravel()
        if not nonfinite_at and not np.isfinite(dz).all():
            nonfinite_at.append(t)
        return dz

    options: dict[str, Any] = {}
    if method in ("BDF", "Radau"):
        import scipy.sparse as sp

        options["jac_sparsity"] = sp.block_diag([np.ones((n_state, n_state))] * n, format="csr")
    elif method == "LSODA":
        options["lband"] = options["uband"] = n_state - 1
    status = Status.all_ok(n)
    k = 0  # next saved time

    def save_until(t: float, state_at: Callable[[float], FloatArray]) -> None:
        nonlocal k
        while k < len(t_eval) and t_eval[k] <= t:
            y = np.ascontiguousarray(state_at(float(t_eval[k])).reshape(n, n_state).T)
            if clamp_rows is not None and clamp_rows.size:
                y[clamp_rows] = np.maximum(y[clamp_rows], 0.0)
            status.check(float(t_eval[k]), y)
            on_save(k, float(t_eval[k]), y)
            k += 1

    with np.errstate(all="ignore"):
        z0 = np.ascontiguousarray(y0.T).ravel()
        save_until(float(t_eval[0]), lambda _t: z0)
        if n_state == 0:
            # nothing to integrate (a model of auxiliaries only): visit the saved times, and
            # times max_step apart, so that step hooks still run
            visits = t_eval
            if np.isfinite(max_step):
                visits = np.union1d(t_eval, np.arange(t_eval[0], t_eval[-1], max_step))
            for t in visits[1:]:
                if after_step is not None:
                    after_step(float(t), y0)
                save_until(float(t), lambda _t: z0)
            return status
        solver = _solver(method)(
            fun,
            float(t_eval[0]),
            z0,
            float(t_eval[-1]),
            rtol=rtol,
            atol=atol,
            max_step=max_step,
            **options,
        )
        while solver.status == "running":
            message = solver.step()
            if str(solver.status) == "failed":  # narrowed to "running" by the loop test
                status.message = str(message)
                break
            if nonfinite_at:
                status.message = f"a derivative became non-finite at t = {nonfinite_at[0]:g}"
                break
            if after_step is not None:
                after_step(solver.t, np.ascontiguousarray(solver.y.reshape(n, n_state).T))
            save_until(solver.t, solver.dense_output())
        missing = np.full((n_state * n,), np.nan)
        save_until(np.inf, lambda _t: missing)
    return status
