"""Pictures of feedback: a signed causal-loop diagram (Graphviz) and a loop-dominance plot.

The diagram is laid out by Graphviz's ``neato`` through pygraphviz: force-directed placement
with node overlap removed and curved links (so a stock's link to its flow and back stay two
arrows), which stays readable for the few dozen variables of a model's main loops, where
networkx's layouts pile labels and edges onto each other. Each loop gets a label node (``R1``, ``B2`` or its name) tied to its variables by
invisible springs, so the label sits inside its loop. The dominance plot stacks relative loop
scores over time, reinforcing loops above zero and balancing loops below (as Stella does).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import networkx as nx
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simdyn.model.loops import Loop

__all__ = ["draw_loop_diagram", "plot_dominance"]

_POS = "#2166ac"  # positive links, reinforcing loops
_NEG = "#b2182b"  # negative links, balancing loops
_UNK = "#777777"
plt_colors = [matplotlib.colormaps["tab20"](k) for k in range(20)]


def draw_loop_diagram(
    g: nx.DiGraph[str],
    loops: Sequence[Loop],
    path: str | Path,
    *,
    link_scores: xr.DataArray | None = None,
    title: str = "",
) -> Path:
    """Draw the variables and links of ``loops`` as a signed causal-loop diagram (PNG or SVG).

    Parameters
    ----------
    g
        The causal graph (:meth:`simdyn.Model.graph`).
    loops
        The loops to draw; each gets a label at its centre.
    link_scores
        Link scores at one time (``link`` coordinate as from :func:`simdyn.loop_dominance`, e.g.
        ``dom.link_score.sel(time=24, scenario=0)``): line width grows with ``|score|``.
    """
    import pygraphviz as pgv  # type: ignore[import-untyped]

    edges = {e for lp in loops for e in lp.links}
    widths: dict[tuple[str, str], float] = {}
    if link_scores is not None:
        frm, to = link_scores["link_from"].values, link_scores["link_to"].values
        vals = np.nan_to_num(np.abs(np.asarray(link_scores.values, dtype=float)))
        top = max(float(vals.max()) if vals.size else 0.0, 1e-12)
        widths = {
            (str(u), str(v)): 0.6 + 5.4 * float(x) / top
            for u, v, x in zip(frm, to, vals, strict=True)
        }
    a = pgv.AGraph(directed=True, strict=True)
    a.graph_attr.update(
        layout="neato",
        overlap="false",
        splines="curved",
        sep="+12",
        fontname="Helvetica",
        label=title,
        labelloc="t",
        fontsize="18",
        outputorder="edgesfirst",
        dpi="110",
    )
    a.node_attr.update(fontname="Helvetica", fontsize="11", style="filled", fillcolor="#f4f4f4")
    nodes = sorted({n for e in edges for n in e})
    for n in nodes:
        kind = g.nodes[n]["kind"]
        shape = {"stock": "box", "flow": "hexagon"}.get(kind, "ellipse")
        fill = {"stock": "#dde8f5", "flow": "#eef5e4"}.get(kind, "#f7f7f7")
        a.add_node(n, label=n.replace("_", " "), shape=shape, fillcolor=fill)
    for u, v in sorted(edges):
        pol = g.edges[u, v]["polarity"]
        color = {1: _POS, -1: _NEG}.get(pol, _UNK)
        a.add_edge(
            u,
            v,
            color=color,
            fontcolor=color,
            label={1: "+", -1: "−"}.get(pol, "?"),
            fontsize="13",
            penwidth=f"{widths.get((u, v), 1.2):.2f}",
            arrowsize="0.8",
            len="1.6",
        )
    for lp in loops:
        key = f"__loop_{lp.id}"
        color = {"R": _POS, "B": _NEG}.get(lp.polarity, _UNK)
        label = lp.id if not lp.name else f"{lp.polarity}: {lp.name.replace('_', ' ')}"
        a.add_node(key, label=label, shape="plaintext", style="", fontcolor=color, fontsize="12")
        for n in lp.variables:
            a.add_edge(key, n, style="invis", len="0.9", weight="2")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    a.draw(str(tmp), format=out.suffix.lstrip(".") or "png", prog="neato")
    tmp.replace(out)
    return out


def plot_dominance(
    dom: xr.Dataset,
    *,
    scenario: int = 0,
    top: int = 8,
    loops: Sequence[str] | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Figure:
    """Stacked relative loop scores over time for one scenario (R above zero, B below).

    The ``top`` loops with the largest mean ``|relative score|`` (or the ``loops`` given) are
    drawn; the rest are summed into "other loops".
    """
    rel = dom["relative_score"].isel(scenario=scenario).fillna(0.0)
    times = dom["time"].values
    ids = [str(x) for x in dom["loop"].values]
    if loops is None:
        strength = abs(rel).mean("time").values
        chosen = [ids[k] for k in np.argsort(-strength)[:top] if strength[k] > 0]
    else:
        chosen = list(loops)
    if ax is None:
        ax = Figure(figsize=(10, 4.8)).subplots()
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    pol = dict(zip(ids, dom["polarity"].values.tolist(), strict=True))
    series = [rel.sel(loop=lp).values for lp in chosen]
    rest = (
        rel.drop_sel(loop=chosen).sum("loop").values
        if len(chosen) < len(ids)
        else np.zeros_like(times)
    )
    labels = [f"{lp} ({pol[lp]})" for lp in chosen]
    palette = [plt_colors[k % len(plt_colors)] for k in range(len(chosen))]
    colors = palette
    for sign in (1, -1):
        parts = [np.where(sign * s > 0, s, 0.0) for s in [*series, rest]]
        names = [*labels, "other loops"] if sign == 1 else ["_nolegend_"] * len(parts)
        ax.stackplot(times, *parts, colors=[*colors, "#cccccc"], labels=names, linewidth=0)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlim(times[0], times[-1])
    ax.set_ylabel("relative loop score\n(R above 0, B below)")
    ax.set_xlabel(f"time ({dom.attrs.get('time_units', '')})".replace(" ()", ""))
    ax.set_title(title or f"loop dominance, scenario {scenario}")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig
