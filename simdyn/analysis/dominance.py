"""Loop dominance over time by the Loops that Matter method, for every scenario of a run.

Link scores (Schoenberg, Davidsen & Eberlein 2020), between consecutive saved times:

* into a flow or auxiliary ``z = f(x, y, …)``: ``|Δx z / Δz| · sign(Δx z / Δx)``, where
  ``Δx z = f(x₁, y₀, …) − f(x₀, y₀, …)`` is the change ``x`` alone would have caused;
* from a flow into its stock, the improved score (Schoenberg, Hayward & Eberlein 2023):
  ``±|Δflow / Δnet flow|`` (+ inflow, − outflow).

A loop's score is the product of its link scores; its relative score is its score over the sum
of the absolute scores of all loops at that time (per stock: of the loops through that stock).
Every evaluation is one vectorised call of the model's own generated numpy code over all
(time, scenario) columns.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
import xarray as xr

from simdyn._types import FloatArray
from simdyn.analysis.hidden import Hidden, explicit_run, explicit_spec, has_hidden_stocks
from simdyn.errors import ModelError
from simdyn.model import Model, load_model
from simdyn.model.evaluate import EquationEvaluator, run_columns
from simdyn.model.loops import (
    MAX_LOOPS,
    Loop,
    find_loops,
    fold_loops,
    make_loops,
    strongest_loops,
    unfold,
)
from simdyn.model.spec import Stock
from simdyn.model.structure import first_columns, model_graph

__all__ = ["link_scores", "loop_dominance"]

_TOL = 1e-10  # relative size below which a change counts as no change


def _total(a: FloatArray) -> FloatArray:
    """Sum over the model dimensions (all axes but the last)."""
    return a.reshape(-1, a.shape[-1]).sum(axis=0) if a.ndim > 1 else a


def _ratio(num: FloatArray, den: FloatArray, scale: FloatArray) -> FloatArray:
    ok = np.abs(den) > _TOL * (scale + 1e-300)
    with np.errstate(all="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


def _split(cols: Mapping[str, FloatArray], n_s: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Columns at the earlier and the later of each pair of consecutive saved times."""
    prev: dict[str, Any] = {}
    cur: dict[str, Any] = {}
    for k, v in cols.items():
        if v.shape[-1] == 1:
            prev[k] = cur[k] = v
        else:
            prev[k], cur[k] = v[..., :-n_s], v[..., n_s:]
    return prev, cur


def link_scores(
    g: nx.DiGraph[str],
    ev: EquationEvaluator,
    cols: Mapping[str, FloatArray],
    time: FloatArray,
    n_s: int,
    settings: Mapping[str, float],
) -> dict[tuple[str, str], FloatArray]:
    """Link score of every edge of ``g``, laid out ``(n_time - 1, n_scenarios)``.

    A change between values near the float limit (±1.8e308) overflows: its score is not a
    number (NaN), which the loop scores and the plots pass on as "undefined", not as an error.
    """
    prev, cur = _split(cols, n_s)
    times = (time[:-n_s], time[n_s:])
    out: dict[tuple[str, str], FloatArray] = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for z in g.nodes:
            inputs = [u for u in g.predecessors(z) if g.nodes[u]["kind"] != "constant"]
            if not inputs:
                continue
            if g.nodes[z]["kind"] == "stock":
                out.update(_flow_scores(ev.cm.spec.stocks[z], inputs, prev, cur))
            else:
                out.update(_input_scores(z, inputs, ev, prev, cur, times, settings))
    return {e: v.reshape(-1, n_s) for e, v in out.items()}


def _flow_scores(
    s: Stock, inputs: list[str], prev: Mapping[str, Any], cur: Mapping[str, Any]
) -> dict[tuple[str, str], FloatArray]:
    """Flow-to-stock link scores: each flow's change over the change of the stock's net flow."""
    shape = cur[s.name].shape
    flows = (*s.inflows, *s.outflows)
    d = {f: _total(np.broadcast_to(cur[f] - prev[f], shape)) for f in flows}
    zero = np.zeros(shape[-1])
    net = sum((d[f] for f in s.inflows), zero) - sum((d[f] for f in s.outflows), zero)
    scale = sum((_total(np.abs(np.broadcast_to(cur[f], shape))) for f in flows), zero)
    return {
        (f, s.name): (1.0 if f in s.inflows else -1.0) * np.abs(_ratio(d[f], net, scale))
        for f in inputs
    }


def _input_scores(
    z: str,
    inputs: list[str],
    ev: EquationEvaluator,
    prev: Mapping[str, Any],
    cur: Mapping[str, Any],
    times: tuple[FloatArray, FloatArray],
    settings: Mapping[str, float],
) -> dict[tuple[str, str], FloatArray]:
    """Link scores into a flow or auxiliary ``z``: its change when one input alone moves."""
    z0 = ev(z, prev, times[0], **settings)
    z1 = ev(z, cur, times[1], **settings)
    dz = _total(z1 - z0)
    zscale = _total(np.abs(z0)) + _total(np.abs(z1))
    out: dict[tuple[str, str], FloatArray] = {}
    for u in inputs:
        du = _total(np.broadcast_to(cur[u] - prev[u], cur[u].shape))
        uscale = _total(np.abs(cur[u])) + _total(np.abs(prev[u]))
        dzu = _total(ev(z, {**prev, u: cur[u]}, times[0], **settings) - z0)
        moved = np.abs(du) > _TOL * (uscale + 1e-300)
        score = np.abs(_ratio(dzu, dz, zscale)) * np.sign(dzu) * np.sign(du)
        out[(u, z)] = np.where(moved, score, 0.0)
    return out


def _discover(
    g: nx.DiGraph[str], scores: Mapping[tuple[str, str], FloatArray], limit: int
) -> set[tuple[str, ...]]:
    """Strongest-path loops at every saved time of up to ``limit`` scenarios."""
    stocks = [n for n in g if g.nodes[n]["kind"] == "stock"]
    edges = list(scores)
    stack = np.stack([scores[e] for e in edges])  # (edge, time, scenario)
    n_t, n_s = stack.shape[1:]
    picks = np.unique(np.linspace(0, n_s - 1, min(n_s, limit)).round().astype(int))
    found: set[tuple[str, ...]] = set()
    for k in range(n_t):
        for j in picks:
            w = dict(zip(edges, np.abs(stack[:, k, j]).tolist(), strict=True))
            found |= strongest_loops(g, w, stocks)
    return found


def loop_dominance(
    run: xr.Dataset,
    model: Model | str | None = None,
    *,
    max_loops: int = MAX_LOOPS,
    max_length: int | None = None,
    discover: bool = True,
    discovery_scenarios: int = 16,
    loops: Sequence[Loop] | None = None,
    seed: Any = None,
) -> xr.Dataset:
    """Link, loop and relative loop scores over time for every scenario of ``run``.

    Parameters
    ----------
    run
        A result of :func:`simdyn.simulate` holding every stock, flow and auxiliary.
    model
        The model that made ``run`` (default: the built-in model named in its attributes);
        pass the model a scenario's policies changed.
    max_loops, max_length
        Bounds of the loop enumeration. A model with more loops gets its shortest ones, its
        named ones and — with ``discover`` — the loops the strongest-path search finds at every
        saved time of up to ``discovery_scenarios`` scenarios.
    loops
        Analyse these loops instead.
    seed
        The seed of a run of random numbers whose model has smooths or delays (their hidden
        stocks come from re-simulating the run).

    Returns
    -------
    xarray.Dataset
        ``loop_score`` and ``relative_score`` ``(time, loop, scenario)``, ``link_score``
        ``(time, link, scenario)``, ``dominant_loop`` ``(time, scenario)`` and
        ``dominant_loop_by_stock`` ``(time, stock, scenario)``; the loop coordinates
        ``polarity`` (R/B/?), ``length``, ``path``, ``loop_name``, ``description``. Scores at the
        first saved time are NaN (there is no earlier time to compare with).

    Examples
    --------
    >>> import simdyn
    >>> dom = loop_dominance(simdyn.simulate("teacup"))
    >>> dom.polarity.values.tolist(), float(dom.relative_score.isel(time=5, scenario=0).item())
    (['B'], -1.0)
    """
    m = model if isinstance(model, Model) else load_model(model or str(run.attrs.get("model", "")))
    cm = m.compile()
    if "node" in cm.dim_order:
        raise ModelError(
            f"loop dominance of {m.name!r} needs per-person values; it supports models without the node dimension",
            where="model",
        )
    hidden: dict[str, Hidden] = {}
    xcm, xrun = cm, run
    if has_hidden_stocks(cm.spec):
        xspec, hidden = explicit_spec(cm.spec)
        xm = Model(xspec)
        xcm = xm.compile()
        xrun = explicit_run(run, cm, xm, seed=seed)
    cols, time, n_s = run_columns(xrun, xcm)
    gx = model_graph(xcm, xrun, columns=(cols, time, n_s))
    settings = {k: float(run.attrs[k]) for k in ("dt", "start", "stop") if k in run.attrs}
    ev = EquationEvaluator(xcm)
    ev.set_initial(first_columns(cols, n_s), time[:n_s], **settings)
    scores = link_scores(gx, ev, cols, time, n_s, settings) if len(time) > n_s else {}
    owner = {n: h.owner for n, h in hidden.items()}
    g, links = _folded(gx, owner, scores) if hidden else (gx, scores)
    if loops is None:
        found, complete = find_loops(
            gx, None if hidden else cm.spec, max_loops=max_loops, max_length=max_length
        )
        cycles = [lp.variables for lp in found]
        if not complete and discover and scores:
            cycles += list(_discover(gx, scores, discovery_scenarios))
            if not hidden:
                found = make_loops(g, cycles, cm.spec)
        loops = _describe(fold_loops(gx, g, cycles, owner, cm.spec), hidden) if hidden else found
    else:
        complete = True  # the caller chose the loops
        if hidden:
            loops = [_laid_out(gx, lp, owner) for lp in loops]
    dom = _assemble(g, cm.spec.stocks, list(loops), links, scores, run, n_s)
    dom.attrs["loops_complete"] = int(complete)
    return dom


def _laid_out(gx: nx.DiGraph[str], lp: Loop, owner: Mapping[str, str]) -> Loop:
    """``lp`` with its chain through the hidden variables of ``gx``, if it needs one."""
    if lp.chain or all(gx.has_edge(u, v) for u, v in lp.links):
        return lp
    try:
        chain = unfold(gx, lp.variables, owner)
    except KeyError as exc:
        u, v = exc.args[0]
        raise ModelError(f"loop {lp.id!r}: {v!r} does not depend on {u!r}", where="loops") from None
    return dataclasses.replace(lp, chain=chain)


def _describe(loops: list[Loop], hidden: Mapping[str, Hidden]) -> list[Loop]:
    """Say which smooth or delay a loop passes through (a loop of one variable is a stage's own
    adjustment inside it)."""
    out = []
    for lp in loops:
        inner = [hidden[n] for n in lp.chain if n in hidden]
        if not inner or lp.description:
            out.append(lp)
            continue
        h = inner[0]
        if lp.length == 1:
            stage = max(x.stage for x in inner)
            what = "adjusting to its input" if h.function.startswith("SMTH") else "draining itself"
            desc = f"stage {stage} of {h.function} in {h.owner} {what}"
        else:
            calls = sorted({f"{x.function} in {x.owner}" for x in inner})
            desc = "through the hidden stocks of " + ", ".join(calls)
        out.append(dataclasses.replace(lp, description=desc))
    return out


def _folded(
    gx: nx.DiGraph[str], owner: Mapping[str, str], scores: Mapping[tuple[str, str], FloatArray]
) -> tuple[nx.DiGraph[str], dict[tuple[str, str], FloatArray]]:
    """The graph of the visible variables, each chain through hidden variables one link.

    A folded link's polarity is the product along its chain (0 if chains disagree); its score
    is that of its strongest chain at each time (the product along it, largest in magnitude).
    """
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from((n, d) for n, d in gx.nodes(data=True) if n not in owner)
    links: dict[tuple[str, str], FloatArray] = {}
    for u, v, d in gx.edges(data=True):
        if u not in owner and v not in owner:
            g.add_edge(u, v, **d)
            if (u, v) in scores:
                links[(u, v)] = scores[(u, v)]
    inner: dict[str, list[str]] = {}
    for n, o in owner.items():
        inner.setdefault(o, []).append(n)
    for v, hid in inner.items():
        entries = {u for h in hid for u in gx.predecessors(h) if u not in owner}
        for u in sorted(entries, key=list(gx.nodes).index):
            sub = gx.subgraph([u, v, *hid])
            paths = [p for p in nx.all_simple_paths(sub, u, v) if len(p) > 2]
            if not paths:
                continue
            pols = {
                math.prod(gx.edges[a, b]["polarity"] for a, b in itertools.pairwise(p))
                for p in paths
            }
            pol = pols.pop() if len(pols) == 1 else 0
            if g.has_edge(u, v):  # also a direct link
                pol = pol if g.edges[u, v]["polarity"] == pol else 0
            g.add_edge(u, v, polarity=pol, polarity_source="structural" if pol else "undecided")
            if scores:
                prods = np.stack(
                    [math.prod(scores[(a, b)] for a, b in itertools.pairwise(p)) for p in paths]
                )
                if (u, v) in links:
                    prods = np.concatenate([prods, links[(u, v)][None]])
                best = np.nanargmax(np.abs(np.nan_to_num(prods, nan=0.0)), axis=0)
                links[(u, v)] = np.take_along_axis(prods, best[None], axis=0)[0]
    return g, links


def _assemble(
    g: nx.DiGraph[str],
    stocks: Mapping[str, Any],
    loops: list[Loop],
    links: Mapping[tuple[str, str], FloatArray],
    scores: Mapping[tuple[str, str], FloatArray],
    run: xr.Dataset,
    n_s: int,
) -> xr.Dataset:
    """The dominance Dataset: ``links`` (of ``g``) reported, loops scored on ``scores``."""
    times = run["time"].values
    n_t = len(times)
    nan_row = np.full((1, n_s), np.nan)

    def stacked(table: Mapping[tuple[str, str], FloatArray]) -> FloatArray:
        if not table:
            return np.zeros((n_t, 0, n_s))
        return np.stack([np.vstack([nan_row, table[e]]) for e in table], axis=1)

    lsc = _loop_scores(stacked(scores), list(scores), loops)
    edges = list(links)
    ls = stacked(links)
    total = np.abs(lsc).sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        rel = np.where(total > 0, lsc / np.where(total > 0, total, 1.0), 0.0)
    rel[0] = np.nan
    ids = np.array([lp.id for lp in loops], dtype=object)
    dominant = _argmax_names(rel, ids)
    by_stock = []
    stock_names = [s for s in stocks if s in g]
    for s in stock_names:
        mask = np.array([s in lp.variables for lp in loops], dtype=bool)
        sub = np.where(mask[None, :, None], np.abs(lsc), 0.0)
        by_stock.append(_argmax_names(np.where(np.isnan(rel), np.nan, sub), ids))
    ds = xr.Dataset(
        {
            "link_score": (("time", "link", "scenario"), ls),
            "loop_score": (
                ("time", "loop", "scenario"),
                lsc * np.where(np.isnan(rel), np.nan, 1.0),
            ),
            "relative_score": (("time", "loop", "scenario"), rel),
            "dominant_loop": (("time", "scenario"), dominant),
            "dominant_loop_by_stock": (
                ("time", "stock", "scenario"),
                np.stack(by_stock, axis=1) if by_stock else np.zeros((n_t, 0, n_s), dtype=object),
            ),
        },
        coords={
            "time": times,
            "scenario": run["scenario"].values,
            "loop": ids.astype(str),
            "polarity": ("loop", [lp.polarity for lp in loops]),
            "length": ("loop", [lp.length for lp in loops]),
            "path": ("loop", [lp.path() for lp in loops]),
            "loop_name": ("loop", [lp.name for lp in loops]),
            "description": ("loop", [lp.description for lp in loops]),
            "link": [f"{u} → {v}" for u, v in edges],
            "link_from": ("link", [u for u, _ in edges]),
            "link_to": ("link", [v for _, v in edges]),
            "stock": stock_names,
        },
        attrs={"model": str(run.attrs.get("model", "")), "method": "loops that matter"},
    )
    for c in run.coords:
        if c not in ds.coords and run.coords[c].dims == ("scenario",):
            ds.coords[c] = run.coords[c]
    return ds


def _loop_scores(ls: FloatArray, edges: list[tuple[str, str]], loops: list[Loop]) -> FloatArray:
    """Products of link scores along each loop, ``(time, loop, scenario)``.

    Computed as sums of logarithms through the loop-by-link incidence matrix (one ``einsum``),
    with the signs and zeros counted the same way.
    """
    index = {e: i for i, e in enumerate(edges)}
    incidence = np.zeros((len(loops), len(edges)))
    missing = np.zeros(len(loops), dtype=bool)  # a link without a score (e.g. from a constant)
    for j, lp in enumerate(loops):
        for e in lp.chain_links:
            if e in index:
                incidence[j, index[e]] = 1.0
            else:
                missing[j] = True
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(ls != 0, np.log(np.abs(ls)), 0.0)
    logs = np.matmul(incidence, np.nan_to_num(mag, nan=0.0))
    negatives = np.matmul(incidence, (ls < 0).astype(float))
    zeros = np.matmul(incidence, (ls == 0).astype(float))
    sign = 1.0 - 2.0 * (np.rint(negatives) % 2)
    out = np.where((zeros > 0) | missing[None, :, None], 0.0, sign * np.exp(logs))
    nans = np.matmul(incidence, np.isnan(ls).astype(float))
    return np.asarray(np.where(nans > 0, np.nan, out), dtype=float)


def _argmax_names(values: FloatArray, ids: FloatArray) -> FloatArray:
    """Per (time, scenario) the id of the loop with the largest ``|value|`` ("" if none)."""
    a = np.abs(np.nan_to_num(values, nan=0.0))
    if a.shape[1] == 0:
        return np.full((a.shape[0], a.shape[2]), "", dtype=object).astype(str)
    best = a.argmax(axis=1)
    names = ids[best].astype(str)
    return np.where(a.max(axis=1) > 0, names, "").astype(str)
