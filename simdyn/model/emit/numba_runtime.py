"""Scalar helpers called by compiled kernels: :mod:`simdyn.model.runtime` for one number.

Each follows its numpy counterpart operation for operation, so both backends give the same
numbers.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["history", "interp", "pulse", "ramp", "safediv", "step"]

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


@nb.njit(cache=True, error_model="numpy")
def interp(x: float, xp: np.ndarray, fp: np.ndarray) -> float:
    """``np.interp`` for one number, step for step as numpy computes it (no allocation)."""
    last = xp.size - 1
    if x != x:
        return x
    if x == xp[last]:
        return float(fp[last])
    if x < xp[0]:
        return float(fp[0])
    if x > xp[last]:
        return float(fp[last])
    j = 0
    while j < last and xp[j + 1] <= x:
        j += 1
    if j == last or xp[j] == x:
        return float(fp[j])
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    res = slope * (x - xp[j]) + fp[j]
    if res != res:
        res = slope * (x - xp[j + 1]) + fp[j + 1]
        if res != res and fp[j] == fp[j + 1]:
            res = fp[j]
    return float(res)


@nb.njit(cache=True, error_model="numpy")
def history(
    H: np.ndarray, T: np.ndarray, n: int, col: int, t: float, tau: float, init: float
) -> float:
    """:meth:`simdyn.model.runtime.History.lookup` for one number: column ``col`` of the first
    ``n`` recorded steps (at times ``T``; step ``k`` in row ``k % len(H)`` of ``H``) at
    ``t - tau``, ``init`` before ``T[0]``."""
    if n == 0:
        return init
    target = t - tau
    lo, hi = 0, n  # np.searchsorted(T[:n], target, side="right")
    while lo < hi:
        mid = (lo + hi) // 2
        if T[mid] <= target:
            lo = mid + 1
        else:
            hi = mid
    if target != target:
        lo = n  # numpy sorts NaN last
    upper = min(max(lo, 1), max(n - 1, 1))
    lower = upper - 1
    top = min(upper, n - 1)
    t0, t1 = T[lower], T[top]
    rows = H.shape[0]  # a ring of the latest recorded steps (``numba_history``), or all of them
    v0, v1 = H[lower % rows, col], H[top % rows, col]
    span = t1 - t0 if t1 > t0 else 1.0
    w = (target - t0) / span
    w = np.minimum(np.maximum(w, 0.0), 1.0)
    inside = v0 + w * (v1 - v0)
    return init if target < T[0] else inside
