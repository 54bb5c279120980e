"""Plots of simulation results: from a Dataset (and a goals table), or an org graph with values.

Figures are built with :class:`matplotlib.figure.Figure` directly, so nothing here chooses a
backend or touches pyplot's global state; save them with ``fig.savefig(...)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "PLAIN_LIMIT",
    "axis_scale",
    "goal_legend_handles",
    "plain_text",
    "plot_comparison",
    "plot_network",
    "plot_timeseries",
    "run_labels",
    "scaled_label",
]

_MET = "#1a9850"
_NOT_MET = "#d73027"


def plain_text(*texts: Text) -> None:
    """Show user text (names, units, labels) as it is: never as matplotlib mathtext."""
    for text in texts:
        text.set_parse_math(False)


def run_labels(dataset: xr.Dataset) -> list[str]:
    """One label per entry of ``scenario``: the ``variant`` coordinate if there is one."""
    if "variant" in dataset.coords:
        return [str(v) for v in dataset["variant"].values]
    n = dataset.sizes.get("scenario", 1)
    return [f"scenario {k}" for k in range(n)]


def _series(dataset: xr.Dataset, name: str, scale: float = 1.0) -> list[tuple[str, xr.DataArray]]:
    """``(suffix, (time, scenario) array)`` pairs: node means, one pair per other element; values
    divided by ``scale`` first (a mean of values near the float limit would overflow)."""
    da = dataset[name] / scale if scale != 1.0 else dataset[name]
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
    bands: Mapping[str, Sequence[str]] | None = None,
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
    bands
        Uncertainty bands: run label → labels of runs over uncertain values; those runs are
        drawn as a shaded range (minimum to maximum, with the run itself) around the run's line
        instead of as lines of their own.

    Returns
    -------
    matplotlib.figure.Figure
        A panel whose values reach beyond ±1e15 counts in a power of ten named on its axis
        label (see :func:`axis_scale`).

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
    fig, axes, nrows = _panels(len(variables), ncols, panel)
    labels = run_labels(dataset)
    colors = [f"C{k % 10}" for k in range(len(labels))]
    runs = _Runs(labels, colors, {owner: list(ms) for owner, ms in (bands or {}).items()})
    time_units = str(dataset.attrs.get("time_units", "time"))
    for ax, name in zip(axes, variables, strict=False):
        _timeseries_panel(ax, dataset, name, runs, goals, time_units)
    for ax in axes[len(variables) :]:
        ax.set_visible(False)
    if goals is not None and len(goals) and set(goals["variable"]) & set(variables):
        fig.legend(
            handles=goal_legend_handles(), loc="upper center", ncols=3, fontsize=8, frameon=False
        )
        fig.subplots_adjust(top=1 - 0.62 / (nrows * panel[1]))
    if title:
        plain_text(fig.suptitle(title, y=0.995))
    return fig


@dataclass(frozen=True)
class _Runs:
    """The runs of a figure: their labels, colours and uncertainty bands (owner → members)."""

    labels: list[str]
    colors: list[str]
    bands: dict[str, list[str]]

    @property
    def members(self) -> set[str]:
        return {m for ms in self.bands.values() for m in ms}


def _panels(n: int, ncols: int, panel: tuple[float, float]) -> tuple[Figure, Any, int]:
    """A figure with ``n`` panels, ``ncols`` a row: the figure, its axes (flat), the rows."""
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    _space(fig, nrows, panel[1])
    return fig, axes, nrows


def _timeseries_panel(
    ax: Axes,
    dataset: xr.Dataset,
    name: str,
    runs: _Runs,
    goals: pd.DataFrame | None,
    time_units: str,
) -> None:
    """One variable's panel: bands, one line per run, axis labels and goal markers."""
    rows = goals[goals["variable"] == name] if goals is not None and len(goals) else None
    levels = None if rows is None else rows[~rows["comparison"].astype(str).str.contains("start")]
    marks = [] if levels is None else [levels["target"].to_numpy(), levels["actual"].to_numpy()]
    scale = axis_scale(dataset[name].values, *marks)
    xscale = axis_scale(dataset["time"].values)
    for j, (suffix, da) in enumerate(_series(dataset, name, scale)):
        values = np.asarray(da.values, dtype=float)
        time = np.asarray(da["time"].values, dtype=float) / xscale
        _draw_bands(ax, time, values, suffix, runs)
        _draw_runs(ax, time, values, suffix, j, runs)
    units = str(dataset[name].attrs.get("units", ""))
    plain_text(ax.set_title(name, fontsize=10))
    plain_text(ax.set_ylabel(scaled_label(units or "value", scale), fontsize=8))
    plain_text(ax.set_xlabel(scaled_label(time_units, xscale)))
    ax.grid(alpha=0.3)
    _readable_flat_axis(ax)
    if rows is not None:
        _mark_goals(ax, rows, name, runs.labels, runs.colors, dataset, scale=(xscale, scale))
    handles, _ = ax.get_legend_handles_labels()
    if len(handles) > 1:
        plain_text(*ax.legend(fontsize=7, loc="best").get_texts())


def _draw_bands(
    ax: Axes, time: np.ndarray[Any, Any], values: np.ndarray[Any, Any], suffix: str, runs: _Runs
) -> None:
    """Per band owner: the shaded range (minimum to maximum) over it and its members."""
    labels = runs.labels
    for owner, ms in runs.bands.items():
        cols = [labels.index(x) for x in (owner, *ms) if x in labels]
        if len(cols) > 1 and owner in labels:
            vals = values[:, cols]
            ax.fill_between(
                time,
                vals.min(axis=1),
                vals.max(axis=1),
                color=runs.colors[labels.index(owner)],
                alpha=0.2,
                linewidth=0,
                label=f"{owner}{suffix}: range over {', '.join(ms)}",
            )


def _draw_runs(
    ax: Axes,
    time: np.ndarray[Any, Any],
    values: np.ndarray[Any, Any],
    suffix: str,
    element: int,
    runs: _Runs,
) -> None:
    """One line per run that is not a band member.

    Later runs are thinner and dashed, so identical lines stay visible on top of each other;
    elements of one run differ by marker-free dash patterns.
    """
    labels, members = runs.labels, runs.members
    for k, label in enumerate(labels):
        if label in members:
            continue
        style = _RUN_STYLES[k % len(_RUN_STYLES)] if not suffix else _DASHES[element % 4]
        ax.plot(
            time,
            values[:, k],
            color=runs.colors[k],
            linestyle=style,
            linewidth=max(1.0, 2.8 - 0.5 * k) if not suffix else 1.5,
            label=f"{label}{suffix}" if len(labels) > 1 or suffix else label,
        )


PLAIN_LIMIT = 1e15
"""Values up to this size are drawn as they are; a panel reaching beyond counts in a power of ten."""


def axis_scale(*arrays: Any) -> float:
    """The power of ten a panel's values are divided by before drawing: 1 for ordinary values.

    matplotlib cannot place ticks on an axis that reaches near ±1e308 (its margins and tick
    steps overflow), and plain tick labels of very large numbers are unreadable. So a panel
    whose finite values reach beyond ±:data:`PLAIN_LIMIT` is drawn in units of ``10**k``, the
    largest power of ten not above its largest magnitude, and :func:`scaled_label` says so on
    the axis. Non-finite values are ignored here (they are not drawn).

    Examples
    --------
    >>> axis_scale([1.0, -20.0, float("nan")])
    1.0
    >>> axis_scale([1.7e308, -3.0])
    1e+308
    """
    largest = 0.0
    for values in arrays:
        flat = np.asarray(values, dtype=float).ravel()
        flat = np.abs(flat[np.isfinite(flat)])
        if flat.size:
            largest = max(largest, float(flat.max()))
    if largest <= PLAIN_LIMIT:
        return 1.0
    return float(10.0 ** math.floor(math.log10(largest)))


def scaled_label(label: str, scale: float) -> str:
    """An axis label that names the power of ten the axis counts in (``people (×1e308)``)."""
    return label if scale == 1.0 else f"{label} (×1e{round(math.log10(scale))})"


_RUN_STYLES = ("-", (0, (5, 2)), (0, (3, 1, 1, 1)), (0, (1, 1)))
_DASHES = ("-", "--", ":", "-.")


def _mark_goals(
    ax: Axes,
    goals: pd.DataFrame,
    name: str,
    labels: list[str],
    colors: list[str],
    dataset: xr.Dataset | None = None,
    *,
    scale: tuple[float, float] = (1.0, 1.0),
) -> None:
    """Each goal: a black bar at its target; each run: a marker at its own value then.

    Markers sit side by side around the goal time (one slot per run), so they never cover each
    other; filled means met, hollow not met; ▲ for "at least", ▼ for "at most". Times and
    levels are divided by ``scale``, the panel's :func:`axis_scale` of time and of values.
    """
    rows = goals[goals["variable"] == name]
    if not len(rows):
        return
    xscale, scale_y = scale
    times = (
        np.asarray(dataset["time"].values, dtype=float) / xscale if dataset is not None else None
    )
    span = float(times[-1] - times[0]) if times is not None and len(times) > 1 else 1.0
    slot = 0.018 * span
    seen: set[tuple[float, float]] = set()
    for row in rows.to_dict("records"):
        if "start" in str(row["comparison"]):
            continue  # a relative goal has no level on this axis
        scenario = str(row["scenario"])
        k = labels.index(scenario) if scenario in labels else 0
        t, target = float(row["time"]) / xscale, float(row["target"]) / scale_y
        if (t, target) not in seen:
            seen.add((t, target))
            half = slot * (len(labels) / 2 + 0.8)
            ax.plot([t - half, t + half], [target, target], color="black", linewidth=2.2)
            ax.axvline(t, color="0.7", linewidth=0.6, linestyle=":")
        actual = float(row["actual"]) / scale_y
        if not math.isfinite(actual):
            continue
        up = str(row["comparison"]).startswith(">")
        met = bool(row["met"])
        ax.plot(
            [t + (k - (len(labels) - 1) / 2) * slot],
            [actual],
            marker="^" if up else "v",
            markersize=8,
            linestyle="none",
            markeredgecolor=colors[k % len(colors)],
            markerfacecolor=colors[k % len(colors)] if met else "white",
            markeredgewidth=1.8,
            zorder=5,
        )


def goal_legend_handles() -> list[Any]:
    """Legend entries that explain goal markers (for a figure legend)."""
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], color="black", linewidth=2.2, label="goal target"),
        Line2D([], [], marker="^", linestyle="none", color="0.3", markerfacecolor="0.3",
               label="run's value at the goal time: met"),
        Line2D([], [], marker="^", linestyle="none", color="0.3", markerfacecolor="white",
               markeredgewidth=1.8, label="not met (▲ at least, ▼ at most)"),
    ]  # fmt: skip


def _readable_flat_axis(ax: Axes) -> None:
    """Plain tick labels; a (nearly) constant series gets a ±5 % band instead of an offset axis."""
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    lo, hi = ax.get_ylim()
    mid = 0.5 * (lo + hi)
    if hi - lo < 1e-6 * max(abs(mid), 1e-12):
        pad = 0.05 * abs(mid) if mid else 1.0
        ax.set_ylim(mid - pad, mid + pad)


def _space(fig: Figure, nrows: int, panel_height: float) -> None:
    """Fixed margins (constrained layout costs more than the drawing itself); at least 0.72 inch
    on the left, so a narrow figure keeps its tick labels and axis label."""
    height = nrows * panel_height
    width = float(fig.get_size_inches()[0])
    fig.subplots_adjust(
        left=max(0.07, 0.72 / width), right=0.98, bottom=0.45 / height + 0.02, top=1 - 0.35 / height,
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
        values, scale = _bar_values(dataset, name)
        for k, label in enumerate(labels):
            heights = np.interp(times, t_all, values[:, k])
            drawn = np.isfinite(heights)  # a run that went non-finite has no bar there
            ax.bar(
                (x + (k - (len(labels) - 1) / 2) * width)[drawn],
                heights[drawn],
                width,
                label=label,
                color=f"C{k % 10}",
            )
        time_units = str(dataset.attrs.get("time_units", "")).strip()
        ax.set_xticks(x, [f"{time_units or 't'} {t:g}" for t in times])
        plain_text(*ax.get_xticklabels())
        plain_text(ax.set_title(name, fontsize=10))
        units = str(dataset[name].attrs.get("units", "")) or "value"
        plain_text(ax.set_ylabel(scaled_label(units, scale), fontsize=8))
        ax.grid(axis="y", alpha=0.3)
    plain_text(*axes[0].legend(fontsize=7).get_texts())
    for ax in axes[len(variables) :]:
        ax.set_visible(False)
    return fig


def _bar_values(dataset: xr.Dataset, name: str) -> tuple[np.ndarray[Any, Any], float]:
    """A ``(time, scenario)`` array of one variable (node mean, elements summed), scaled so it
    can be drawn, and the :func:`axis_scale` it was divided by."""
    scale = axis_scale(dataset[name].values)
    da = dataset[name] / scale  # before the node mean and the sum, which could overflow
    if "node" in da.dims:
        da = da.mean("node")
    extra = [d for d in da.dims if d not in ("time", "scenario")]
    if extra:
        da = da.sum(extra)
        again = axis_scale(da.values)
        da, scale = da / again, scale * again
    if "scenario" not in da.dims:
        da = da.expand_dims("scenario", axis=-1)
    return np.asarray(da.transpose("time", "scenario").values, dtype=float), scale


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
    xy = np.array([pos[v] for v in graph])
    all_values = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values.values()])
    scale = axis_scale(all_values)
    all_values = all_values / scale
    finite = all_values[np.isfinite(all_values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    n = max(1, len(values))
    fig = Figure(figsize=(panel[0] * n + 0.8, panel[1]))
    axes = fig.subplots(1, n, squeeze=False)[0]
    scatter = None
    for ax, (label, vals) in zip(axes, values.items(), strict=True):
        ax.add_collection(_edge_lines(graph, xy))
        scatter = ax.scatter(
            xy[:, 0],
            xy[:, 1],
            c=np.asarray(vals, dtype=float) / scale,
            cmap="viridis",
            vmin=lo,
            vmax=hi,
            s=18,
            zorder=2,
            edgecolors="none",
        )
        plain_text(ax.set_title(label, fontsize=9))
        ax.set_axis_off()
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=list(axes), label=scaled_label(variable, scale), shrink=0.8)
        plain_text(bar.ax.yaxis.label)
    return fig


_EDGE_COLOURS = {
    "team": "#9e9e9e",
    "hierarchy": "#4575b4",
    "cross": "#f46d43",
    "community": "#66bd63",
}


def _edge_lines(graph: nx.Graph[Any], xy: np.ndarray[Any, Any]) -> Any:
    """Every edge of ``graph`` as one line collection, coloured by its ``kind`` attribute.

    One artist for all edges: drawing a 2,000-edge graph is one call, not 2,000.
    """
    from matplotlib.collections import LineCollection

    index = {v: i for i, v in enumerate(graph)}
    segments, colours = [], []
    for u, v, data in graph.edges(data=True):
        segments.append((xy[index[u]], xy[index[v]]))
        colours.append(_EDGE_COLOURS.get(str(data.get("kind")), "#bdbdbd"))
    return LineCollection(segments, colors=colours, linewidths=0.5, alpha=0.6, zorder=1)
