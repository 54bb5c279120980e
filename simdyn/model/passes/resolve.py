"""Pass 1: resolve dimensions and parse every equation into a syntax tree.

Fixes the dimension order (``node`` first when any variable uses it, then the model's declared
dimensions), puts every declared variable's dimensions in that order, builds each stock's net
rate from its flows and checks that every flow is attached to a stock. Smooths and delays are
left in the trees for :mod:`~simdyn.model.passes.expand`.
"""

from __future__ import annotations

from simdyn.errors import ExpressionError, ModelError, SimdynError
from simdyn.expr import BinOp, Name, Node, Num
from simdyn.expr import parse as parse_text
from simdyn.model.loader import NODE_DIM
from simdyn.model.passes.draft import Draft, DraftEvent, Tree, Var
from simdyn.model.spec import Equation, ModelSpec

__all__ = ["parse", "parse_equation", "resolve"]


def resolve(d: Draft) -> Draft:
    """Fill ``d`` with the spec's dimensions, variables and events (equations parsed)."""
    spec = d.spec
    _dimensions(d)
    for s in spec.stocks.values():
        initial = parse_equation(d, s.initial, ("stocks", s.name, "initial"))
        d.vars[s.name] = Var(
            s.name,
            "stock",
            d.canonical(s.dims),
            None,
            initial=initial,
            rate=_net_rate(s.inflows, s.outflows),
            non_negative=s.non_negative,
            owner=("stocks", s.name),
        )
    attached = {f for s in spec.stocks.values() for f in (*s.inflows, *s.outflows)}
    for f in spec.flows.values():
        if f.name not in attached:
            raise ModelError(
                f"flow {f.name!r} is attached to no stock",
                file=spec.source,
                line=spec.line_of("flows", f.name),
                where=f"flows.{f.name}",
                hint="list it in a stock's inflows or outflows, or make it an auxiliary",
            )
        path = ("flows", f.name, "equation")
        eq = parse_equation(d, f.equation, path)
        d.vars[f.name] = Var(
            f.name, "flow", d.canonical(f.dims), eq, uniflow=f.non_negative, owner=path
        )
    for a in spec.auxiliaries.values():
        path = ("auxiliaries", a.name, "equation")
        eq = parse_equation(d, a.equation, path)
        d.vars[a.name] = Var(a.name, "auxiliary", d.canonical(a.dims), eq, owner=path)
    d.events = [_event(d, spec, name) for name in spec.events]
    return d


def _dimensions(d: Draft) -> None:
    spec = d.spec
    uses_node = any(
        NODE_DIM in v.dims
        for table in (spec.constants, spec.stocks, spec.flows, spec.auxiliaries)
        for v in table.values()
    )
    d.elements = dict(spec.dimensions)
    if uses_node:
        if d.nodelist is None:
            raise ModelError(
                "the model has variables over the 'node' dimension",
                file=spec.source,
                hint="run it with a network (network=...)",
            )
        d.elements[NODE_DIM] = tuple(d.nodelist)
        d.dim_order = (NODE_DIM, *spec.dimensions)
    else:
        d.dim_order = tuple(spec.dimensions)


def _net_rate(inflows: tuple[str, ...], outflows: tuple[str, ...]) -> Node:
    """``in1 + in2 ... - out1 - out2 ...`` (``0`` without flows)."""
    rate: Node = Num(0.0, 0)
    for fname in inflows:
        rate = Name(fname, 0) if rate == Num(0.0, 0) else BinOp("+", rate, Name(fname, 0), 0)
    for fname in outflows:
        rate = BinOp("-", rate, Name(fname, 0), 0)
    return rate


def _event(d: Draft, spec: ModelSpec, name: str) -> DraftEvent:
    ev = spec.events[name]
    hazard = parse(d, ev.hazard, ("events", name, "hazard"))
    resets = tuple(
        (stock, parse(d, text, ("events", name, "reset", stock)))
        for stock, text in ev.reset.items()
    )
    return DraftEvent(name, d.canonical(ev.dims), hazard, resets)


def parse(d: Draft, text: str, path: tuple[str, ...]) -> Node:
    """The syntax tree of one equation; errors located at ``path``."""
    tree = parse_equation(d, text, path)
    assert not isinstance(tree, dict)
    return tree


def parse_equation(d: Draft, eq: Equation, path: tuple[str, ...]) -> Tree:
    """The syntax tree of ``eq`` (a dict of trees for per-element equations)."""
    try:
        if isinstance(eq, str):
            return parse_text(eq)
        return {el: parse_text(text) for el, text in eq.items()}
    except RecursionError:
        raise d.error(ExpressionError("equation nested too deeply"), path) from None
    except SimdynError as exc:
        raise d.error(exc, path) from None
