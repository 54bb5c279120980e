"""Pass 6: the draft becomes the immutable :class:`~simdyn.model.ir.Program`.

Types every equation (unknown names, subscripts and dimensions are errors located at the model
entry), checks each value's dimensions against its target's, lays out the state (visible stocks
first) and lists the assignments of each phase in order.
"""

from __future__ import annotations

import math

from simdyn.errors import ExpressionError, SimdynError
from simdyn.expr import Node
from simdyn.model import ir
from simdyn.model.compiled import StockSlot, VarInfo
from simdyn.model.emit.numpy_expr import Emitter
from simdyn.model.passes.draft import Draft, DraftEvent, Tree, Var

__all__ = ["lower"]

_KIND: dict[str, ir.AssignKind] = {"auxiliary": "auxiliary", "flow": "flow", "init": "init"}


def lower(d: Draft) -> ir.Program:
    """The IR of ``d`` (after :func:`~simdyn.model.passes.order.order`)."""
    typer = d.typer()
    spec, vs = d.spec, d.vars
    initial: list[ir.Assign] = []
    for n in d.init_order:
        v = vs[n]
        if v.kind == "stock":
            path = (*v.owner, "initial") if not v.hidden else v.owner
            assert v.initial is not None
            initial.append(_assign(d, typer, v, v.initial, path, "initial"))
        else:
            assert v.eq is not None
            initial.append(_assign(d, typer, v, v.eq, v.owner, _KIND[v.kind]))
    slots = _layout(d)
    rates = tuple(_rate(d, typer, s) for s in slots)
    events = tuple(_event(d, typer, ev, {s.name: s for s in slots}) for ev in d.events)
    by_name = {a.target: a for a in initial if a.kind in ("auxiliary", "flow")}
    evaluate = tuple(by_name[n] for n in d.run_order)
    symbols = d.symbols()
    return ir.Program(
        spec=spec,
        dim_order=d.dim_order,
        dim_sizes=d.dim_sizes,
        elements=dict(d.elements),
        symbols=symbols,
        constants=tuple(symbols[c] for c in spec.constants),
        lookups=tuple(ir.LookupTable(lk.name, lk.xs, lk.ys) for lk in spec.lookups.values()),
        stocks=slots,
        n_state=slots[-1].stop if slots else 0,
        initial=tuple(initial),
        inits=tuple(n for n, v in vs.items() if v.kind == "init"),
        rhs=tuple(a for a in evaluate if a.target in d.needed),
        rates=rates,
        evaluate=evaluate,
        observed=(*spec.stocks, *spec.flows, *spec.auxiliaries),
        variables=_variables(d),
        events=events,
        histories=tuple(
            ir.History(out, x, vs[x].dims, d.shape(vs[x].dims)) for out, x in d.histories
        ),
        functions=tuple(sorted(typer.used_functions)),
    )


def _layout(d: Draft) -> tuple[StockSlot, ...]:
    """State rows of each stock: visible stocks first, then hidden ones, in draft order."""
    slots: list[StockSlot] = []
    row = 0
    stocks = [v for v in d.vars.values() if v.kind == "stock"]
    for v in sorted(stocks, key=lambda s: s.hidden):
        shape = d.shape(v.dims)
        size = math.prod(shape)
        slots.append(StockSlot(v.name, v.dims, shape, row, row + size, v.non_negative, v.hidden))
        row += size
    return tuple(slots)


def _assign(
    d: Draft, typer: Emitter, v: Var, eq: Tree, path: tuple[str, ...], kind: ir.AssignKind
) -> ir.Assign:
    """``v = eq``, typed and checked against ``v``'s dimensions."""
    shape = d.shape(v.dims)
    try:
        if isinstance(eq, dict):
            trees: list[Node] = []
            for el in d.elements[v.dims[0]]:
                dims = typer.emit(eq[el]).dims
                if dims:
                    raise ExpressionError(
                        f"the equation for element {el!r} has dimensions ({', '.join(dims)})",
                        hint="per-element equations give one value each",
                    )
                trees.append(eq[el])
            return ir.Assign(
                v.name, kind, v.dims, shape, None, (), tuple(trees), False, v.hidden, path
            )
        dims = typer.emit(eq).dims
    except SimdynError as exc:
        raise d.error(exc, path) from None
    if not set(dims) <= set(v.dims):
        extra = [x for x in dims if x not in v.dims]
        hint = f"add dims = {list(v.dims) + extra!r}, or reduce with SUM(...)".replace("'", '"')
        raise d.fail(
            path,
            f"the equation has dimension(s) {', '.join(extra)} that {v.name!r} does not declare",
            hint,
        )
    return ir.Assign(v.name, kind, v.dims, shape, eq, dims, (), v.uniflow, v.hidden, path)


def _rate(d: Draft, typer: Emitter, s: StockSlot) -> ir.Assign:
    v = d.vars[s.name]
    assert v.rate is not None
    try:
        dims = typer.emit(v.rate).dims
    except SimdynError as exc:
        raise d.error(exc, v.owner) from None
    if not set(dims) <= set(s.dims):
        raise d.fail(
            v.owner, f"a flow of stock {s.name!r} has dimension(s) the stock does not declare"
        )
    return ir.Assign(s.name, "rate", s.dims, s.shape, v.rate, dims, hidden=s.hidden, where=v.owner)


def _event(d: Draft, typer: Emitter, ev: DraftEvent, slots: dict[str, StockSlot]) -> ir.Event:
    shape = d.shape(ev.dims)

    def one(target: str, kind: ir.AssignKind, node: Node, path: tuple[str, ...]) -> ir.Assign:
        try:
            dims = typer.emit(node).dims
        except SimdynError as exc:
            raise d.error(exc, path) from None
        if not set(dims) <= set(ev.dims):
            raise d.fail(
                path, f"the equation has dimensions ({', '.join(dims)}) the event does not declare"
            )
        return ir.Assign(target, kind, ev.dims, shape, node, dims, where=path)

    hazard = one(ev.name, "hazard", ev.hazard, ("events", ev.name, "hazard"))
    resets = tuple(
        one(stock, "reset", node, ("events", ev.name, "reset", stock)) for stock, node in ev.resets
    )
    for r in resets:
        if r.target not in slots:  # the loader checks this; a draft built by hand may not
            raise d.fail(r.where, f"{r.target!r} is not a stock")
    return ir.Event(ev.name, ev.dims, shape, hazard, resets)


def _variables(d: Draft) -> dict[str, VarInfo]:
    spec = d.spec
    out: dict[str, VarInfo] = {}
    for table, kind in (
        (spec.stocks, "stock"),
        (spec.flows, "flow"),
        (spec.auxiliaries, "auxiliary"),
    ):
        for name, item in table.items():
            out[name] = VarInfo(name, kind, d.vars[name].dims, item.units, item.doc)
    return out
