"""Scalar outcomes and coarse kept series, computed from one chunk's results at once.

Values between saved times are interpolated linearly (as goals are). A scenario whose run
failed (``status`` 1) gets NaN outcomes and goals not met.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from simdyn._types import FloatArray
from simdyn.scenario import Goal, goal_series
from simdyn.sweep.spec import Outcome

__all__ = ["compute_goals", "compute_outcome", "keep_times", "kept_series"]


def _series(ds: xr.Dataset, variable: str) -> tuple[FloatArray, FloatArray]:
    da = goal_series(ds, variable)
    times: FloatArray = np.asarray(da["time"].values, dtype=float)
    values: FloatArray = np.asarray(da.values, dtype=float)
    return times, values


def _at(times: FloatArray, values: FloatArray, t: float) -> FloatArray:
    """``values`` ``(time, n)`` interpolated at time ``t``."""
    i = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2))
    if len(times) == 1:
        first: FloatArray = values[0].copy()
        return first
    frac = (t - times[i]) / (times[i + 1] - times[i])
    out: FloatArray = values[i] + (values[i + 1] - values[i]) * frac
    return out


def _window(
    times: FloatArray, values: FloatArray, window: tuple[float, float] | None
) -> tuple[FloatArray, FloatArray]:
    """Times and values over ``window``, with interpolated end points."""
    if window is None:
        return times, values
    t0, t1 = window
    inside = (times > t0) & (times < t1)
    ts = np.concatenate([[t0], times[inside], [t1]])
    vs = np.concatenate(
        [_at(times, values, t0)[None], values[inside], _at(times, values, t1)[None]]
    )
    return ts, vs


def compute_outcome(ds: xr.Dataset, outcome: Outcome) -> FloatArray:
    """One outcome for every scenario of ``ds``.

    Examples
    --------
    >>> ds = xr.Dataset({"x": (("time", "scenario"), [[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])},
    ...                 coords={"time": [0.0, 1.0, 2.0], "scenario": [0, 1]})
    >>> compute_outcome(ds, Outcome("x_mean", "x", stat="mean")).tolist()
    [2.0, 1.0]
    >>> compute_outcome(ds, Outcome("t3", "x", stat="time_to", level=3.0)).tolist()
    [1.5, nan]
    """
    times, values = _series(ds, outcome.variable)
    stat = outcome.stat
    if stat == "at":
        assert outcome.time is not None
        return _at(times, values, outcome.time)
    if stat == "final":
        final: FloatArray = values[-1].copy()
        return final
    ts, vs = _window(times, values, outcome.window)
    if stat == "mean":
        widths = np.diff(ts)[:, None]
        return np.asarray(((vs[1:] + vs[:-1]) * 0.5 * widths).sum(axis=0) / (ts[-1] - ts[0]))
    if stat == "min":
        return np.asarray(vs.min(axis=0))
    if stat == "max":
        return np.asarray(vs.max(axis=0))
    assert outcome.level is not None
    return _time_to(ts, vs, outcome.level, outcome.direction == "above")


def _time_to(ts: FloatArray, vs: FloatArray, level: float, above: bool) -> FloatArray:
    """First time the series reaches ``level`` (linear between saved times); NaN if never."""
    reached = vs >= level if above else vs <= level
    first = np.argmax(reached, axis=0)
    ever = reached.any(axis=0)
    out = np.full(vs.shape[1], np.nan)
    cols = np.flatnonzero(ever)
    k = first[cols]
    at_start = k == 0
    out[cols[at_start]] = ts[0]
    c, k = cols[~at_start], k[~at_start]
    v0, v1 = vs[k - 1, c], vs[k, c]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(v1 != v0, (level - v0) / (v1 - v0), 1.0)
    out[c] = ts[k - 1] + np.clip(frac, 0.0, 1.0) * (ts[k] - ts[k - 1])
    return out


def compute_goals(
    ds: xr.Dataset, goals: Mapping[str, Goal]
) -> dict[str, tuple[np.ndarray, FloatArray]]:
    """``{goal: (met, margin)}`` for every scenario, as :meth:`Goal.check` would say."""
    out: dict[str, tuple[np.ndarray, FloatArray]] = {}
    for name, goal in goals.items():
        times, values = _series(ds, goal.variable)
        actual = _at(times, values, goal.time)
        if goal.relative_to == "start":
            with np.errstate(divide="ignore", invalid="ignore"):
                actual = np.where(values[0] != 0, actual / values[0], np.nan)
        if goal.comparison in (">=", ">"):
            margin = actual - goal.value
        else:
            margin = goal.value - actual
        met = margin > 0 if goal.comparison in (">", "<") else margin >= 0
        out[name] = ((met & np.isfinite(actual)).astype(np.int8), margin)
    return out


def keep_times(start: float, stop: float, every: float) -> FloatArray:
    """The coarse times of kept series: ``start, start + every, …`` up to ``stop``."""
    n = int(np.floor((stop - start) / every + 1e-9)) + 1
    return start + every * np.arange(n, dtype=np.float64)


def kept_series(ds: xr.Dataset, variable: str, times: FloatArray) -> FloatArray:
    """``variable`` at the kept ``times``, laid out ``(scenario, time)``."""
    t, v = _series(ds, variable)
    return np.stack([_at(t, v, float(x)) for x in times], axis=1)
