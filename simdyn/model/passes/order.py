"""Pass 5: evaluation order by dependency; algebraic loops and circular initial values are errors.

- ``run_order``: auxiliaries and flows (stocks and constants are known at every stage);
- ``init_order``: stocks (by their initial equations), auxiliaries, flows and ``INIT`` values;
- ``needed``: the auxiliaries and flows the stocks' rates reach.

Ties are broken by position in the draft (the model file's order), so the order is stable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from simdyn.errors import ModelError
from simdyn.model.passes.draft import Draft, Var, refs
from simdyn.model.spec import ModelSpec

__all__ = ["order", "topological"]


def order(d: Draft) -> Draft:
    """Fill ``d.run_order``, ``d.init_order`` and ``d.needed``."""
    vs = d.vars
    stocks = [n for n, v in vs.items() if v.kind == "stock"]
    auxes = [n for n, v in vs.items() if v.kind in ("auxiliary", "flow")]
    inits = [n for n, v in vs.items() if v.kind == "init"]
    d.run_order = topological(vs, auxes, lambda v: refs(v.eq), "algebraic loop", d.spec)

    def init_edges(v: Var) -> set[str]:
        return refs(v.initial) if v.kind == "stock" else refs(v.eq)

    every = stocks + auxes + inits
    d.init_order = topological(vs, every, init_edges, "circular initial values", d.spec)
    needed: set[str] = set()
    frontier = set().union(*(refs(vs[s].rate) for s in stocks)) if stocks else set()
    while frontier:
        n = frontier.pop()
        if n in needed or n not in vs or vs[n].kind not in ("auxiliary", "flow"):
            continue
        needed.add(n)
        frontier |= refs(vs[n].eq)
    d.needed = needed
    return d


def topological(
    vars_: Mapping[str, Var],
    names: list[str],
    edges_of: Callable[[Var], set[str]],
    what: str,
    spec: ModelSpec,
) -> list[str]:
    """``names`` ordered so that each comes after what ``edges_of`` says it reads."""
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(names)
    for n in names:
        for r in edges_of(vars_[n]):
            if r in g and r != n:
                g.add_edge(r, n)
            elif r == n:
                g.add_edge(n, n)
    position = {n: i for i, n in enumerate(names)}
    try:
        return list(nx.lexicographical_topological_sort(g, key=position.__getitem__))
    except nx.NetworkXUnfeasible:
        cycle = [u for u, _ in nx.find_cycle(g)]
        shown = [c for c in cycle if not c.startswith("_")] or cycle
        first = vars_[shown[0]]
        raise ModelError(
            f"{what}: {' -> '.join([*shown, shown[0]])}",
            file=spec.source,
            line=spec.line_of(*first.owner),
            where=".".join(first.owner),
            hint="break the loop with a stock or a SMTH1",
        ) from None
