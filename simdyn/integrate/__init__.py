"""Integrators for batched right-hand sides (fixed-step and per-scenario adaptive Runge–Kutta, scipy's solvers)."""

from simdyn.integrate.adaptive import SCIPY_METHODS, integrate_scipy
from simdyn.integrate.embedded import integrate_embedded
from simdyn.integrate.fixed import Status, integrate_fixed
from simdyn.integrate.tableau import (
    BS23,
    DOPRI5,
    EMBEDDED_PAIRS,
    EULER,
    FIXED_METHODS,
    RK2,
    RK4,
    ButcherTableau,
    EmbeddedPair,
)

__all__ = [
    "BS23",
    "DOPRI5",
    "EMBEDDED_PAIRS",
    "EULER",
    "FIXED_METHODS",
    "RK2",
    "RK4",
    "SCIPY_METHODS",
    "ButcherTableau",
    "EmbeddedPair",
    "Status",
    "integrate_embedded",
    "integrate_fixed",
    "integrate_scipy",
]
