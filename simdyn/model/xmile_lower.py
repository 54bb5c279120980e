"""XMILE builtins and names mapped onto simdyn's equation language.

:func:`lower` takes a tree from :func:`simdyn.model.xmile_expr.parse_xmile` (names as written
in the file) and returns a tree in simdyn's vocabulary: variables renamed to their simdyn
identifiers, subscripts to element identifiers, and XMILE builtins rewritten where simdyn's
differ — Stella's one-argument ``PULSE``, ``SMTHN`` (a cascade of ``SMTH1``), ``TREND`` and
``FORCST`` (from ``SMTH1``), ``PREVIOUS`` (a ``DELAY`` of one ``DT``), graphical functions with
``extrapolate`` or ``discrete`` readings, ``XIDZ``/``ZIDZ``, ``SIZE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from simdyn.errors import ExpressionError
from simdyn.expr import BUILTINS, BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp
from simdyn.model.functions import FUNCTIONS
from simdyn.model.xmile_expr import canonical

__all__ = ["Scope", "Table", "VarRef", "apply_table", "lower"]

#: XMILE names that are simdyn builtins of the same meaning and arguments.
_SAME = frozenset(
    {
        "ABS", "EXP", "LN", "LOG10", "SQRT", "SIN", "COS", "TAN", "ARCSIN", "ARCCOS", "ARCTAN",
        "INT", "MOD", "MIN", "MAX", "SUM", "MEAN", "STEP", "RAMP", "INIT", "SMTH1", "SMTH3",
        "DELAY1", "DELAY3", "DELAYN", "DELAY", "SAFEDIV", "IF_THEN_ELSE",
    }
)  # fmt: skip
_VALUES = {"TIME": "TIME", "DT": "DT", "STARTTIME": "STARTTIME", "STOPTIME": "STOPTIME"}
_VALUES |= {"PI": "PI", "INITIAL_TIME": "STARTTIME", "FINAL_TIME": "STOPTIME"}
_UNSUPPORTED = {
    "HISTORY": "HISTORY needs the whole past of a variable",
    "RANK": "RANK is not supported",
    "STDDEV": "STDDEV of an array is not supported",
    "MONTECARLO": "MONTECARLO is not supported",
    "SELF": "SELF is not supported",
    "DELAYMTR": "DELAYMTR is not supported",
    "NPV": "NPV is not supported",
    "IRR": "IRR is not supported",
    "COUNTER": "COUNTER is not supported",
    "CYCLETIME": "CYCLETIME is not supported",
    "LOOKUPINV": "LOOKUPINV (inverse lookup) is not supported",
}
_MAX_SMTHN = 12


@dataclass(frozen=True)
class Table:
    """A graphical function as simdyn sees it: a lookup and how to read it beyond the points."""

    ident: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    kind: str = "continuous"


@dataclass(frozen=True)
class VarRef:
    """A resolved variable: its identifier, dimensions and (if it has one) graphical function."""

    ident: str
    dims: tuple[str, ...] = ()
    table: Table | None = None


@dataclass
class Scope:
    """What names mean where an equation is read.

    ``variable`` and ``table`` resolve a name as written (``None`` if unknown);
    ``dims`` maps a dimension identifier to its element identifiers, ``dim_names`` and
    ``element_names`` map canonical names to identifiers.
    """

    variable: Callable[[str], VarRef | None]
    table: Callable[[str], Table | None]
    dims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dim_names: Mapping[str, str] = field(default_factory=dict)
    element_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    target_dims: tuple[str, ...] = ()


def _fail(node: Node, what: str, hint: str | None = None) -> ExpressionError:
    return ExpressionError(what, column=getattr(node, "col", None), hint=hint)


def apply_table(t: Table, x: Node, col: int) -> Node:
    """``t`` read at ``x``: simdyn lookups are flat beyond the ends; other kinds are built here."""
    if t.kind == "discrete":
        # a step function: y0, then y_i from x_i on (flat sum, no nesting)
        out: Node = Num(t.ys[0], col)
        for k in range(1, len(t.xs)):
            jump = t.ys[k] - t.ys[k - 1]
            if jump:
                out = BinOp("+", out, BinOp("*", Num(jump, col), BinOp(">=", x, Num(t.xs[k], col), col), col), col)  # fmt: skip
        return out
    base: Node = Call(t.ident, (x,), col)
    if t.kind != "extrapolate" or len(t.xs) < 2:
        return base
    lo_slope = (t.ys[1] - t.ys[0]) / ((t.xs[1] - t.xs[0]) or 1.0)
    hi_slope = (t.ys[-1] - t.ys[-2]) / ((t.xs[-1] - t.xs[-2]) or 1.0)
    below = BinOp("*", Num(lo_slope, col), BinOp("-", x, Num(t.xs[0], col), col), col)
    above = BinOp("*", Num(hi_slope, col), BinOp("-", x, Num(t.xs[-1], col), col), col)
    extra = If(
        BinOp("<", x, Num(t.xs[0], col), col),
        below,
        If(BinOp(">", x, Num(t.xs[-1], col), col), above, Num(0.0, col), col),
        col,
    )
    return BinOp("+", base, extra, col)


def lower(node: Node, scope: Scope) -> Node:
    """Resolve names and builtins of an XMILE tree into simdyn's language."""
    return _Lower(scope).go(node)


class _Lower:
    def __init__(self, scope: Scope) -> None:
        self.s = scope

    def go(self, n: Node) -> Node:
        if isinstance(n, Num):
            return n
        if isinstance(n, Name):
            return self.name(n)
        if isinstance(n, Subscript):
            return self.subscript(n)
        if isinstance(n, BinOp):
            return BinOp(n.op, self.go(n.left), self.go(n.right), n.col)
        if isinstance(n, UnaryOp):
            return UnaryOp(n.op, self.go(n.operand), n.col)
        if isinstance(n, If):
            return If(self.go(n.cond), self.go(n.then), self.go(n.otherwise), n.col)
        return self.call(n)

    def name(self, n: Name) -> Node:
        ref = self.s.variable(n.name)
        if ref is not None:
            return Name(ref.ident, n.col)
        key = canonical(n.name).replace(" ", "_").upper()
        if key in _VALUES:
            return Name(_VALUES[key], n.col)
        raise _fail(n, f"unknown variable {n.name!r}")

    def subscript(self, n: Subscript) -> Node:
        ref = self.s.variable(n.name)
        if ref is None:
            raise _fail(n, f"unknown variable {n.name!r}")
        if len(n.indices) != len(ref.dims):
            raise _fail(n, f"{n.name!r} has {len(ref.dims)} dimension(s), {len(n.indices)} subscript(s) given")  # fmt: skip
        indices = tuple(self.index(n, d, i) for d, i in zip(ref.dims, n.indices, strict=True))
        if all(i == "*" for i in indices):
            return Subscript(ref.ident, indices, n.col)
        return Subscript(ref.ident, indices, n.col)

    def index(self, n: Node, dim: str, raw: str) -> str:
        if raw == "*":
            return "*"
        elements = self.s.dims.get(dim, ())
        if raw[:1].isdigit():
            k = int(float(raw))
            if not 1 <= k <= len(elements):
                raise _fail(n, f"position {raw} is outside dimension {dim!r} (1..{len(elements)})")
            # a dimension of numbered elements is addressed by name = position
            by_name = self.s.element_names.get(dim, {}).get(canonical(raw))
            return by_name or elements[k - 1]
        c = canonical(raw.removesuffix("!"))
        if self.s.dim_names.get(c) == dim:
            return "*"
        found = self.s.element_names.get(dim, {}).get(c)
        if found is None:
            other = self.s.dim_names.get(c)
            if other is not None:
                raise _fail(n, f"subscript {raw!r} maps dimension {other!r} onto {dim!r}: dimension mappings are not supported")  # fmt: skip
            raise _fail(n, f"{raw!r} is not an element of dimension {dim!r}")
        return found

    def call(self, n: Call) -> Node:
        ref = self.s.variable(n.func)
        if ref is not None:
            if ref.table is None or len(n.args) != 1:
                raise _fail(n, f"{n.func!r} is a variable without a graphical function; it cannot be called")  # fmt: skip
            return apply_table(ref.table, self.go(n.args[0]), n.col)
        table = self.s.table(n.func)
        if table is not None:
            if len(n.args) != 1:
                raise _fail(n, f"graphical function {n.func!r} takes one argument")
            return apply_table(table, self.go(n.args[0]), n.col)
        upper = canonical(n.func).replace(" ", "_").upper()
        if upper in _UNSUPPORTED:
            raise _fail(n, _UNSUPPORTED[upper])
        special = _SPECIAL.get(upper)
        if special is not None:
            return special(self, n)
        if upper in _SAME or upper in FUNCTIONS:
            return Call(upper, tuple(self.go(a) for a in n.args), n.col)
        if upper in BUILTINS:
            return Call(upper, tuple(self.go(a) for a in n.args), n.col)
        raise _fail(n, f"function {n.func!r} is not supported", hint="see docs/xmile.md")

    # -- builtins with XMILE/Stella conventions ---------------------------------------------------
    def args(self, n: Call, lo: int, hi: int) -> list[Node]:
        if not lo <= len(n.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise _fail(n, f"{n.func.upper()} takes {want} argument(s), {len(n.args)} given")
        return [self.go(a) for a in n.args]

    def pulse(self, n: Call) -> Node:
        a = self.args(n, 1, 3)
        if len(a) == 1:
            a.append(Name("STARTTIME", n.col))
        return Call("PULSE", tuple(a), n.col)

    def lookup(self, n: Call) -> Node:
        if len(n.args) != 2:
            raise _fail(n, "LOOKUP takes 2 arguments (table, x)")
        first = n.args[0]
        name = first.name if isinstance(first, Name | Subscript) else None
        ref = self.s.variable(name) if name else None
        table = ref.table if ref is not None else (self.s.table(name) if name else None)
        if table is None:
            raise _fail(n, "the first argument of LOOKUP must name a graphical function")
        return apply_table(table, self.go(n.args[1]), n.col)

    def smthn(self, n: Call) -> Node:
        a = self.args(n, 3, 4)
        order = n.args[2]
        if not isinstance(order, Num) or order.value != int(order.value) or order.value < 1:
            raise _fail(n, "the order of SMTHN must be a whole number written in the equation")
        k = int(order.value)
        if k > _MAX_SMTHN:
            raise _fail(n, f"SMTHN of order {k} is not supported (at most {_MAX_SMTHN})")
        tau = BinOp("/", a[1], Num(float(k), n.col), n.col)
        out = a[0]
        for _ in range(k):
            out = Call("SMTH1", (out, tau, a[3]) if len(a) == 4 else (out, tau), n.col)
        return out

    def _trend(self, n: Call, x: Node, tau: Node, init: Node) -> Node:
        # Stella: TREND = (x - avg) / (|avg| * tau), avg = SMTH1(x, tau, x / (1 + init * tau))
        col = n.col
        start = BinOp("/", x, BinOp("+", Num(1.0, col), BinOp("*", init, tau, col), col), col)
        avg = Call("SMTH1", (x, tau, start), col)
        return Call("SAFEDIV", (BinOp("-", x, avg, col), BinOp("*", Call("ABS", (avg,), col), tau, col)), col)  # fmt: skip

    def trend(self, n: Call) -> Node:
        a = self.args(n, 2, 3)
        return self._trend(n, a[0], a[1], a[2] if len(a) == 3 else Num(0.0, n.col))

    def forcst(self, n: Call) -> Node:
        a = self.args(n, 3, 4)
        trend = self._trend(n, a[0], a[1], a[3] if len(a) == 4 else Num(0.0, n.col))
        col = n.col
        return BinOp("*", a[0], BinOp("+", Num(1.0, col), BinOp("*", a[2], trend, col), col), col)

    def previous(self, n: Call) -> Node:
        a = self.args(n, 1, 2)
        return Call("DELAY", (a[0], Name("DT", n.col), *a[1:]), n.col)

    def xidz(self, n: Call) -> Node:
        return Call("SAFEDIV", tuple(self.args(n, 3, 3)), n.col)

    def zidz(self, n: Call) -> Node:
        return Call("SAFEDIV", tuple(self.args(n, 2, 2)), n.col)

    def size(self, n: Call) -> Node:
        if len(n.args) != 1 or not isinstance(n.args[0], Name | Subscript):
            raise _fail(n, "SIZE takes one array variable")
        arg = n.args[0]
        ref = self.s.variable(arg.name)
        if ref is None:
            raise _fail(n, f"unknown variable {arg.name!r}")
        total = 1
        dims: Sequence[str] = ref.dims
        if isinstance(arg, Subscript):
            dims = [d for d, i in zip(ref.dims, arg.indices, strict=False) if i == "*" or canonical(i) in self.s.dim_names]  # fmt: skip
        for d in dims:
            total *= len(self.s.dims.get(d, ()))
        return Num(float(total), n.col)

    def if_then_else(self, n: Call) -> Node:
        a = self.args(n, 3, 3)
        return If(a[0], a[1], a[2], n.col)


_SPECIAL: dict[str, Callable[[_Lower, Call], Node]] = {
    "PULSE": _Lower.pulse,
    "LOOKUP": _Lower.lookup,
    "SMTHN": _Lower.smthn,
    "TREND": _Lower.trend,
    "FORCST": _Lower.forcst,
    "PREVIOUS": _Lower.previous,
    "XIDZ": _Lower.xidz,
    "ZIDZ": _Lower.zidz,
    "SIZE": _Lower.size,
    "IF_THEN_ELSE": _Lower.if_then_else,
}
