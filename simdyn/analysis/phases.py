"""Dominance phases and batch outcomes from a :func:`~simdyn.analysis.loop_dominance` result.

Plain functions on the dominance Dataset, usable as outcomes of a sweep: which loop dominates
at a time across scenarios, the share of scenarios in which each loop dominates, and when the
dominant loop changes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simdyn.errors import SimdynError

__all__ = [
    "dominance_phases",
    "dominance_share",
    "dominance_shift_time",
    "dominant_at",
    "loop_pair_share",
    "stock_relative_scores",
]


def _dominant(dom: xr.Dataset, stock: str | None) -> xr.DataArray:
    if stock is None:
        return dom["dominant_loop"]
    if stock not in dom["stock"].values:
        raise SimdynError(
            f"{stock!r} is not a stock of the analysed model",
            where="stock",
            hint=f"stocks: {', '.join(map(str, dom['stock'].values))}",
        )
    return dom["dominant_loop_by_stock"].sel(stock=stock, drop=True)


def dominance_phases(
    dom: xr.Dataset, scenario: int = 0, *, stock: str | None = None
) -> list[tuple[float, float, str]]:
    """Periods ``(from, to, loop)`` during which one loop dominates, for one scenario.

    ``to`` is the last saved time of the period; the first saved time (no scores) is skipped.
    """
    d = _dominant(dom, stock).isel(scenario=scenario).values[1:]
    times = dom["time"].values[1:]
    phases: list[tuple[float, float, str]] = []
    for t, name in zip(times.tolist(), d.tolist(), strict=True):
        if phases and phases[-1][2] == name:
            phases[-1] = (phases[-1][0], t, name)
        else:
            phases.append((t, t, name))
    return phases


def dominant_at(dom: xr.Dataset, time: float, *, stock: str | None = None) -> xr.DataArray:
    """The dominant loop of every scenario at the saved time nearest ``time``."""
    return _dominant(dom, stock).sel(time=time, method="nearest")


def dominance_share(
    dom: xr.Dataset, time: float | None = None, *, stock: str | None = None
) -> xr.DataArray:
    """Share of scenarios in which each loop dominates: ``(loop, time)``, or ``(loop,)`` at ``time``."""
    d = _dominant(dom, stock)
    if time is not None:
        d = d.sel(time=time, method="nearest")
    loops = dom["loop"].values
    shares = xr.concat([(d == lp).mean("scenario") for lp in loops], dim="loop")
    out: xr.DataArray = shares.assign_coords(loop=loops, polarity=("loop", dom["polarity"].values))
    return out


def dominance_shift_time(
    dom: xr.Dataset,
    *,
    from_loop: str | None = None,
    to_loop: str | None = None,
    stock: str | None = None,
) -> xr.DataArray:
    """Per scenario, the first saved time at which dominance passes from one loop to another.

    With no loops given, the first change of the dominant loop; with ``from_loop`` and/or
    ``to_loop``, the first change away from / to those loops. NaN where none happens.
    """
    d = _dominant(dom, stock).values[1:]  # (time, scenario)
    times = dom["time"].values[1:]
    before, after = d[:-1], d[1:]
    hit = (before != after) & (before != "") & (after != "")
    if from_loop is not None:
        hit &= before == from_loop
    if to_loop is not None:
        hit &= after == to_loop
    first = np.where(hit.any(axis=0), hit.argmax(axis=0) + 1, -1)
    out = np.where(first >= 0, times[np.maximum(first, 0)], np.nan)
    return xr.DataArray(out, dims=("scenario",), coords={"scenario": dom["scenario"].values})


def stock_relative_scores(dom: xr.Dataset, stock: str) -> xr.DataArray:
    """Relative scores of the loops through ``stock``, normalised among those loops.

    ``(time, loop, scenario)``; the absolute values sum to 1 at every time at which any loop
    through the stock is active, and loops not through the stock are 0.
    """
    _dominant(dom, stock)
    through = xr.DataArray([stock in p.split(" → ") for p in dom["path"].values], dims=("loop",))
    ls = dom["loop_score"].where(through, 0.0)
    total = abs(ls).sum("loop")
    rel: xr.DataArray = (ls / total.where(total > 0)).fillna(0.0).where(dom["loop_score"].notnull())
    return rel


def loop_pair_share(
    dom: xr.Dataset, loop: str, other: str, *, start: float | None = None, stop: float | None = None
) -> xr.Dataset:
    """How two loops compare, per scenario, over the saved times from ``start`` to ``stop``.

    Two loops that close the same gap share links (for ``learning_org``'s work-harder and
    work-smarter loops: from the backlog to the stretch and from capacity back to the backlog),
    and their scores' ratio at a time is the ratio of the links they do not share. Counted over
    the *active* times (either score non-zero):

    * ``share`` — the median of ``|loop| / (|loop| + |other|)``;
    * ``mean_share`` — its mean (sensitive to the times at which both are tiny);
    * ``larger`` — the fraction of active times at which ``loop``'s score is the larger;
    * ``active`` — the number of active times.
    """
    names = [str(x) for x in dom["loop"].values]
    for name in (loop, other):
        if name not in names:
            raise SimdynError(f"{name!r} is not a loop of the analysis", where="loop")
    ls = abs(dom["loop_score"]).sel(time=slice(start, stop))
    a, b = ls.sel(loop=loop, drop=True), ls.sel(loop=other, drop=True)
    active = (a + b) > 0
    share = (a / (a + b)).where(active)
    n = active.sum("time")
    return xr.Dataset(
        {
            "share": share.median("time"),
            "mean_share": share.mean("time"),
            "larger": ((a > b) & active).sum("time") / n.where(n > 0),
            "active": n,
        }
    )
