"""The first non-finite saved value of each scenario, for any variable (not only stocks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from simdyn._types import FloatArray
from simdyn.integrate.fixed import Status

__all__ = ["SaveWatch"]


class SaveWatch:
    """Records, per scenario, the first saved time at which a saved variable is not finite.

    ``check(t, lo, hi, names, values)`` is called at every saved time with the values of one
    chunk of scenarios ``lo:hi`` (each laid out ``(*dims, hi - lo)`` or a number);
    :meth:`merge` folds what it found into a :class:`Status` (the earlier failure wins).

    Examples
    --------
    >>> w = SaveWatch(2)
    >>> w.check(0.0, 0, 2, ["x"], [np.array([1.0, 2.0])])
    >>> w.check(1.0, 0, 2, ["x"], [np.array([1.0, np.nan])])
    >>> st = Status.all_ok(2)
    >>> w.merge(st)
    >>> st.ok.tolist(), st.fail_time.tolist(), st.fail_variable.tolist()
    ([True, False], [nan, 1.0], ['', 'x'])
    """

    def __init__(self, n: int) -> None:
        self.time: FloatArray = np.full(n, np.nan)
        self.variable = np.full(n, "", dtype=object)

    def reset(self, lo: int, hi: int) -> None:
        """Forget what was found for scenarios ``lo:hi`` (before they are run again)."""
        self.time[lo:hi] = np.nan
        self.variable[lo:hi] = ""

    def check(
        self, t: float, lo: int, hi: int, names: Sequence[str], values: Sequence[Any]
    ) -> None:
        """Look at the saved ``values`` of scenarios ``lo:hi`` at time ``t``."""
        fresh = np.isnan(self.time[lo:hi])
        if not fresh.any():
            return
        for name, value in zip(names, values, strict=True):
            arr = np.asarray(value)
            if np.isfinite(arr).all():
                continue
            if arr.ndim == 0:
                bad = np.full(hi - lo, not np.isfinite(arr))
            else:
                bad = ~np.isfinite(arr.reshape(-1, arr.shape[-1])).all(axis=0)
                bad = np.broadcast_to(bad, (hi - lo,))
            new = bad & fresh
            if new.any():
                idx = lo + np.flatnonzero(new)
                self.time[idx] = t
                self.variable[idx] = name
                fresh = fresh & ~new
                if not fresh.any():
                    return

    def merge(self, status: Status) -> None:
        """Mark in ``status`` the scenarios whose saved values failed before their state did."""
        found = ~np.isnan(self.time)
        earlier = found & ~(status.fail_time < self.time)  # NaN: the state did not fail
        idx = np.flatnonzero(earlier)
        status.ok[idx] = False
        status.fail_time[idx] = self.time[idx]
        status.fail_variable[idx] = self.variable[idx]
