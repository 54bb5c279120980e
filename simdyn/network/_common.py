"""Checks and conversions shared by the network modules."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx
import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.errors import NetworkError

__all__ = ["check_graph", "edge_arrays", "resolve_nodelist"]


def check_graph(G: nx.Graph[Any], *, where: str = "G") -> None:
    """Raise :class:`NetworkError` unless ``G`` is a simple undirected graph without self-loops."""
    if not isinstance(G, nx.Graph):
        raise NetworkError(
            f"expected a networkx Graph, got {type(G).__name__}",
            where=where,
            hint="build one with simdyn.network.org_graph or a loader",
        )
    if G.is_directed():
        raise NetworkError(
            "org graphs must be undirected",
            where=where,
            hint="convert with G.to_undirected()",
        )
    if G.is_multigraph():
        raise NetworkError(
            "org graphs must not have parallel edges",
            where=where,
            hint="convert with nx.Graph(G), summing strengths first if they matter",
        )
    loops = list(nx.selfloop_edges(G))
    if loops:
        node = loops[0][0]
        raise NetworkError(
            f"self-loop on node {node!r}",
            where=where,
            hint="remove it with G.remove_edges_from(list(nx.selfloop_edges(G)))",
        )


def resolve_nodelist(
    G: nx.Graph[Any], nodelist: Iterable[Hashable] | None, *, where: str = "nodelist"
) -> tuple[Hashable, ...]:
    """Return the node order to use: ``nodelist`` checked against ``G``, or ``G``'s own order."""
    if nodelist is None:
        return tuple(G.nodes)
    order = tuple(nodelist)
    seen: set[Hashable] = set()
    for node in order:
        if node in seen:
            raise NetworkError(
                f"node {node!r} appears twice", where=where, hint="list each node once"
            )
        seen.add(node)
        if node not in G:
            raise NetworkError(
                f"node {node!r} is not in the graph",
                where=where,
                hint="nodelist must be a permutation of G.nodes",
            )
    if len(order) != G.number_of_nodes():
        missing = next(n for n in G.nodes if n not in seen)
        raise NetworkError(
            f"node {missing!r} is missing",
            where=where,
            hint="nodelist must be a permutation of G.nodes",
        )
    return order


def edge_weight(value: object, *, where: str) -> float:
    """Return ``value`` as a finite non-negative float or raise :class:`NetworkError`."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise NetworkError(
            f"non-numeric weight {value!r}", where=where, hint="weights must be numbers ≥ 0"
        )
    w = float(value)
    if not math.isfinite(w) or w < 0:
        raise NetworkError(
            f"invalid weight {w!r}", where=where, hint="weights must be finite numbers ≥ 0"
        )
    return w


def edge_arrays(
    G: nx.Graph[Any], order: tuple[Hashable, ...], weight: str | None
) -> tuple[IntArray, IntArray, FloatArray]:
    """Return ``(rows, cols, w)`` listing every undirected edge once, in ``order``'s indices.

    A missing ``weight`` attribute counts as 1, as in networkx.
    """
    check_graph(G)
    index = {node: i for i, node in enumerate(order)}
    m = G.number_of_edges()
    rows = np.empty(m, dtype=np.int64)
    cols = np.empty(m, dtype=np.int64)
    w = np.ones(m, dtype=np.float64)
    for e, (u, v, data) in enumerate(G.edges(data=True)):
        rows[e] = index[u]
        cols[e] = index[v]
        if weight is not None and weight in data:
            w[e] = edge_weight(data[weight], where=f"edge ({u!r}, {v!r}).{weight}")
    return rows, cols, w
