"""Adaptive and stiff integration through :func:`scipy.integrate.solve_ivp`.

The whole batch is one system whose state is ordered scenario by scenario, so each scenario's
Jacobian is one dense diagonal block: implicit methods get that sparsity pattern (BDF, Radau)
or band widths (LSODA). The step size follows the error of the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from simdyn._types import FloatArray, IntArray
from simdyn.integrate.fixed import Rhs, Status

__all__ = ["SCIPY_METHODS", "integrate_scipy"]

SCIPY_METHODS = ("RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau")


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
) -> Status:
    """Integrate ``rhs`` with scipy's ``method``, calling ``on_save`` at every ``t_eval``.

    ``rhs(t, ts, y)`` is called with ``ts = t`` (inputs switch at the exact time). Saved states
    of ``clamp_rows`` (non-negative stocks) are cut at zero, removing the solver's round-off.
    """
    n_state, n = y0.shape

    def fun(t: float, z: FloatArray) -> FloatArray:
        y = z.reshape(n, n_state).T
        return np.ascontiguousarray(rhs(t, t, np.ascontiguousarray(y)).T).ravel()

    options: dict[str, object] = {}
    if method in ("BDF", "Radau"):
        options["jac_sparsity"] = sp.block_diag([np.ones((n_state, n_state))] * n, format="csr")
    elif method == "LSODA":
        options["lband"] = options["uband"] = n_state - 1
    status = Status.all_ok(n)
    with np.errstate(all="ignore"):
        sol = solve_ivp(  # type: ignore[call-overload]
            fun,
            (float(t_eval[0]), float(t_eval[-1])),
            np.ascontiguousarray(y0.T).ravel(),
            method=method,
            t_eval=t_eval,
            rtol=rtol,
            atol=atol,
            max_step=max_step,
            **options,
        )
        saved = sol.y.shape[1] if sol.y.size else 0
        for k in range(len(t_eval)):
            if k < saved:
                y = np.ascontiguousarray(sol.y[:, k].reshape(n, n_state).T)
            else:
                y = np.full((n_state, n), np.nan)
            if clamp_rows is not None and clamp_rows.size:
                y[clamp_rows] = np.maximum(y[clamp_rows], 0.0)
            status.check(float(t_eval[k]), y)
            on_save(k, float(t_eval[k]), y)
    if not sol.success:
        status.message = str(sol.message)
    return status
