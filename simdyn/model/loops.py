"""Feedback loops of a causal graph: enumeration, polarity, names, strongest-path discovery.

Loops are the simple cycles of the graph (:func:`networkx.simple_cycles`). A model with more
loops than ``max_loops`` gets its shortest loops here; the dominance analysis then adds the
loops found by the strongest-path search of Eberlein & Schoenberg (2020), which follows the
largest link scores of a run from every stock (:func:`strongest_loops`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from simdyn.errors import ModelError
from simdyn.model.spec import ModelSpec

__all__ = [
    "Loop",
    "find_loops",
    "fold_cycle",
    "fold_loops",
    "loop_polarity",
    "make_loops",
    "strongest_loops",
    "unfold",
]

#: Loops enumerated before falling back to the shortest ones.
MAX_LOOPS = 1000
#: Cycles of recently seen graph structures (runs of one model share them).
_CYCLES: dict[tuple[object, ...], tuple[list[list[str]], bool]] = {}


@dataclass(frozen=True)
class Loop:
    """A feedback loop: its variables in causal order, polarity and (if any) its model name.

    ``id`` is the model's name for the loop or ``R1``, ``B2``, … (``U1`` while its polarity is
    undecided); ``documented`` is the polarity the model file states for a named loop.
    """

    id: str
    variables: tuple[str, ...]
    polarity: str  # "R", "B" or "?"
    name: str = ""
    description: str = ""
    documented: str = ""
    chain: tuple[str, ...] = ()
    """The loop's variables including the hidden stocks and flows of smooths and delays on it
    (empty when it has none): what its score is the product along."""

    @property
    def length(self) -> int:
        """Number of links (equal to the number of variables)."""
        return len(self.variables)

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        """The loop's links ``(from, to)`` in order."""
        v = self.variables
        return tuple((v[i], v[(i + 1) % len(v)]) for i in range(len(v)))

    @property
    def chain_links(self) -> tuple[tuple[str, str], ...]:
        """The links of :attr:`chain` (of :attr:`variables` when there is no chain)."""
        v = self.chain or self.variables
        return tuple((v[i], v[(i + 1) % len(v)]) for i in range(len(v)))

    def path(self) -> str:
        """``a → b → … → a``."""
        return " → ".join([*self.variables, self.variables[0]])


def loop_polarity(g: nx.DiGraph[str], cycle: Sequence[str]) -> str:
    """``"R"`` (an even number of negative links), ``"B"`` (odd) or ``"?"`` (a link undecided)."""
    sign = 1
    for i, u in enumerate(cycle):
        sign *= g.edges[u, cycle[(i + 1) % len(cycle)]]["polarity"]
    return {1: "R", -1: "B"}.get(sign, "?")


def _canonical(cycle: Sequence[str], order: Mapping[str, int]) -> tuple[str, ...]:
    """The cycle rotated to start at its first variable in model order (stocks first)."""
    k = min(range(len(cycle)), key=lambda i: order[cycle[i]])
    return tuple(cycle[k:]) + tuple(cycle[:k])


def _enumerate(
    g: nx.DiGraph[str], max_loops: int, max_length: int | None
) -> tuple[list[list[str]], bool]:
    """All simple cycles if there are at most ``max_loops``, else the shortest ones."""
    cycles: list[list[str]] = []
    for c in nx.simple_cycles(g, length_bound=max_length):
        cycles.append(c)
        if len(cycles) > 50 * max_loops:
            break
    else:
        if len(cycles) <= max_loops:
            return cycles, max_length is None
        # all known but too many: whole length groups, shortest first
        cycles.sort(key=len)
        keep = 0
        while keep < len(cycles) and keep <= max_loops:
            nxt = keep
            while nxt < len(cycles) and len(cycles[nxt]) == len(cycles[keep]):
                nxt += 1
            if nxt > max_loops:
                break
            keep = nxt
        return cycles[:keep], False

    # too many: the longest length bound that keeps the count within max_loops, found by
    # doubling and then bisecting the bound (an enumeration stops once it has too many)
    def within(bound: int) -> list[list[str]] | None:
        found: list[list[str]] = []
        for c in nx.simple_cycles(g, length_bound=bound):
            found.append(c)
            if len(found) > max_loops:
                return None
        return found

    lo, lo_cycles, hi = 0, [], 1
    while (got := within(hi)) is not None:
        lo, lo_cycles, hi = hi, got, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        got = within(mid)
        if got is None:
            hi = mid
        else:
            lo, lo_cycles = mid, got
    if not lo_cycles:  # even the shortest loops are more than max_loops: keep those
        lo_cycles = list(nx.simple_cycles(g, length_bound=hi))
    return lo_cycles, False


def _broken_link(spec: ModelSpec | None, loop: str, u: str, v: str) -> ModelError:
    """The error for a named loop whose variable ``v`` does not depend on the one before it."""
    return ModelError(
        f"loop {loop!r}: {v!r} does not depend on {u!r}",
        file=spec.source if spec else None,
        line=spec.line_of("loops", loop, "variables") if spec else None,
        where=f"loops.{loop}.variables",
        hint="list every variable of the loop in causal order (the last links to the first)",
    )


def make_loops(
    g: nx.DiGraph[str], cycles: Iterable[Sequence[str]], spec: ModelSpec | None = None
) -> list[Loop]:
    """Loops from cycles, numbered by polarity and length, with the model's named loops.

    Named loops (``[loops.NAME]`` in the model file) are always included; a named loop whose
    variables do not form a cycle of the graph is an error naming the missing link.
    """
    order = {n: i for i, n in enumerate(g.nodes)}
    unique = {_canonical(c, order) for c in cycles}
    named: dict[tuple[str, ...], tuple[str, str, str]] = {}
    for ls in spec.loops.values() if spec is not None else ():
        for i, u in enumerate(ls.variables):
            v = ls.variables[(i + 1) % len(ls.variables)]
            if not g.has_edge(u, v):
                raise _broken_link(spec, ls.name, u, v)
        key = _canonical(ls.variables, order)
        unique.add(key)
        named[key] = (ls.name, ls.description, ls.polarity)
    ranked = sorted(unique, key=lambda c: (len(c), [order[n] for n in c]))
    counters = {"R": 0, "B": 0, "?": 0}
    out: list[Loop] = []
    for c in ranked:
        pol = loop_polarity(g, c)
        name, desc, documented = named.get(c, ("", "", ""))
        if not name:
            counters[pol] += 1
            name_or_id = f"{'U' if pol == '?' else pol}{counters[pol]}"
        else:
            name_or_id = name
        out.append(Loop(name_or_id, c, pol, name, desc, documented))
    return out


def fold_cycle(cycle: Sequence[str], owner: Mapping[str, str]) -> tuple[str, ...]:
    """``cycle`` with each hidden variable replaced by its ``owner`` and repeats merged."""
    names = [owner.get(n, n) for n in cycle]
    out = [n for i, n in enumerate(names) if n != names[i - 1]]
    return tuple(out or names[:1])


def unfold(
    gx: nx.DiGraph[str], variables: Sequence[str], owner: Mapping[str, str]
) -> tuple[str, ...]:
    """A loop of visible ``variables`` laid out in ``gx``: each link ``u → v`` by the shortest
    path through ``v``'s hidden variables. A link with no such path raises ``KeyError((u, v))``.
    """
    chain: list[str] = []
    for i, u in enumerate(variables):
        v = variables[(i + 1) % len(variables)]
        inner = [n for n in gx if owner.get(n) == v]
        try:
            path = nx.shortest_path(gx.subgraph([u, v, *inner]), u, v)
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            raise KeyError((u, v)) from None
        chain.extend(path[:-1])
    return tuple(chain)


def fold_loops(
    gx: nx.DiGraph[str],
    g: nx.DiGraph[str],
    cycles: Iterable[Sequence[str]],
    owner: Mapping[str, str],
    spec: ModelSpec | None = None,
) -> list[Loop]:
    """Loops of the graph ``gx`` (with hidden variables) told in the variables of ``g``.

    Each cycle of ``gx`` keeps its own score chain; its variables are the cycle folded by
    :func:`fold_cycle`. Polarity is that of the whole chain. Named loops of ``spec`` (in the
    variables of ``g``) are matched on their folded form, or laid out in ``gx`` by the
    shortest path through each link's hidden variables.
    """
    order = {n: i for i, n in enumerate(g.nodes)}
    xorder = {n: i for i, n in enumerate(gx.nodes)}
    chains: dict[tuple[str, ...], tuple[str, ...]] = {}
    for c in cycles:
        key = _canonical(c, xorder)
        chains[key] = fold_cycle(key, owner)
    named: dict[tuple[str, ...], tuple[str, str, str]] = {}
    for ls in spec.loops.values() if spec is not None else ():
        folded = _canonical(ls.variables, order)
        named[folded] = (ls.name, ls.description, ls.polarity)
        if any(_canonical(f, order) == folded for f in chains.values()):
            continue
        try:
            chain = unfold(gx, ls.variables, owner)
        except KeyError as exc:
            u, v = exc.args[0]
            raise _broken_link(spec, ls.name, u, v) from None
        key = _canonical(chain, xorder)
        chains[key] = fold_cycle(key, owner)
    entries = [(_canonical(f, order), c) for c, f in chains.items()]
    entries.sort(key=lambda e: (len(e[0]), [order[n] for n in e[0]], [xorder[n] for n in e[1]]))
    counters = {"R": 0, "B": 0, "?": 0}
    taken: set[tuple[str, ...]] = set()
    out: list[Loop] = []
    for folded, c in entries:
        pol = loop_polarity(gx, c)
        name, desc, documented = named.get(folded, ("", "", ""))
        if name and folded in taken:  # a second chain of a named loop's variables
            name, desc, documented = "", "", ""
        if name:
            taken.add(folded)
            ident = name
        else:
            counters[pol] += 1
            ident = f"{'U' if pol == '?' else pol}{counters[pol]}"
        hidden = [n for n in c if n in owner]
        out.append(Loop(ident, folded, pol, name, desc, documented, c if hidden else ()))
    return out


def find_loops(
    g: nx.DiGraph[str],
    spec: ModelSpec | None = None,
    *,
    max_loops: int = MAX_LOOPS,
    max_length: int | None = None,
) -> tuple[list[Loop], bool]:
    """The graph's feedback loops and whether the list is complete.

    At most ``max_loops`` loops are enumerated (of at most ``max_length`` links); a graph with
    more gets its shortest loops and ``False``. Named loops of ``spec`` are always included.

    Examples
    --------
    >>> from simdyn import load_model
    >>> loops, complete = find_loops(load_model("sir").graph())
    >>> [lp.id for lp in loops], complete
    (['B1', 'R1', 'B2'], True)
    >>> loops[1].path()
    'infected → infection → infected'
    """
    key = (tuple(g.nodes), tuple(g.edges), max_loops, max_length)
    cached = _CYCLES.get(key)
    if cached is None:
        cached = _CYCLES[key] = _enumerate(g, max_loops, max_length)
        while len(_CYCLES) > 16:
            del _CYCLES[next(iter(_CYCLES))]
    cycles, complete = cached
    return make_loops(g, cycles, spec), complete


def strongest_loops(
    g: nx.DiGraph[str], weight: Mapping[tuple[str, str], float], starts: Iterable[str]
) -> set[tuple[str, ...]]:
    """Loops through ``starts`` found by following the strongest links (Eberlein & Schoenberg).

    A depth-first search from each start variable multiplies the absolute link scores
    ``weight`` along its path and abandons a path that reaches a variable more weakly than an
    earlier path did; every return to the start is a loop. This finds the loops that matter at
    the instant the weights describe without enumerating all loops.
    """
    found: set[tuple[str, ...]] = set()
    succ = {u: [(v, abs(weight.get((u, v), 0.0))) for v in g.successors(u)] for u in g}
    for start in starts:
        best: dict[str, float] = {}
        path = [start]
        on_path = {start}
        stack = [(start, 1.0, iter(succ[start]))]
        while stack:
            node, score, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                on_path.discard(node)
                path.pop()
                continue
            v, w = nxt
            s = score * w
            if s <= 0.0:
                continue
            if v == start:
                found.add(tuple(path))
                continue
            if v in on_path or s <= best.get(v, 0.0):
                continue
            best[v] = s
            path.append(v)
            on_path.add(v)
            stack.append((v, s, iter(succ[v])))
    return found
