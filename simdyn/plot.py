"""Plots of simulation results: from a Dataset (and a goals table), or an org graph with values.

Figures are built with :class:`matplotlib.figure.Figure` directly, so nothing here chooses a
backend or touches pyplot's global state; save them with ``fig.savefig(...)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["plot_comparison", "plot_network", "plot_timeseries", "run_labels"]

_MET = "#1a9850"
_NOT_MET = "#d73027"


def _plain(*texts: Text) -> None:
    """Show user text (names, units, labels) as it is: never as matplotlib mathtext."""
    for text in texts:
        text.set_parse_math(False)


def run_labels(dataset: xr.Dataset) -> list[str]:
    """One label per entry of ``scenario``: the ``variant`` coordinate if there is one."""
    if "variant" in dataset.coords:
        return [str(v) for v in dataset["variant"].values]
    n = dataset.sizes.get("scenario", 1)
    return [f"scenario {k}" for k in range(n)]


def _series(dataset: xr.Dataset, name: str) -> list[tuple[str, xr.DataArray]]:
    """``(suffix, (time, scenario) array)`` pairs: node means, one pair per other element."""
    da = dataset[name]
    if "node" in da.dims:
        da = da.mean("node")
    extra = [d for d in da.dims if d not in ("time", "scenario")]
    if "scenario" not in da.dims:
        da = da.expand_dims("scenario", axis=-1)
    if not extra:
        return [("", da.transpose("time", "scenario"))]
    stacked = da.stack(_element=extra)
    out = []
    for k in range(stacked.sizes["_element"]):
        element = stacked["_element"].values[k]
        key = ",".join(str(e) for e in (element if isinstance(element, tuple) else (element,)))
        out.append((f"[{key}]", stacked.isel(_element=k).transpose("time", "scenario")))
    return out


def plot_timeseries(
    dataset: xr.Dataset,
    variables: Sequence[str],
    *,
    goals: pd.DataFrame | None = None,
    ncols: int = 2,
    title: str | None = None,
    panel: tuple[float, float] = (5.2, 3.2),
) -> Figure:
    """Plot variables over time, one panel each, one line per run, with goal markers.

    Parameters
    ----------
    dataset
        Results with dimensions ``time`` and ``scenario`` (see docs/api-contract.md).
    variables
        Names of data variables to plot; a per-person variable is averaged over ``node``.
    goals
        A goals table (:func:`simdyn.scenario.evaluate_goals`): each goal on a plotted
        variable is marked at its time and target, filled if met and hollow if not, pointing
        up for "at least" and down for "at most".
    ncols
        Panels per row.
    title
        A title above the panels.
    panel
        Width and height of one panel, in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"x": (("time", "scenario"), [[0.0, 1.0], [1.0, 2.0]])},
    ...     coords={"time": [0.0, 1.0], "scenario": [0, 1]},
    ... )
    >>> fig = plot_timeseries(ds, ["x"])
    >>> len(fig.axes[0].get_lines())
    2
    """
    variables = list(variables)
    ncols = max(1, min(ncols, len(variables)))
    nrows = max(1, math.ceil(len(variables) / ncols))
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    _space(fig, nrows, panel[1])
    labels = run_labels(dataset)
    colors = [f"C{k % 10}" for k in range(len(labels))]
    time_units = str(dataset.attrs.get("time_units", "time"))
    for ax, name in zip(axes, variables, strict=False):
        for j, (suffix, da) in enumerate(_series(dataset, name)):
            for k, label in enumerate(labels):
                ax.plot(
                    da["time"].values,
                    da.values[:, k],
                    color=colors[k],
                    linestyle="-" if not suffix else ["-", "--", ":", "-."][j % 4],
                    label=f"{label}{suffix}" if len(labels) > 1 or suffix else label,
                )
        units = str(dataset[name].attrs.get("units", ""))
        _plain(ax.set_title(name if not units else f"{name} [{units}]", fontsize=10))
        _plain(ax.set_xlabel(time_units))
        ax.grid(alpha=0.3)
        _readable_flat_axis(ax)
        if goals is not None and len(goals):
            _mark_goals(ax, goals, name, labels, colors)
        if len(labels) > 1 or any(s for s, _ in _series(dataset, name)):
            _plain(*ax.legend(fontsize=7, loc="best").get_texts())
    for ax in axes[len(variables) :]:
        ax.set_visible(False)
    if title:
        _plain(fig.suptitle(title))
    return fig


def _mark_goals(
    ax: Axes, goals: pd.DataFrame, name: str, labels: list[str], colors: list[str]
) -> None:
    rows = goals[goals["variable"] == name]
    for row in rows.to_dict("records"):
        if "start" in str(row["comparison"]):
            continue  # a relative goal has no level on this axis
        k = labels.index(str(row["scenario"])) if str(row["scenario"]) in labels else 0
        up = str(row["comparison"]).startswith(">")
        met = bool(row["met"])
        ax.plot(
            [float(row["time"])],
            [float(row["target"])],
            marker="^" if up else "v",
            markersize=9,
            linestyle="none",
            markeredgecolor=_MET if met else _NOT_MET,
            markerfacecolor=colors[k] if met else "none",
            markeredgewidth=1.8,
        )
        ax.axvline(float(row["time"]), color="0.7", linewidth=0.6, linestyle=":")


def _readable_flat_axis(ax: Axes) -> None:
    """Plain tick labels; a (nearly) constant series gets a ±5 % band instead of an offset axis."""
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    lo, hi = ax.get_ylim()
    mid = 0.5 * (lo + hi)
    if hi - lo < 1e-6 * max(abs(mid), 1e-12):
        pad = 0.05 * abs(mid) if mid else 1.0
        ax.set_ylim(mid - pad, mid + pad)


def _space(fig: Figure, nrows: int, panel_height: float) -> None:
    """Fixed margins (constrained layout costs more than the drawing itself)."""
    height = nrows * panel_height
    fig.subplots_adjust(
        left=0.07, right=0.98, bottom=0.45 / height + 0.02, top=1 - 0.35 / height,
        wspace=0.25, hspace=0.5 * 3.2 / panel_height,
    )  # fmt: skip


def plot_comparison(
    dataset: xr.Dataset, variables: Sequence[str], *, times: Sequence[float] | None = None
) -> Figure:
    """Compare runs side by side: bars of each variable at a few times.

    Parameters
    ----------
    dataset
        Results with ``time`` and ``scenario``.
    variables
        Variables to compare (element-less or node-averaged; other elements are summed).
    times
        Times to compare at (default: the last saved time); values between saved times are
        interpolated.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"x": (("time", "scenario"), [[0.0, 1.0], [1.0, 2.0]])},
    ...     coords={"time": [0.0, 1.0], "scenario": [0, 1]},
    ... )
    >>> len(plot_comparison(ds, ["x"]).axes[0].patches)
    2
    """
    variables = list(variables)
    t_all = np.asarray(dataset["time"].values, dtype=float)
    times = [float(t_all[-1])] if times is None else [float(t) for t in times]
    labels = run_labels(dataset)
    ncols = max(1, min(3, len(variables)))
    nrows = max(1, math.ceil(len(variables) / ncols))
    fig = Figure(figsize=(4.4 * ncols, 3.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    _space(fig, nrows, 3.2)
    width = 0.8 / max(len(labels), 1)
    x = np.arange(len(times))
    for ax, name in zip(axes, variables, strict=False):
        da = dataset[name]
        if "node" in da.dims:
            da = da.mean("node")
        extra = [d for d in da.dims if d not in ("time", "scenario")]
        if extra:
            da = da.sum(extra)
        if "scenario" not in da.dims:
            da = da.expand_dims("scenario", axis=-1)
        values = np.asarray(da.transpose("time", "scenario").values, dtype=float)
        for k, label in enumerate(labels):
            heights = np.interp(times, t_all, values[:, k])
            ax.bar(
                x + (k - (len(labels) - 1) / 2) * width,
                heights,
                width,
                label=label,
                color=f"C{k % 10}",
            )
        ax.set_xticks(x, [f"t = {t:g}" for t in times])
        _plain(ax.set_title(name, fontsize=10))
        ax.grid(axis="y", alpha=0.3)
    _plain(*axes[0].legend(fontsize=7).get_texts())
    for ax in axes[len(variables) :]:
        ax.set_visible(False)
    return fig


def plot_network(
    graph: nx.Graph[Any],
    values: Mapping[str, np.ndarray[Any, Any]],
    *,
    variable: str,
    seed: int = 0,
    panel: tuple[float, float] = (4.6, 4.4),
) -> Figure:
    """Draw the org graph once per run, nodes coloured by a node-level value.

    Parameters
    ----------
    graph
        The org graph; ``values[run][i]`` belongs to node ``list(graph)[i]``.
    values
        Per run label, one value per node (for example skill at the last saved time).
    variable
        Name shown on the colour bar.
    seed
        Seed of the spring layout, so the same graph is drawn the same way every time.

    Returns
    -------
    Figure
        One panel per run; edge colour by ``kind`` (team, hierarchy, cross, community).
    """
    import networkx as nx

    pos = nx.spring_layout(graph, seed=seed, weight="strength")
    nodes = list(graph)
    xy = np.array([pos[v] for v in nodes])
    index = {v: i for i, v in enumerate(nodes)}
    edge_colours = {
        "team": "#9e9e9e",
        "hierarchy": "#4575b4",
        "cross": "#f46d43",
        "community": "#66bd63",
    }
    all_values = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values.values()])
    finite = all_values[np.isfinite(all_values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    n = max(1, len(values))
    fig = Figure(figsize=(panel[0] * n + 0.8, panel[1]))
    axes = fig.subplots(1, n, squeeze=False)[0]
    scatter = None
    for ax, (label, vals) in zip(axes, values.items(), strict=True):
        for u, v, data in graph.edges(data=True):
            a, b = xy[index[u]], xy[index[v]]
            ax.plot(
                [a[0], b[0]],
                [a[1], b[1]],
                color=edge_colours.get(str(data.get("kind")), "#bdbdbd"),
                lw=0.5,
                alpha=0.6,
                zorder=1,
            )
        scatter = ax.scatter(
            xy[:, 0],
            xy[:, 1],
            c=np.asarray(vals, dtype=float),
            cmap="viridis",
            vmin=lo,
            vmax=hi,
            s=18,
            zorder=2,
            edgecolors="none",
        )
        _plain(ax.set_title(label, fontsize=9))
        ax.set_axis_off()
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=list(axes), label=variable, shrink=0.8)
        _plain(bar.ax.yaxis.label)
    return fig
