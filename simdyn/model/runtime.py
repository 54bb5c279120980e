"""Numerical helpers called by generated model code.

Every helper takes and returns arrays laid out ``(*dims, n_scenarios)`` (or numbers) and
broadcasts like numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["pulse", "ramp", "safediv", "step"]

_EPS = 1e-9


def step(ts: float, height: Any, t0: Any, dt: float) -> Any:
    """``height`` from ``t0`` on, 0 before (``ts`` is the start time of the current step)."""
    return np.where(ts + _EPS * dt >= t0, height, 0.0)


def pulse(ts: float, dt: float, magnitude: Any, first: Any, interval: Any = 0.0) -> Any:
    """XMILE ``PULSE``: ``magnitude / dt`` during one step at ``first`` (then every ``interval``)."""
    rel = ts - np.asarray(first, dtype=float)
    interval = np.asarray(interval, dtype=float)
    repeating = interval > 0
    phase = np.where(repeating, np.mod(rel, np.where(repeating, interval, 1.0)), rel)
    active = (rel >= -_EPS * dt) & (phase < dt * (1 - _EPS)) & (phase > -_EPS * dt)
    # phase close to a whole interval (rounding) counts as the start of a new pulse
    near_next = repeating & (np.abs(phase - interval) < _EPS * dt) & (rel >= 0)
    return np.where(active | near_next, np.asarray(magnitude, dtype=float) / dt, 0.0)


def ramp(t: float, slope: Any, t0: Any, t1: Any = np.inf) -> Any:
    """``slope * (min(t, t1) - t0)`` after ``t0``, 0 before."""
    return np.where(t > t0, slope * (np.minimum(t, t1) - t0), 0.0)


def safediv(a: Any, b: Any, z: Any = 0.0) -> Any:
    """``a / b`` where ``b != 0``, ``z`` elsewhere (XIDZ; ZIDZ with ``z = 0``)."""
    nz = b != 0
    return np.where(nz, a / np.where(nz, b, 1.0), z)
