"""Integrators for batched right-hand sides (fixed-step Runge–Kutta and scipy's solvers)."""

from simdyn.integrate.adaptive import SCIPY_METHODS, integrate_scipy
from simdyn.integrate.fixed import Status, integrate_fixed
from simdyn.integrate.tableau import EULER, FIXED_METHODS, RK2, RK4, ButcherTableau

__all__ = [
    "EULER",
    "FIXED_METHODS",
    "RK2",
    "RK4",
    "SCIPY_METHODS",
    "ButcherTableau",
    "Status",
    "integrate_fixed",
    "integrate_scipy",
]
