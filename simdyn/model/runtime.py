"""Numerical helpers called by generated model code.

Every helper takes and returns arrays laid out ``(*dims, n_scenarios)`` (or numbers) and
broadcasts like numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["History", "pulse", "ramp", "safediv", "step"]

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


class History:
    """Recorded values of one input over time, for ``DELAY(x, tau, init)``.

    The driver records the input after every accepted step; :meth:`lookup` returns the input
    ``tau`` ago, interpolated linearly between recorded times, ``init`` before the start, and
    the latest recorded value when ``tau`` is shorter than the time since the last record
    (within an integration step).
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.times = np.empty(64)
        self.values = np.empty((64, *shape))
        self.n = 0

    def record(self, t: float, value: Any) -> None:
        """Record ``value`` at time ``t`` (a later record at an earlier time replaces the tail)."""
        n = int(np.searchsorted(self.times[: self.n], t, side="left"))
        if n >= len(self.times):
            self.times = np.concatenate([self.times, np.empty_like(self.times)])
            self.values = np.concatenate([self.values, np.empty_like(self.values)])
        self.times[n] = t
        self.values[n] = np.broadcast_to(value, self.shape)
        self.n = n + 1

    def lookup(self, t: float, tau: Any, init: Any) -> Any:
        """The input at time ``t - tau`` (``init`` where that is before the first record)."""
        if self.n == 0:
            return np.broadcast_to(init, self.shape)
        times = self.times[: self.n]
        target = np.broadcast_to(t - np.asarray(tau, dtype=float), self.shape)
        upper = np.clip(np.searchsorted(times, target, side="right"), 1, max(self.n - 1, 1))
        lower = upper - 1
        t0, t1 = times[lower], times[np.minimum(upper, self.n - 1)]
        v0 = np.take_along_axis(self.values, lower[None], axis=0)[0]
        v1 = np.take_along_axis(self.values, np.minimum(upper, self.n - 1)[None], axis=0)[0]
        span = np.where(t1 > t0, t1 - t0, 1.0)
        w = np.clip((target - t0) / span, 0.0, 1.0)
        inside = v0 + w * (v1 - v0)
        return np.where(target < times[0], init, inside)
