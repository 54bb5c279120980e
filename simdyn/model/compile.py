"""Compile a :class:`~simdyn.model.spec.ModelSpec` into one batched right-hand side.

Steps: parse every equation; lower smooths, delays and ``INIT`` to hidden stocks and
auxiliaries; work out every value's dimensions; order auxiliaries by dependency (an algebraic
loop is an error that names it); generate one Python module of straight-line numpy code (no
per-variable dispatch in the hot loop) and bind it to parameter arrays when a run starts.

The generated source comes only from the syntax tree: names are validated identifiers with a
prefix, numbers are re-printed with ``repr(float)`` and elements become integer indices, so no
text from a model file reaches Python's compiler.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from simdyn._limits import MAX_DELAY_ORDER
from simdyn._types import FloatArray, IntArray
from simdyn.errors import ExpressionError, ModelError, SimdynError
from simdyn.expr import STATEFUL, BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp, parse, walk
from simdyn.model import runtime
from simdyn.model.codegen import Code, Emitter, Symbol
from simdyn.model.functions import FUNCTIONS, BindContext
from simdyn.model.loader import NODE_DIM
from simdyn.model.spec import Equation, ModelSpec

__all__ = ["Bound", "CompiledModel", "VarInfo", "compile_model"]

Rhs = Callable[[float, float, FloatArray], FloatArray]
Observe = Callable[[float, float, FloatArray], tuple[Any, ...]]


@dataclass(frozen=True)
class VarInfo:
    """A variable a run can save."""

    name: str
    kind: str  # "stock", "flow", "auxiliary"
    dims: tuple[str, ...]
    units: str = ""
    doc: str = ""


@dataclass(frozen=True)
class StockSlot:
    """Rows ``start:stop`` of the state array hold stock ``name`` (``shape`` without scenarios)."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    start: int
    stop: int
    non_negative: bool
    hidden: bool


@dataclass(frozen=True)
class EventSlot:
    """A compiled event: the stocks it resets, in the order ``Bound.events`` returns values."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    resets: tuple[StockSlot, ...]


@dataclass
class Bound:
    """A compiled model bound to parameter arrays for one chunk of scenarios.

    ``events(t, ts, y)`` returns, per event, ``(hazard, reset_values)`` evaluated at state ``y``
    (``None`` when the model has no events). ``record(t, ts, y)`` stores the inputs of fixed
    delays after an accepted step (``None`` when the model has no ``DELAY``).
    """

    y0: FloatArray
    rhs: Rhs
    observe: Observe
    events: Callable[[float, float, FloatArray], tuple[Any, ...]] | None = None
    record: Callable[[float, float, FloatArray], None] | None = None


@dataclass
class _Var:
    name: str
    kind: str  # "stock", "flow", "auxiliary", "init"
    dims: tuple[str, ...]
    eq: Node | dict[str, Node] | None  # auxiliaries and flows; INIT arguments
    initial: Node | dict[str, Node] | None = None  # stocks
    rate: Node | None = None  # stocks
    hidden: bool = False
    infer_dims: bool = False
    non_negative: bool = False
    uniflow: bool = False
    owner: tuple[str, ...] = ()  # key path of the equation this came from (for errors)
    deps: tuple[str, ...] = ()  # hidden stocks: the hidden auxiliaries their dims follow


@dataclass
class CompiledModel:
    """A model ready to run: state layout, parameter table, generated code."""

    spec: ModelSpec
    dim_order: tuple[str, ...]
    dim_sizes: dict[str, int]
    elements: dict[str, tuple[Any, ...]]
    stocks: list[StockSlot]
    n_state: int
    variables: dict[str, VarInfo]
    observed: tuple[str, ...]
    source: str
    functions: tuple[str, ...]
    nonneg_rows: IntArray
    events: tuple[EventSlot, ...]
    has_history: bool
    _bind: Callable[..., Any] = field(repr=False)

    def row_owner(self, row: int) -> str:
        """Name of the stock (or hidden stock) stored in state row ``row``."""
        for s in self.stocks:
            if s.start <= row < s.stop:
                return s.name
        raise IndexError(row)

    def bind(
        self,
        params: Mapping[str, FloatArray],
        n_scenarios: int,
        *,
        dt: float,
        start: float,
        stop: float,
        ctx: BindContext | None = None,
    ) -> Bound:
        """Bind parameter arrays (laid out ``(*dims, 1 or n_scenarios)``) and initialise."""
        ctx = ctx or BindContext(n_scenarios=n_scenarios, dim_sizes=self.dim_sizes)
        funcs = {name: FUNCTIONS[name].factory(ctx) for name in self.functions}
        init, make = self._bind(params, funcs, n_scenarios, dt, start, stop)
        y0, consts = init()
        rhs, observe, events, record = make(consts)
        return Bound(y0=y0, rhs=rhs, observe=observe, events=events, record=record)


# -- parsing and lowering ---------------------------------------------------------------------


class _Builder:
    def __init__(self, spec: ModelSpec, nodelist: Sequence[Any] | None) -> None:
        self.spec = spec
        self.vars: dict[str, _Var] = {}
        self.counter = itertools.count(1)
        self.histories: list[tuple[str, str]] = []  # (DELAY output, its recorded input)
        uses_node = any(
            NODE_DIM in v.dims
            for table in (spec.constants, spec.stocks, spec.flows, spec.auxiliaries)
            for v in table.values()
        )
        self.elements: dict[str, tuple[Any, ...]] = dict(spec.dimensions)
        if uses_node:
            if nodelist is None:
                raise ModelError(
                    "the model has variables over the 'node' dimension",
                    file=spec.source,
                    hint="run it with a network (network=...)",
                )
            self.elements[NODE_DIM] = tuple(nodelist)
            self.dim_order: tuple[str, ...] = (NODE_DIM, *spec.dimensions)
        else:
            self.dim_order = tuple(spec.dimensions)
        self.dim_sizes = {d: len(e) for d, e in self.elements.items()}

    def error(self, exc: SimdynError, path: tuple[str, ...]) -> SimdynError:
        return exc.located(
            file=self.spec.source, line=self.spec.line_of(*path), where=".".join(path)
        )

    def parse_eq(self, eq: Equation, path: tuple[str, ...], owner: str) -> Node | dict[str, Node]:
        try:
            if isinstance(eq, str):
                return self.lower_all(parse(eq), path, owner)
            return {el: self.lower_all(parse(text), (*path, el), owner) for el, text in eq.items()}
        except RecursionError:
            raise self.error(ExpressionError("equation nested too deeply"), path) from None
        except SimdynError as exc:
            raise self.error(exc, path) from None

    def lower_all(self, node: Node, path: tuple[str, ...], owner: str) -> Node:
        """:meth:`lower`, skipped (no recursion) for equations without smooths or delays."""
        if any(isinstance(n, Call) and n.func.upper() in STATEFUL for n in walk(node)):
            return self.lower(node, path, owner)
        return node

    # Smooths, delays and INIT become hidden variables; the call is replaced by a Name.
    def lower(self, node: Node, path: tuple[str, ...], owner: str) -> Node:
        if isinstance(node, Call):
            args = tuple(self.lower(a, path, owner) for a in node.args)
            upper = node.func.upper()
            if upper in STATEFUL:
                return self.stateful(upper, args, node.col, path, owner)
            return Call(node.func, args, node.col)
        if isinstance(node, BinOp):
            return BinOp(
                node.op,
                self.lower(node.left, path, owner),
                self.lower(node.right, path, owner),
                node.col,
            )
        if isinstance(node, UnaryOp):
            return UnaryOp(node.op, self.lower(node.operand, path, owner), node.col)
        if isinstance(node, If):
            return If(
                self.lower(node.cond, path, owner),
                self.lower(node.then, path, owner),
                self.lower(node.otherwise, path, owner),
                node.col,
            )
        return node

    def hidden_aux(self, name: str, eq: Node, path: tuple[str, ...]) -> Name:
        self.vars[name] = _Var(name, "auxiliary", (), eq, hidden=True, infer_dims=True, owner=path)
        return Name(name, 0)

    def hidden_stock(
        self, name: str, initial: Node, rate: Node, deps: tuple[str, ...], path: tuple[str, ...]
    ) -> Name:
        self.vars[name] = _Var(
            name,
            "stock",
            (),
            None,
            initial=initial,
            rate=rate,
            hidden=True,
            infer_dims=True,
            owner=path,
            deps=deps,
        )
        return Name(name, 0)

    def stateful(
        self, upper: str, args: tuple[Node, ...], col: int, path: tuple[str, ...], owner: str
    ) -> Node:
        from simdyn.expr import BUILTINS

        b = BUILTINS[upper]
        if not b.min_args <= len(args) <= b.max_args:
            want = str(b.min_args) if b.min_args == b.max_args else f"{b.min_args} to {b.max_args}"
            raise self.error(
                ExpressionError(f"{upper} takes {want} argument(s), {len(args)} given", column=col),
                path,
            )
        k = next(self.counter)
        base = f"_{upper.lower()}{k}_{owner}"
        if upper == "INIT":
            self.vars[base] = _Var(
                base, "init", (), args[0], hidden=True, infer_dims=True, owner=path
            )
            return Name(base, col)
        x = self.hidden_aux(f"{base}_in", args[0], path)
        tau = self.hidden_aux(f"{base}_tau", args[1], path)
        if upper == "DELAY":
            # a fixed pipeline: the input tau ago, read from a history the driver records
            if len(args) > 2:
                init_node: Node = self.hidden_aux(f"{base}_init", args[2], path)
            else:  # the input's value at the start, as in XMILE
                self.vars[f"{base}_init"] = _Var(
                    f"{base}_init", "init", (), args[0], hidden=True, infer_dims=True, owner=path
                )
                init_node = Name(f"{base}_init", col)
            self.histories.append((base, x.name))
            call = Call(f"$history:{base}", (tau, init_node), col)
            return self.hidden_aux(base, call, path)
        if upper == "DELAYN":
            n_node = args[2]
            if not isinstance(n_node, Num) or n_node.value != int(n_node.value) or n_node.value < 1:
                raise self.error(
                    ExpressionError("the order n of DELAYN must be a whole number ≥ 1", column=col),
                    path,
                )
            order = int(n_node.value)
            if order > MAX_DELAY_ORDER:
                raise self.error(
                    ExpressionError(
                        f"DELAYN of order {order:,} is too high (at most {MAX_DELAY_ORDER:,})",
                        column=col,
                        hint="each order is one hidden stock; orders above ~10 add little",
                    ),
                    path,
                )
            init_arg = args[3] if len(args) > 3 else None
        else:
            order = 3 if upper in ("SMTH3", "DELAY3") else 1
            init_arg = args[2] if len(args) > 2 else None
        init = self.hidden_aux(f"{base}_init", init_arg, path) if init_arg is not None else x
        deps = tuple(n.name for n in (x, tau, init))
        stage_time: Node = tau
        if order > 1:
            stage_time = self.hidden_aux(
                f"{base}_st", BinOp("/", tau, Num(float(order), 0), 0), path
            )
        if upper.startswith("SMTH"):
            prev: Node = x
            for i in range(1, order + 1):
                s = Name(f"{base}_{i}", 0)
                rate = BinOp("/", BinOp("-", prev, s, 0), stage_time, 0)
                prev = self.hidden_stock(s.name, init, rate, deps, path)
            return Name(prev.name, col) if isinstance(prev, Name) else prev
        # material delays: each stage holds content, drains at content / stage time
        inflow: Node = x
        out: Name = x
        for i in range(1, order + 1):
            s = Name(f"{base}_{i}", 0)
            out = self.hidden_aux(f"{base}_out{i}", BinOp("/", s, stage_time, 0), path)
            self.hidden_stock(
                s.name, BinOp("*", init, stage_time, 0), BinOp("-", inflow, out, 0), deps, path
            )
            inflow = out
        return Name(out.name, col)

    # -- building the variable table --------------------------------------------------------
    def build(self) -> None:
        spec = self.spec
        for s in spec.stocks.values():
            path = ("stocks", s.name, "initial")
            rate: Node = Num(0.0, 0)
            for fname in s.inflows:
                rate = (
                    Name(fname, 0) if rate == Num(0.0, 0) else BinOp("+", rate, Name(fname, 0), 0)
                )
            for fname in s.outflows:
                rate = BinOp("-", rate, Name(fname, 0), 0)
            self.vars[s.name] = _Var(
                s.name,
                "stock",
                s.dims,
                None,
                initial=self.parse_eq(s.initial, path, s.name),
                rate=rate,
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
            self.vars[f.name] = _Var(
                f.name,
                "flow",
                f.dims,
                self.parse_eq(f.equation, path, f.name),
                uniflow=f.non_negative,
                owner=path,
            )
        for a in spec.auxiliaries.values():
            path = ("auxiliaries", a.name, "equation")
            self.vars[a.name] = _Var(
                a.name, "auxiliary", a.dims, self.parse_eq(a.equation, path, a.name), owner=path
            )
        for name, v in self.vars.items():
            if not v.hidden:
                v.dims = self.canonical(v.dims)
                self.vars[name] = v
        for s in spec.stocks.values():
            if s.non_negative and s.outflows:
                self.limit_outflows(s.name, s.outflows)

    def limit_outflows(self, stock: str, outflows: tuple[str, ...]) -> None:
        """Scale a non-negative stock's outflows so they never take more than it holds in a DT.

        Each outflow ``f`` becomes ``_raw_f * _outflow_scale_<stock>`` with
        ``scale = MIN(1, SAFEDIV(MAX(stock, 0), DT * MAX(sum of raw outflows, 0), 1))``, so the
        stock that receives ``f`` gets exactly what the draining stock loses (XMILE's
        non-negative stocks limit the outflows, not the net rate).
        """
        s = self.vars[stock]
        path = ("stocks", stock, "outflows")
        scale = f"_outflow_scale_{stock}"
        total: Node | None = None
        for f in outflows:
            v = self.vars[f]
            if v.dims != s.dims:
                raise ModelError(
                    f"outflow {f!r} of the non-negative stock {stock!r} must have the stock's "
                    f"dimensions ({', '.join(s.dims) or 'none'})",
                    file=self.spec.source,
                    line=self.spec.line_of(*path),
                    where=".".join(path),
                )
            if (
                isinstance(v.eq, BinOp)
                and isinstance(v.eq.right, Name)
                and v.eq.right.name.startswith("_outflow_scale_")
            ):
                raise ModelError(
                    f"flow {f!r} drains two non-negative stocks",
                    file=self.spec.source,
                    line=self.spec.line_of(*path),
                    where=".".join(path),
                    hint="a flow can be the outflow of one stock only",
                )
            raw = f"_raw_{f}"
            assert v.eq is not None
            self.vars[raw] = _Var(
                raw, "auxiliary", v.dims, v.eq, hidden=True, uniflow=v.uniflow, owner=v.owner
            )
            v.eq = BinOp("*", Name(raw, 0), Name(scale, 0), 0)
            v.uniflow = False
            total = Name(raw, 0) if total is None else BinOp("+", total, Name(raw, 0), 0)
        assert total is not None
        zero, one = Num(0.0, 0), Num(1.0, 0)
        content = Call("MAX", (Name(stock, 0), zero), 0)
        capacity = BinOp("*", Name("DT", 0), Call("MAX", (total, zero), 0), 0)
        eq = Call("MIN", (one, Call("SAFEDIV", (content, capacity, one), 0)), 0)
        self.vars[scale] = _Var(scale, "auxiliary", s.dims, eq, hidden=True, owner=path)

    def canonical(self, dims: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d for d in self.dim_order if d in dims)

    def symbols(self) -> dict[str, Symbol]:
        syms: dict[str, Symbol] = {}
        for c in self.spec.constants.values():
            syms[c.name] = Symbol(f"p_{c.name}", self.canonical(c.dims), "constant")
        for lk in self.spec.lookups.values():
            syms[lk.name] = Symbol(f"L_{lk.name}", (), "lookup")
        for v in self.vars.values():
            code = f"c_{v.name}" if v.kind == "init" else f"v_{v.name}"
            syms[v.name] = Symbol(code, v.dims, v.kind)
        return syms

    def emitter(self) -> Emitter:
        lookups = {n: (f"L_{n}_x", f"L_{n}_y") for n in self.spec.lookups}
        histories = {out: self.vars[x].dims for out, x in self.histories}
        return Emitter(self.dim_order, self.elements, self.symbols(), lookups, histories)

    def infer_hidden_dims(self) -> None:
        for _ in range(len(self.vars) + 2):
            changed = False
            em = self.emitter()
            for v in self.vars.values():
                if not v.infer_dims:
                    continue
                if v.kind == "stock":
                    new = em.union(*(self.vars[d].dims for d in v.deps))
                else:
                    assert v.eq is not None
                    assert not isinstance(v.eq, dict)
                    try:
                        new = em.emit(v.eq).dims
                    except SimdynError as exc:
                        raise self.error(exc, v.owner) from None
                if new != v.dims:
                    v.dims = new
                    changed = True
            if not changed:
                return
        raise AssertionError("dimension inference did not settle")  # pragma: no cover


def _refs(node: Node | dict[str, Node] | None) -> set[str]:
    if node is None:
        return set()
    nodes = list(node.values()) if isinstance(node, dict) else [node]
    out: set[str] = set()
    for n in nodes:
        for sub in walk(n):
            if isinstance(sub, Name | Subscript):
                out.add(sub.name)
            elif isinstance(sub, Call):
                out.add(sub.func)
    return out


def _order(
    vars_: Mapping[str, _Var],
    names: list[str],
    edges_of: Callable[[_Var], set[str]],
    what: str,
    spec: ModelSpec,
) -> list[str]:
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(names)
    for n in names:
        for r in edges_of(vars_[n]):
            if r in g and r != n:
                g.add_edge(r, n)
            elif r == n:
                g.add_edge(n, n)
    try:
        return list(nx.lexicographical_topological_sort(g, key=names.index))
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


def compile_model(spec: ModelSpec, *, nodelist: Sequence[Any] | None = None) -> CompiledModel:
    """Compile ``spec``; ``nodelist`` gives the elements of the ``node`` dimension, if used."""
    b = _Builder(spec, nodelist)
    b.build()
    b.infer_hidden_dims()
    em = b.emitter()
    vars_ = b.vars
    dim_sizes = b.dim_sizes

    # check references and dimensions, and generate one assignment per variable
    def shape_src(dims: tuple[str, ...], s: str) -> str:
        return "(" + ", ".join([*(str(dim_sizes[d]) for d in dims), s]) + ",)"

    def assign(v: _Var, eq: Node | dict[str, Node], path: tuple[str, ...]) -> list[str]:
        target = f"c_{v.name}" if v.kind == "init" else f"v_{v.name}"
        try:
            if isinstance(eq, dict):
                lines = [f"{target} = np.empty({shape_src(v.dims, '_S')})"]
                for i, el in enumerate(b.elements[v.dims[0]]):
                    c = em.emit(eq[el])
                    if c.dims:
                        raise ExpressionError(
                            f"the equation for element {el!r} has dimensions ({', '.join(c.dims)})",
                            hint="per-element equations give one value each",
                        )
                    lines.append(f"{target}[{i}] = {c.text}")
                return lines
            c = em.emit(eq)
        except SimdynError as exc:
            raise b.error(exc, path) from None
        if not set(c.dims) <= set(v.dims):
            extra = [d for d in c.dims if d not in v.dims]
            raise ModelError(
                f"the equation has dimension(s) {', '.join(extra)} that {v.name!r} does not declare",
                file=spec.source,
                line=spec.line_of(*path),
                where=".".join(path),
                hint=f"add dims = {list(v.dims) + extra!r}, or reduce with SUM(...)".replace(
                    "'", '"'
                ),
            )
        text = c.text
        if v.uniflow:
            text = f"np.maximum({text}, 0.0)"
        if c.dims != v.dims:
            text = f"np.broadcast_to({em.align(Code(text, c.dims), v.dims)}, {shape_src(v.dims, '_S')})"
        return [f"{target} = {text}"]

    stocks = [n for n, v in vars_.items() if v.kind == "stock"]
    auxes = [n for n, v in vars_.items() if v.kind in ("auxiliary", "flow")]
    inits = [n for n, v in vars_.items() if v.kind == "init"]

    # run order: auxiliaries and flows by dependency (stocks and constants are known)
    run_order = _order(vars_, auxes, lambda v: _refs(v.eq), "algebraic loop", spec)

    # initialisation order: stocks (their initial equations), auxiliaries, INIT values
    def init_edges(v: _Var) -> set[str]:
        return _refs(v.initial) if v.kind == "stock" else _refs(v.eq)

    init_order = _order(vars_, stocks + auxes + inits, init_edges, "circular initial values", spec)

    # what the right-hand side needs: auxiliaries reachable from the stocks' rates
    needed: set[str] = set()
    frontier = set().union(*(_refs(vars_[s].rate) for s in stocks)) if stocks else set()
    while frontier:
        n = frontier.pop()
        if n in needed or n not in vars_ or vars_[n].kind not in ("auxiliary", "flow"):
            continue
        needed.add(n)
        frontier |= _refs(vars_[n].eq)

    # state layout
    slots: list[StockSlot] = []
    row = 0
    for n in sorted(stocks, key=lambda s: vars_[s].hidden):
        v = vars_[n]
        shape = tuple(dim_sizes[d] for d in v.dims)
        size = int(np.prod(shape)) if shape else 1
        slots.append(StockSlot(n, v.dims, shape, row, row + size, v.non_negative, v.hidden))
        row += size
    n_state = row

    # stock rates: flows must not have dimensions the stock lacks
    rate_lines: list[str] = []
    for s in slots:
        v = vars_[s.name]
        assert v.rate is not None
        try:
            c = em.emit(v.rate)
        except SimdynError as exc:
            raise b.error(exc, v.owner) from None
        if not set(c.dims) <= set(s.dims):
            raise ModelError(
                f"a flow of stock {s.name!r} has dimension(s) the stock does not declare",
                file=spec.source,
                line=spec.line_of(*v.owner),
                where=".".join(v.owner),
            )
        text = em.align(c, s.dims) if c.dims else c.text
        rate_lines.append(f"{_rows(s)} = {text}")

    def stock_views() -> list[str]:
        return [f"v_{s.name} = {_view(s)}" for s in slots]

    # events: a hazard and reset values per event, evaluated after each step
    event_slots: list[EventSlot] = []
    event_returns: list[str] = []
    slot_of = {s.name: s for s in slots}
    for ev in spec.events.values():
        edims = b.canonical(ev.dims)
        texts: list[str] = []
        for key, text in (("hazard", ev.hazard), *((f"reset.{k}", e) for k, e in ev.reset.items())):
            path = ("events", ev.name, *key.split("."))
            node = b.parse_eq(text, path, ev.name)
            assert not isinstance(node, dict)
            try:
                c = em.emit(node)
            except SimdynError as exc:
                raise b.error(exc, path) from None
            if not set(c.dims) <= set(edims):
                raise ModelError(
                    f"the equation has dimensions ({', '.join(c.dims)}) the event does not declare",
                    file=spec.source,
                    line=spec.line_of(*path),
                    where=".".join(path),
                )
            texts.append(em.align(c, edims) if c.dims else c.text)
        event_returns.append(f"({texts[0]}, ({''.join(t + ', ' for t in texts[1:])}))")
        event_slots.append(
            EventSlot(
                ev.name,
                edims,
                tuple(dim_sizes[d] for d in edims),
                tuple(slot_of[k] for k in ev.reset),
            )
        )

    visible = [*spec.stocks, *spec.flows, *spec.auxiliaries]
    histories = b.histories
    body: list[str] = [
        "def bind(P, F, S, _DT, _START, _STOP):",
        *(f"    p_{c} = P[{c!r}]" for c in spec.constants),
        *(f"    H_{out} = _rt.History({shape_src(vars_[x].dims, 'S')})" for out, x in histories),
        "    def init():",
        "        t = _START",
        "        ts = _START",
        "        _S = S",
    ]
    for n in init_order:
        v = vars_[n]
        eq = v.initial if v.kind == "stock" else v.eq
        assert eq is not None
        path = (*v.owner, "initial") if v.kind == "stock" and not v.hidden else v.owner
        body += ["        " + line for line in assign(v, eq, path)]
    body += [f"        H_{out}.record(_START, v_{x})" for out, x in histories]
    body.append(f"        y = np.empty(({n_state}, S))")
    body += [f"        {_rows(s)} = v_{s.name}" for s in slots]
    body.append(f"        return y, ({''.join(f'c_{n}, ' for n in inits)})")
    body += [
        "    def make(C):",
        f"        ({''.join(f'c_{n}, ' for n in inits)}) = C",
        "        def rhs(t, ts, y):",
        "            _S = y.shape[-1]",
    ]
    body += ["            " + line for line in stock_views()]
    for n in run_order:
        if n in needed:
            v = vars_[n]
            assert v.eq is not None
            body += ["            " + line for line in assign(v, v.eq, v.owner)]
    body.append("            out = np.empty_like(y)")
    body += ["            " + line.replace("y[", "out[", 1) for line in rate_lines]
    body.append("            return out")
    # observe, events and record evaluate the state in full: stock views and every auxiliary
    evaluate_all = ["            _S = y.shape[-1]"]
    evaluate_all += ["            " + line for line in stock_views()]
    for n in run_order:
        v = vars_[n]
        assert v.eq is not None
        evaluate_all += ["            " + line for line in assign(v, v.eq, v.owner)]
    body += ["        def observe(t, ts, y):", *evaluate_all]
    body.append(f"            return ({''.join(f'v_{n}, ' for n in visible)})")
    if event_returns:
        body += ["        def events(t, ts, y):", *evaluate_all]
        body.append(f"            return ({''.join(r + ', ' for r in event_returns)})")
    else:
        body.append("        events = None")
    if histories:
        body += ["        def record(t, ts, y):", *evaluate_all]
        body += [f"            H_{out}.record(t, v_{x})" for out, x in histories]
    else:
        body.append("        record = None")
    body += ["        return rhs, observe, events, record", "    return init, make", ""]
    body[1:1] = [f"    f_{f} = F[{f!r}]" for f in sorted(em.used_functions)]
    source = "\n".join(body)

    namespace: dict[str, Any] = {"np": np, "_rt": runtime}
    for lk in spec.lookups.values():
        namespace[f"L_{lk.name}_x"] = np.asarray(lk.xs, dtype=float)
        namespace[f"L_{lk.name}_y"] = np.asarray(lk.ys, dtype=float)
    try:
        code = compile(source, f"<simdyn model {spec.name}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise ModelError(
            f"the model's equations are too complex to compile ({type(exc).__name__}: {exc.msg if isinstance(exc, SyntaxError) else exc})",
            file=spec.source,
            hint="split long or deeply nested equations into several auxiliaries",
        ) from None
    exec(code, namespace)
    bind = namespace["bind"]

    variables: dict[str, VarInfo] = {}
    for table, kind in (
        (spec.stocks, "stock"),
        (spec.flows, "flow"),
        (spec.auxiliaries, "auxiliary"),
    ):
        for name, item in table.items():
            variables[name] = VarInfo(name, kind, vars_[name].dims, item.units, item.doc)
    nonneg = [r for s in slots if s.non_negative for r in range(s.start, s.stop)]
    return CompiledModel(
        spec=spec,
        dim_order=b.dim_order,
        dim_sizes=dim_sizes,
        elements=b.elements,
        stocks=slots,
        n_state=n_state,
        variables=variables,
        observed=tuple(visible),
        source=source,
        functions=tuple(sorted(em.used_functions)),
        nonneg_rows=np.asarray(nonneg, dtype=np.int64),
        events=tuple(event_slots),
        has_history=bool(histories),
        _bind=bind,
    )


def _rows(s: StockSlot) -> str:
    if not s.dims:
        return f"y[{s.start}]"
    return f"y[{s.start}:{s.stop}].reshape({', '.join(map(str, s.shape))}, -1)[...]"


def _view(s: StockSlot) -> str:
    if not s.dims:
        return f"y[{s.start}]"
    return f"y[{s.start}:{s.stop}].reshape({', '.join(map(str, s.shape))}, -1)"
