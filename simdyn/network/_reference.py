"""Slow, obvious implementations (Python loops over nodes and edges) to test the fast ones.

Each function mirrors a public operator or kernel, takes the graph itself plus the node order,
and draws random numbers in the same order as the fast kernel: per step, ``n_nodes`` uniforms
from scenario ``k``'s own generator.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from simdyn._types import BoolArray, FloatArray, IntArray
from simdyn.network.kernels import ScenarioSeed, scenario_generators

__all__ = [
    "adjacency_ref",
    "averaging_ref",
    "flux_ref",
    "friedkin_johnsen_step_ref",
    "knowledge_transfer_rate_ref",
    "laplacian_flux_ref",
    "neighbour_mean_ref",
    "run_contagion_ref",
    "simple_contagion_step_ref",
    "threshold_step_ref",
]


def _w(data: dict[str, Any], weight: str | None) -> float:
    return 1.0 if weight is None else float(data.get(weight, 1.0))


def adjacency_ref(G: nx.Graph[Any], nodelist: Sequence[Hashable], weight: str | None) -> FloatArray:
    """Dense weighted adjacency from an edge loop."""
    idx = {v: i for i, v in enumerate(nodelist)}
    A = np.zeros((len(nodelist), len(nodelist)))
    for u, v, data in G.edges(data=True):
        A[idx[u], idx[v]] = A[idx[v], idx[u]] = _w(data, weight)
    return A


def averaging_ref(G: nx.Graph[Any], nodelist: Sequence[Hashable], weight: str | None) -> FloatArray:
    """Dense row-normalised adjacency; isolated nodes keep their value."""
    A = adjacency_ref(G, nodelist, weight)
    W = np.zeros_like(A)
    for i in range(len(nodelist)):
        total = sum(A[i, j] for j in range(len(nodelist)))
        if total == 0:
            W[i, i] = 1.0
        else:
            for j in range(len(nodelist)):
                W[i, j] = A[i, j] / total
    return W


def flux_ref(G: nx.Graph[Any], nodelist: Sequence[Hashable], weight: str | None) -> FloatArray:
    """Dense ``A − D``."""
    A = adjacency_ref(G, nodelist, weight)
    M = A.copy()
    for i in range(len(nodelist)):
        M[i, i] -= A[i].sum()
    return M


def neighbour_mean_ref(
    G: nx.Graph[Any], nodelist: Sequence[Hashable], X: FloatArray, weight: str | None
) -> FloatArray:
    """Weighted mean of each node's neighbours, node by node and scenario by scenario."""
    idx = {v: i for i, v in enumerate(nodelist)}
    out = np.array(X, dtype=np.float64)
    for k in range(X.shape[1]):
        for v in nodelist:
            total = 0.0
            acc = 0.0
            for u in G[v]:
                w = _w(G.edges[v, u], weight)
                total += w
                acc += w * X[idx[u], k]
            if total > 0:
                out[idx[v], k] = acc / total
    return out


def friedkin_johnsen_step_ref(
    G: nx.Graph[Any],
    nodelist: Sequence[Hashable],
    X: FloatArray,
    X0: FloatArray,
    susceptibility: float,
    weight: str | None,
) -> FloatArray:
    """``λ · mean of neighbours + (1 − λ) · anchor``, node by node."""
    avg = neighbour_mean_ref(G, nodelist, X, weight)
    out = np.empty_like(avg)
    for i in range(X.shape[0]):
        for k in range(X.shape[1]):
            out[i, k] = susceptibility * avg[i, k] + (1 - susceptibility) * X0[i, k]
    return out


def laplacian_flux_ref(
    G: nx.Graph[Any], nodelist: Sequence[Hashable], X: FloatArray, weight: str | None, rate: float
) -> FloatArray:
    """Edge loop: each tie moves ``rate · w · (X_u − X_v)`` from ``u`` to ``v``."""
    idx = {v: i for i, v in enumerate(nodelist)}
    dX = np.zeros_like(X, dtype=np.float64)
    for u, v, data in G.edges(data=True):
        w = _w(data, weight)
        for k in range(X.shape[1]):
            f = rate * w * (X[idx[u], k] - X[idx[v], k])
            dX[idx[u], k] -= f
            dX[idx[v], k] += f
    return dX


def knowledge_transfer_rate_ref(
    G: nx.Graph[Any], nodelist: Sequence[Hashable], S: FloatArray, kappa: float, weight: str | None
) -> FloatArray:
    """``κ Σ_j w_ij max(S_j − S_i, 0)`` by a loop over edges in both directions."""
    idx = {v: i for i, v in enumerate(nodelist)}
    rate = np.zeros_like(S, dtype=np.float64)
    for u, v, data in G.edges(data=True):
        w = _w(data, weight)
        for k in range(S.shape[1]):
            i, j = idx[u], idx[v]
            rate[i, k] += kappa * w * max(S[j, k] - S[i, k], 0.0)
            rate[j, k] += kappa * w * max(S[i, k] - S[j, k], 0.0)
    return rate


def _theta(threshold: Any, i: int, k: int) -> float:
    t = np.asarray(threshold, dtype=np.float64)
    if t.ndim == 0:
        return float(t)
    if t.ndim == 1:
        return float(t[i])
    return float(t[i, min(k, t.shape[1] - 1)])


def _q(below_threshold: Any, c: int) -> float:
    if below_threshold is None:
        return 0.0
    q = np.atleast_1d(np.asarray(below_threshold, dtype=np.float64))
    if q.size == 1:
        return float(q[0]) if c >= 1 else 0.0
    return float(q[min(c, q.size - 1)])


def threshold_step_ref(
    G: nx.Graph[Any],
    nodelist: Sequence[Hashable],
    X: BoolArray,
    *,
    threshold: Any,
    fractional: bool = False,
    below_threshold: Any = None,
    gens: Sequence[np.random.Generator] = (),
) -> BoolArray:
    """Threshold contagion step, node by node, against the previous state (synchronous)."""
    idx = {v: i for i, v in enumerate(nodelist)}
    n, m = X.shape
    out = X.copy()
    for k in range(m):
        u = np.asarray(gens[k].random(n)) if below_threshold is not None else None
        for v in nodelist:
            i = idx[v]
            if X[i, k]:
                continue
            nbrs = list(G[v])
            c = sum(1 for w in nbrs if X[idx[w], k])
            theta = _theta(threshold, i, k)
            if fractional:
                meets = len(nbrs) > 0 and float(c) / len(nbrs) >= theta
            else:
                meets = c >= theta
            if meets or (u is not None and u[i] < _q(below_threshold, c)):
                out[i, k] = True
    return out


def simple_contagion_step_ref(
    G: nx.Graph[Any],
    nodelist: Sequence[Hashable],
    X: BoolArray,
    *,
    p: float | None,
    p_attr: str | None = None,
    active: BoolArray | None = None,
    gens: Sequence[np.random.Generator],
) -> BoolArray:
    """Simple contagion step: ``P(adopt) = 1 − Π (1 − p_ij)`` over transmitting neighbours."""
    idx = {v: i for i, v in enumerate(nodelist)}
    act = X if active is None else active
    n, m = X.shape
    out = X.copy()
    for k in range(m):
        u = np.asarray(gens[k].random(n))
        for v in nodelist:
            i = idx[v]
            if X[i, k]:
                continue
            survive = 1.0
            for w in G[v]:
                if act[idx[w], k]:
                    pij = float(G.edges[v, w][p_attr]) if p_attr is not None else float(p or 0.0)
                    survive *= 1.0 - pij
            if u[i] < 1.0 - survive:
                out[i, k] = True
    return out


def run_contagion_ref(
    G: nx.Graph[Any],
    nodelist: Sequence[Hashable],
    x0: BoolArray,
    *,
    rule: str,
    n_steps: int,
    threshold: Any = None,
    fractional: bool = False,
    below_threshold: Any = None,
    p: float | None = None,
    seed: ScenarioSeed = None,
) -> tuple[IntArray, IntArray]:
    """Run ``n_steps`` reference steps (no early stop); return ``(counts, adopted_at)``."""
    X = x0.copy()
    m = X.shape[1]
    stochastic = rule != "threshold" or below_threshold is not None
    gens = scenario_generators(seed, m) if stochastic else []
    counts = [X.sum(axis=0)]
    adopted_at = np.where(X, 0, -1)
    new = X.copy()
    for t in range(1, n_steps + 1):
        if rule == "threshold":
            Y = threshold_step_ref(
                G,
                nodelist,
                X,
                threshold=threshold,
                fractional=fractional,
                below_threshold=below_threshold,
                gens=gens,
            )
        else:
            Y = simple_contagion_step_ref(
                G, nodelist, X, p=p, active=X if rule == "simple" else new, gens=gens
            )
        new = Y & ~X
        adopted_at[new] = t
        X = Y
        counts.append(X.sum(axis=0))
    return np.array(counts, dtype=np.int64), adopted_at.astype(np.int64)
