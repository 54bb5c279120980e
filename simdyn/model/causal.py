"""The causal graph of a model, built from its equations' syntax trees, with link polarities.

An edge ``u -> z`` means that ``z``'s equation reads ``u`` (for a stock: ``u`` is one of its
flows). Its polarity is the sign of the partial derivative ``dz/du``, worked out from the syntax
tree with monotonicity rules (sums, products and quotients with operands of known sign, powers,
``EXP``/``LN``/``SQRT``, ``MIN``/``MAX``, monotone lookups, smooths and delays) and the known
signs of values (non-negative stocks and uniflows, constants with non-negative values or a
``min >= 0``, lookups with non-negative tables). Links the rules cannot decide get their sign
numerically, from the partial derivative along a run (:func:`refine_polarities`).

Smooths and delays (``SMTH1``, ``DELAY3``, …) are folded into the variable whose equation
holds them: their input links to that variable with positive polarity, and their hidden stocks
are not nodes. ``INIT(x)`` is frozen at the start, so it is no link at all.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from simdyn.expr import STATEFUL, BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp, parse, walk
from simdyn.model.spec import Equation, ModelSpec

__all__ = [
    "POLARITY_SYMBOL",
    "causal_graph",
    "equation_trees",
    "link_polarity",
    "set_numeric_polarity",
]

#: Polarity as a character: +1 ``+``, -1 ``-``, 0 ``?`` (undecided or changing along a run).
POLARITY_SYMBOL = {1: "+", -1: "-", 0: "?"}

Sign = int | None  # +1, -1, 0 (unknown); None: no dependence

_INCREASING = frozenset({"EXP", "LN", "LOG10", "SQRT", "ARCTAN", "ARCSIN", "INT"})
_NONNEG_VALUE = frozenset({"EXP", "SQRT", "ABS"})
_CMP_OPS = frozenset({"=", "<>", "<", ">", "<=", ">=", "AND", "OR"})


def _combine(a: Sign, b: Sign) -> Sign:
    if a is None:
        return b
    if b is None:
        return a
    return a if a == b else 0


def _mul(a: Sign, b: int) -> Sign:
    return None if a is None else a * b


def _neg(a: Sign) -> Sign:
    return None if a is None else -a


def equation_trees(eq: Equation) -> list[Node]:
    """The syntax trees of an equation (one per element for per-element equations)."""
    texts = [eq] if isinstance(eq, str) else list(eq.values())
    return [parse(t) for t in texts]


@dataclass
class _Signs:
    """Known signs of the model's values: +1 never negative, -1 never positive, 0 unknown."""

    spec: ModelSpec

    def __post_init__(self) -> None:
        self.memo: dict[str, int] = {}

    def of_name(self, name: str) -> int:
        if name in self.memo:
            return self.memo[name]
        self.memo[name] = 0  # a circular definition counts as unknown
        spec = self.spec
        sign = 0
        if name in spec.constants:
            c = spec.constants[name]
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            if (c.min is not None and c.min >= 0) or all(v >= 0 for v in values):
                sign = 1
            elif (c.max is not None and c.max <= 0) or all(v <= 0 for v in values):
                sign = -1
        elif name in spec.stocks:
            sign = 1 if spec.stocks[name].non_negative else 0
        elif name in spec.flows or name in spec.auxiliaries:
            var = spec.flows.get(name) or spec.auxiliaries[name]
            if name in spec.flows and spec.flows[name].non_negative:
                sign = 1
            else:
                signs = [self.of(t) for t in equation_trees(var.equation)]
                sign = signs[0] if all(s == signs[0] for s in signs) else 0
        elif name.upper() in ("TIME", "DT", "PI", "STARTTIME", "STOPTIME"):
            sign = 1
        self.memo[name] = sign
        return sign

    def of(self, node: Node) -> int:
        if isinstance(node, Num):
            return 1 if node.value >= 0 else -1
        if isinstance(node, Name | Subscript):
            return self.of_name(node.name)
        if isinstance(node, UnaryOp):
            return -self.of(node.operand) if node.op == "-" else self.of(node.operand)
        if isinstance(node, If):
            return _combine(self.of(node.then), self.of(node.otherwise)) or 0
        if isinstance(node, BinOp):
            if node.op in _CMP_OPS:
                return 1
            bounds = self.interval(node)
            if bounds is not None and (bounds[0] >= 0 or bounds[1] <= 0):
                return 1 if bounds[0] >= 0 else -1
            a, b = self.of(node.left), self.of(node.right)
            if node.op == "+":
                return a if a == b else 0
            if node.op == "-":
                return a if a == -b else 0
            if node.op in ("*", "/"):
                return a * b
            return 1 if a == 1 else 0  # a ^ b of a non-negative base
        return self._call(node)

    def interval(self, node: Node) -> tuple[float, float] | None:
        """Bounds of an expression of numbers and constants (their ``min``/``max``), if any."""
        if isinstance(node, Num):
            return (node.value, node.value)
        if isinstance(node, Name) and node.name in self.spec.constants:
            c = self.spec.constants[node.name]
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            lo = c.min if c.min is not None else (min(values) if c.min == c.max else -math.inf)
            hi = c.max if c.max is not None else math.inf
            return (min(lo, *values), max(hi, *values))
        if isinstance(node, BinOp) and node.op in ("+", "-", "*"):
            a, b = self.interval(node.left), self.interval(node.right)
            if a is None or b is None:
                return None
            if node.op == "+":
                return (a[0] + b[0], a[1] + b[1])
            if node.op == "-":
                return (a[0] - b[1], a[1] - b[0])
            with np.errstate(invalid="ignore"):
                prods = [x * y for x in a for y in b]
            if any(math.isnan(p) for p in prods):
                return None
            return (min(prods), max(prods))
        return None

    def _call(self, node: Call) -> int:
        upper = node.func.upper()
        args = [a for a in node.args if not _is_dimension(self.spec, a)]
        if node.func in self.spec.lookups:
            return _table_sign(self.spec.lookups[node.func].ys)
        if (
            upper == "LOOKUP"
            and isinstance(node.args[0], Name)
            and node.args[0].name in self.spec.lookups
        ):
            return _table_sign(self.spec.lookups[node.args[0].name].ys)
        if upper in _NONNEG_VALUE:
            return 1
        signs = [self.of(a) for a in args]
        if upper in ("MIN", "MAX", "SUM", "MEAN") and len(signs) == 1:
            return signs[0]
        if upper == "MAX":
            return 1 if 1 in signs else (-1 if all(s == -1 for s in signs) else 0)
        if upper == "MIN":
            return -1 if -1 in signs else (1 if all(s == 1 for s in signs) else 0)
        if upper in ("STEP", "PULSE", "RAMP") or upper in STATEFUL:
            return signs[0]
        if upper == "SAFEDIV":
            q = signs[0] * signs[1]
            return q if len(signs) < 3 or signs[2] == q else 0
        if upper == "IF_THEN_ELSE":
            return _combine(signs[1], signs[2]) or 0
        return 0


def _table_sign(ys: Iterable[float]) -> int:
    ys = list(ys)
    if all(y >= 0 for y in ys):
        return 1
    return -1 if all(y <= 0 for y in ys) else 0


def _monotone(ys: Iterable[float]) -> int:
    ys = list(ys)
    steps = [b - a for a, b in itertools.pairwise(ys)]
    if all(s >= 0 for s in steps):
        return 1
    return -1 if all(s <= 0 for s in steps) else 0


def _is_dimension(spec: ModelSpec, node: Node) -> bool:
    return isinstance(node, Name) and node.name in spec.dimensions


def link_polarity(spec: ModelSpec, node: Node, var: str, signs: _Signs | None = None) -> Sign:
    """Sign of the partial derivative of ``node`` with respect to ``var``.

    Returns +1 or -1 where the structure decides it, 0 where it does not, ``None`` where
    ``node`` does not depend on ``var`` during a run.

    Examples
    --------
    >>> from simdyn import load_model
    >>> spec = load_model("teacup").spec
    >>> tree = parse("(teacup_temperature - room_temperature) / characteristic_time")
    >>> link_polarity(spec, tree, "teacup_temperature"), link_polarity(spec, tree, "room_temperature")
    (1, -1)
    """
    return _Polarity(spec, var, signs or _Signs(spec)).of(node)


@dataclass
class _Polarity:
    spec: ModelSpec
    var: str
    signs: _Signs

    def of(self, node: Node) -> Sign:
        if isinstance(node, Num):
            return None
        if isinstance(node, Name | Subscript):
            return 1 if node.name == self.var else None
        if isinstance(node, UnaryOp):
            inner = self.of(node.operand)
            if node.op == "NOT":
                return None if inner is None else 0
            return _neg(inner) if node.op == "-" else inner
        if isinstance(node, If):
            return self._choice(node.cond, node.then, node.otherwise)
        if isinstance(node, BinOp):
            return self._binop(node)
        return self._call(node)

    def _choice(self, cond: Node, then: Node, otherwise: Node) -> Sign:
        branches = _combine(self.of(then), self.of(otherwise))
        return branches if self.of(cond) is None else 0

    def _binop(self, node: BinOp) -> Sign:
        pa, pb = self.of(node.left), self.of(node.right)
        if node.op in _CMP_OPS:
            return None if pa is None and pb is None else 0
        if node.op == "+":
            return _combine(pa, pb)
        if node.op == "-":
            return _combine(pa, _neg(pb))
        sa, sb = self.signs.of(node.left), self.signs.of(node.right)
        if node.op == "*":
            return _combine(_mul(pa, sb), _mul(pb, sa))
        if node.op == "/":
            return _combine(_mul(pa, sb), _mul(_neg(pb), sa))
        # a ^ b: monotone in a non-negative base for an exponent of known sign
        if pb is not None:
            return 0
        if pa is None:
            return None
        return _mul(pa, sb) if sa == 1 else 0

    def _call(self, node: Call) -> Sign:
        upper = node.func.upper()
        spec = self.spec
        if upper == "INIT":
            return None  # frozen at the start: no link during a run
        if node.func in spec.lookups:
            return _mul(self.of(node.args[0]), _monotone(spec.lookups[node.func].ys))
        if upper == "LOOKUP":
            table = node.args[0]
            mono = (
                _monotone(spec.lookups[table.name].ys)
                if isinstance(table, Name) and table.name in spec.lookups
                else 0
            )
            return _mul(self.of(node.args[1]), mono)
        args = [a for a in node.args if not _is_dimension(spec, a)]
        pols = [self.of(a) for a in args]
        if upper in STATEFUL:  # smooths and delays follow their input; tau shifts them
            return _combine(pols[0], None if pols[1] is None else 0)
        if all(p is None for p in pols):
            return None
        if upper in _INCREASING:
            return pols[0]
        if upper == "ARCCOS":
            return _neg(pols[0])
        if upper == "ABS":
            return _mul(pols[0], self.signs.of(args[0]))
        if upper in ("MIN", "MAX", "SUM", "MEAN"):
            out: Sign = None
            for p in pols:
                out = _combine(out, p)
            return out
        if upper == "SAFEDIV":
            quotient = self._binop(BinOp("/", args[0], args[1], node.col))
            return _combine(quotient, pols[2]) if len(pols) > 2 else quotient
        if upper == "IF_THEN_ELSE":
            return self._choice(*args)
        if upper in ("STEP", "PULSE", "RAMP"):
            # height, magnitude and slope scale a non-negative switch; the times shift it
            rest = [p for p in pols[1:] if p is not None]
            return _combine(pols[0], 0 if rest else None)
        return 0  # other math and extension functions: no monotonicity rule


def _refs(trees: Iterable[Node]) -> set[str]:
    return {n.name for t in trees for n in walk(t) if isinstance(n, Name | Subscript)}


def causal_graph(spec: ModelSpec, *, constants: bool = False) -> nx.DiGraph[str]:
    """The model's causal graph with structural link polarities.

    Nodes carry ``kind`` (``stock``, ``flow``, ``auxiliary``, ``constant``), ``units`` and
    ``dims``; edges carry ``polarity`` (+1, -1 or 0 when undecided) and ``polarity_source``
    (``"structural"``, or ``"undecided"`` until :func:`refine_polarities` sets it).

    Examples
    --------
    >>> from simdyn import load_model
    >>> g = causal_graph(load_model("sir").spec)
    >>> sorted((u, v, d["polarity"]) for u, v, d in g.edges(data=True))[:3]
    [('infected', 'infection', 1), ('infected', 'recovery', 1), ('infection', 'infected', 1)]
    """
    g: nx.DiGraph[str] = nx.DiGraph()
    signs = _Signs(spec)
    tables: list[tuple[str, Mapping[str, Any]]] = [
        ("stock", spec.stocks),
        ("flow", spec.flows),
        ("auxiliary", spec.auxiliaries),
    ]
    if constants:
        tables.insert(0, ("constant", spec.constants))
    for kind, table in tables:
        for name, v in table.items():
            g.add_node(name, kind=kind, units=v.units, dims=tuple(v.dims))
    for name, s in spec.stocks.items():
        for f, sign in [*((f, 1) for f in s.inflows), *((f, -1) for f in s.outflows)]:
            g.add_edge(f, name, polarity=sign, polarity_source="structural")
    equations: dict[str, Equation] = {n: f.equation for n, f in spec.flows.items()}
    equations.update({n: a.equation for n, a in spec.auxiliaries.items()})
    for name, eq in equations.items():
        trees = equation_trees(eq)
        for ref in sorted(_refs(trees)):
            if ref not in g or ref == name:
                continue
            pol: Sign = None
            for t in trees:
                pol = _combine(pol, link_polarity(spec, t, ref, signs))
            if pol is None:
                continue
            g.add_edge(
                ref,
                name,
                polarity=pol,
                polarity_source="structural" if pol != 0 else "undecided",
            )
    return g


def set_numeric_polarity(g: nx.DiGraph[str], signs: Mapping[tuple[str, str], int]) -> None:
    """Give undecided links the sign of their partial derivative measured along a run.

    ``signs`` maps an edge to +1 or -1 (the same sign wherever it was measured) or 0 (both
    signs occur, or the derivative was zero throughout).
    """
    for (u, v), s in signs.items():
        d = g.edges[u, v]
        if d["polarity_source"] == "undecided":
            d["polarity"] = s
            d["polarity_source"] = "numeric" if s != 0 else "undecided"
