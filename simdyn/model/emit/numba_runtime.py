"""Scalar helpers called by compiled kernels: :mod:`simdyn.model.runtime` for one number.

Each follows its numpy counterpart operation for operation, so both backends give the same
numbers.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["pulse", "ramp", "safediv", "step"]

_EPS = 1e-9


@nb.njit(cache=True, error_model="numpy")
def step(ts: float, height: float, t0: float, dt: float) -> float:
    """``height`` from ``t0`` on (``ts`` is the start of the current step)."""
    return height if ts + _EPS * dt >= t0 else 0.0


@nb.njit(cache=True, error_model="numpy")
def pulse(ts: float, dt: float, magnitude: float, first: float, interval: float) -> float:
    """XMILE ``PULSE``: ``magnitude / dt`` during one step at ``first`` (then every ``interval``)."""
    rel = ts - first
    repeating = interval > 0
    phase = np.mod(rel, interval) if repeating else rel
    active = (rel >= -_EPS * dt) and (phase < dt * (1 - _EPS)) and (phase > -_EPS * dt)
    near_next = repeating and (np.abs(phase - interval) < _EPS * dt) and (rel >= 0)
    return magnitude / dt if (active or near_next) else 0.0


@nb.njit(cache=True, error_model="numpy")
def ramp(t: float, slope: float, t0: float, t1: float) -> float:
    """``slope * (min(t, t1) - t0)`` after ``t0``, 0 before."""
    return slope * (np.minimum(t, t1) - t0) if t > t0 else 0.0


@nb.njit(cache=True, error_model="numpy")
def safediv(a: float, b: float, z: float) -> float:
    """``a / b`` where ``b != 0``, ``z`` elsewhere."""
    return a / b if b != 0 else z
