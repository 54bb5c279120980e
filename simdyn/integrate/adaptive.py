"""Adaptive and stiff integration with scipy's solvers (``RK45`` … ``Radau``).

The whole batch is one system whose state is ordered scenario by scenario, so each scenario's
Jacobian is one dense diagonal block: implicit methods get that sparsity pattern (BDF, Radau)
or band widths (LSODA). The step size follows the error of the whole batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.integrate.fixed import Rhs, Status

if TYPE_CHECKING:
    from scipy.integrate import OdeSolver

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
    pending: list[_NonFinite] = []  # LSODA: the first non-finite derivative, seen after a step
    fun = _flat_rhs(rhs, method, (n, n_state), pending)
    status = Status.all_ok(n)
    save_until = _saver(t_eval, (n, n_state), clamp_rows, status, on_save)
    with np.errstate(all="ignore"):
        z0 = np.ascontiguousarray(y0.T).ravel()
        save_until(float(t_eval[0]), lambda _t: z0)
        if n_state == 0:
            _visit(t_eval, max_step, y0, save_until, after_step)
            return status
        if status.ok.all():  # a non-finite initial state has failed at t0 already
            options = _options(method, n, n_state)
            _step_solver(
                lambda: _solver(method)(
                    fun,
                    float(t_eval[0]),
                    z0,
                    float(t_eval[-1]),
                    rtol=rtol,
                    atol=atol,
                    max_step=max_step,
                    **options,
                ),
                status,
                save_until,
                after_step,
                (n, n_state),
                pending,
            )
        missing = np.full((n_state * n,), np.nan)
        save_until(np.inf, lambda _t: missing)
    return status


SaveUntil = Callable[[float, Callable[[float], FloatArray]], None]


def _flat_rhs(
    rhs: Rhs, method: str, shape: tuple[int, int], pending: list[_NonFinite]
) -> Callable[[float, FloatArray], FloatArray]:
    """``rhs`` on scipy's flat state (scenario by scenario); a non-finite derivative stops the
    run (LSODA, called from Fortran, cannot be stopped: it is noted in ``pending``)."""
    n, n_state = shape

    def fun(t: float, z: FloatArray) -> FloatArray:
        y = z.reshape(n, n_state).T
        dz = np.ascontiguousarray(rhs(t, t, np.ascontiguousarray(y)).T).ravel()
        if not np.isfinite(dz).all():
            if method == "LSODA":  # Fortran calls this: an exception would not stop it
                pending.append(_NonFinite(t, dz.copy()))
                return np.zeros_like(dz)
            raise _NonFinite(t, dz)  # stop at once: scipy may shrink the step forever
        return dz

    return fun


def _options(method: str, n: int, n_state: int) -> dict[str, Any]:
    """The Jacobian's structure for the implicit methods: one dense block per scenario."""
    options: dict[str, Any] = {}
    if method in ("BDF", "Radau"):
        import scipy.sparse as sp

        options["jac_sparsity"] = sp.block_diag([np.ones((n_state, n_state))] * n, format="csr")
    elif method == "LSODA":
        options["lband"] = options["uband"] = n_state - 1
    return options


def _saver(
    t_eval: FloatArray,
    shape: tuple[int, int],
    clamp_rows: IntArray | None,
    status: Status,
    on_save: Callable[[int, float, FloatArray], None],
) -> SaveUntil:
    """``save_until(t, state_at)``: save every time of ``t_eval`` up to ``t`` not yet saved,
    the state there given by ``state_at`` (flat), non-negative rows cut at zero."""
    n, n_state = shape
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

    return save_until


def _visit(
    t_eval: FloatArray,
    max_step: float,
    y0: FloatArray,
    save_until: SaveUntil,
    after_step: Callable[[float, FloatArray], None] | None,
) -> None:
    """Nothing to integrate (a model of auxiliaries only): visit the saved times, and times
    ``max_step`` apart, so that step hooks still run."""
    z0 = np.ascontiguousarray(y0.T).ravel()
    visits = t_eval
    if np.isfinite(max_step):
        visits = np.union1d(t_eval, np.arange(t_eval[0], t_eval[-1], max_step))
    for t in visits[1:]:
        if after_step is not None:
            after_step(float(t), y0)
        save_until(float(t), lambda _t: z0)


_STALL_STEPS = 100
"""Consecutive steps shorter than 1e-12 of the span after which a scipy run is stopped."""


class _NonFinite(Exception):
    """Raised by the right-hand side handed to scipy when a derivative is not finite."""

    def __init__(self, t: float, dz: FloatArray) -> None:
        super().__init__(t)
        self.t = t
        self.dz = dz


def _step_solver(
    make: Callable[[], OdeSolver[Any]],
    status: Status,
    save_until: SaveUntil,
    after_step: Callable[[float, FloatArray], None] | None,
    shape: tuple[int, int],
    pending: list[_NonFinite],
) -> None:
    """Step a scipy solver to its end, saving on the way; stop at the first non-finite
    derivative and mark the scenarios (and state rows) it came from as failed there."""
    n, n_state = shape
    now = math.nan
    try:
        solver = make()
        if pending:
            raise pending[0]
        tiny = 1e-12 * abs(solver.t_bound - solver.t)
        stalled = 0
        while solver.status == "running":
            now = solver.t
            message = solver.step()
            if pending:
                raise pending[0]
            if str(solver.status) == "failed":  # narrowed to "running" by the loop test
                status.message = str(message)
                break
            stalled = stalled + 1 if solver.t - now <= tiny else 0
            if stalled >= _STALL_STEPS:  # the step size collapsed: a blow-up or a singularity
                raise ValueError(f"the step size fell below {tiny:g} at t = {solver.t:g}")
            if after_step is not None:
                after_step(solver.t, np.ascontiguousarray(solver.y.reshape(n, n_state).T))
            save_until(solver.t, solver.dense_output())
    except _NonFinite as exc:
        status.message = f"a derivative became non-finite at t = {exc.t:g}"
        bad = ~np.isfinite(exc.dz.reshape(n, n_state))
        cols = np.flatnonzero(bad.any(axis=1) & status.ok)
        status.ok[cols] = False
        status.fail_time[cols] = exc.t
        status.fail_row[cols] = np.argmax(bad[cols], axis=1)
    except (
        ValueError,
        RuntimeError,
        ArithmeticError,
    ) as exc:  # scipy: bad input, singular Jacobian
        status.message = f"the solver stopped: {exc}"
        cols = np.flatnonzero(status.ok)
        status.ok[cols] = False
        status.fail_time[cols] = now
        status.fail_row[cols] = 0
