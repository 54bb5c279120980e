"""Print equation syntax trees as numpy source code, with named dimensions.

Every value in generated code is a number or an array laid out ``(*dims, n_scenarios)``, where
``dims`` is ordered by the model's dimension order. Operands with different dimensions are lined
up by name: missing axes are inserted with ``None`` so that numpy broadcasting does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simdyn.errors import ExpressionError
from simdyn.expr import BUILTINS, BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp
from simdyn.model import ir
from simdyn.model.functions import FUNCTIONS

__all__ = ["Code", "Emitter", "Symbol", "code_name", "printer"]


@dataclass(frozen=True)
class Code:
    """Generated source for one value, and the dimensions of that value."""

    text: str
    dims: tuple[str, ...]


@dataclass(frozen=True)
class Symbol:
    """How a model name appears in generated code."""

    code: str
    dims: tuple[str, ...]
    kind: str


_MATH1 = {
    "ABS": "np.abs",
    "EXP": "np.exp",
    "LN": "np.log",
    "LOG10": "np.log10",
    "SQRT": "np.sqrt",
    "SIN": "np.sin",
    "COS": "np.cos",
    "TAN": "np.tan",
    "ARCSIN": "np.arcsin",
    "ARCCOS": "np.arccos",
    "ARCTAN": "np.arctan",
    "INT": "np.floor",
}
_CMP = {"=": "==", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/"}
_ADD = frozenset({"+", "-"})
_MUL = frozenset({"*", "/"})
_CHAINS = {
    "+": _ADD,
    "-": _ADD,
    "*": _MUL,
    "/": _MUL,
    "AND": frozenset({"AND"}),
    "OR": frozenset({"OR"}),
}


def _divisions(first: str, ops: list[str], texts: list[str]) -> str:
    """``a * b / c`` as ``np.true_divide(a * b, c)``: a division by zero is ``inf`` or ``nan``
    (a per-scenario failure), never Python's ``ZeroDivisionError`` on two plain numbers."""
    out = first
    for op, text in zip(ops, texts, strict=True):
        out = f"np.true_divide({out}, {text})" if op == "/" else f"({out} * {text})"
    return out


@dataclass
class Emitter:
    """Turns syntax trees into :class:`Code`.

    Parameters
    ----------
    dim_order
        All dimensions of the model in canonical order.
    elements
        Element names of each dimension (the ``node`` dimension has none addressable by name).
    symbols
        Variables and constants by name.
    lookups
        Lookup name to the code names of its x and y arrays.
    histories
        ``DELAY`` outputs and the dimensions of their recorded input.
    """

    dim_order: tuple[str, ...]
    elements: Mapping[str, tuple[str, ...]]
    symbols: Mapping[str, Symbol]
    lookups: Mapping[str, tuple[str, str]]
    histories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    used_functions: set[str] = field(default_factory=set)

    # -- dimensions ---------------------------------------------------------------------------
    def union(self, *dims: tuple[str, ...]) -> tuple[str, ...]:
        present = {d for ds in dims for d in ds}
        return tuple(d for d in self.dim_order if d in present)

    def align(self, c: Code, target: tuple[str, ...]) -> str:
        """Source for ``c`` with axes inserted so that it broadcasts against ``target``."""
        if c.dims == target or not c.dims:
            return c.text
        idx = ", ".join(":" if d in c.dims else "None" for d in target)
        return f"({c.text})[{idx}, :]"

    def broadcast(self, *args: Code) -> tuple[tuple[str, ...], list[str]]:
        dims = self.union(*(a.dims for a in args))
        return dims, [self.align(a, dims) for a in args]

    # -- nodes --------------------------------------------------------------------------------
    def emit(self, node: Node) -> Code:
        """Generate code for ``node``; raises :class:`ExpressionError` with the column."""
        if isinstance(node, Num):
            return Code(repr(node.value), ())
        if isinstance(node, Name):
            return self._name(node)
        if isinstance(node, Subscript):
            return self._subscript(node)
        if isinstance(node, UnaryOp):
            inner = self.emit(node.operand)
            if node.op == "NOT":
                return Code(f"(({inner.text}) == 0) * 1.0", inner.dims)
            return Code(f"({node.op}({inner.text}))", inner.dims)
        if isinstance(node, BinOp):
            return self._binop(node)
        if isinstance(node, If):
            dims, (c, a, b) = self.broadcast(
                self.emit(node.cond), self.emit(node.then), self.emit(node.otherwise)
            )
            return Code(f"np.where(({c}) != 0, {a}, {b})", dims)
        return self._call(node)

    def _name(self, node: Name) -> Code:
        sym = self.symbols.get(node.name)
        if sym is not None:
            if sym.kind == "lookup":
                raise ExpressionError(
                    f"{node.name!r} is a lookup", column=node.col, hint=f"call it: {node.name}(x)"
                )
            return Code(sym.code, sym.dims)
        upper = node.name.upper()
        b = BUILTINS.get(upper)
        if b is not None and b.kind == "value":
            return Code(
                {
                    "TIME": "t",
                    "DT": "_DT",
                    "STARTTIME": "_START",
                    "STOPTIME": "_STOP",
                    "PI": "np.pi",
                }[upper],
                (),
            )
        if b is not None or upper in FUNCTIONS:
            raise ExpressionError(
                f"{upper} needs arguments", column=node.col, hint=f"write {upper}(...)"
            )
        if node.name in self.elements:
            raise ExpressionError(
                f"{node.name!r} is a dimension, not a value",
                column=node.col,
                hint=f"use it as SUM(x, {node.name})",
            )
        raise ExpressionError(
            f"unknown name {node.name!r}", column=node.col, hint=self._suggest(node.name)
        )

    def _suggest(self, name: str) -> str | None:
        import difflib

        close = difflib.get_close_matches(
            name, [*self.symbols, *(k.lower() for k in BUILTINS)], 1, 0.6
        )
        return f"did you mean {close[0]!r}?" if close else None

    def _subscript(self, node: Subscript) -> Code:
        sym = self.symbols.get(node.name)
        if sym is None or sym.kind == "lookup":
            self._name(Name(node.name, node.col))  # unknown names and lookups first
            raise ExpressionError(
                f"{node.name!r} has no dimensions to subscript",
                column=node.col,
                hint=f"write {node.name} without [{', '.join(map(str, node.indices))}]",
            )
        if len(node.indices) != len(sym.dims):
            raise ExpressionError(
                f"{node.name!r} has {len(sym.dims)} dimension(s), {len(node.indices)} subscript(s) given",
                column=node.col,
                hint=f"dimensions: {', '.join(sym.dims) or 'none'}",
            )
        idx: list[str] = []
        dims: list[str] = []
        for d, i in zip(sym.dims, node.indices, strict=True):
            if i == "*":
                idx.append(":")
                dims.append(d)
                continue
            els = self.elements.get(d, ())
            if i not in els:
                raise ExpressionError(
                    f"{i!r} is not an element of dimension {d!r}",
                    column=node.col,
                    hint=f"elements: {', '.join(els)}"
                    if els
                    else "node elements are not addressable by name",
                )
            idx.append(str(els.index(i)))
        if all(x == ":" for x in idx):
            return Code(sym.code, sym.dims)
        return Code(f"{sym.code}[{', '.join(idx)}]", tuple(dims))

    def _chain(self, node: BinOp, group: frozenset[str]) -> tuple[Node, list[tuple[str, Node]]]:
        """Unroll a left-associative chain ``a op b op c ...`` of operators in ``group``."""
        rest: list[tuple[str, Node]] = []
        left: Node = node
        while isinstance(left, BinOp) and left.op in group:
            rest.append((left.op, left.right))
            left = left.left
        rest.reverse()
        return left, rest

    def _binop(self, node: BinOp) -> Code:
        # Chains are emitted flat (``(a + b - c)``, ``((a != 0) & (b != 0) & ...)``), without
        # recursion, so long sums do not nest parentheses in the generated code.
        group = _CHAINS.get(node.op)
        if group is not None:
            first, rest = self._chain(node, group)
            dims, texts = self.broadcast(self.emit(first), *(self.emit(r) for _, r in rest))
            if node.op in _ARITH:
                if node.op in _MUL and any(op == "/" for op, _ in rest):
                    return Code(_divisions(texts[0], [op for op, _ in rest], texts[1:]), dims)
                body = texts[0] + "".join(
                    f" {_ARITH[op]} {t}" for (op, _), t in zip(rest, texts[1:], strict=True)
                )
                return Code(f"({body})", dims)
            joiner = " & " if node.op == "AND" else " | "
            return Code(f"({joiner.join(f'(({t}) != 0)' for t in texts)}) * 1.0", dims)
        dims, (a, b) = self.broadcast(self.emit(node.left), self.emit(node.right))
        if node.op == "^":
            return Code(f"np.power({a}, {b})", dims)
        return Code(f"(({a}) {_CMP[node.op]} ({b})) * 1.0", dims)

    def _check_arity(self, node: Call, lo: int, hi: int, name: str) -> None:
        n = len(node.args)
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ExpressionError(f"{name} takes {want} argument(s), {n} given", column=node.col)

    def _call(self, node: Call) -> Code:
        if node.func.startswith("$history:"):
            # DELAY's read from its history (the parser never produces a "$" name)
            name = node.func.partition(":")[2]
            tau, init = (self.emit(a) for a in node.args)
            dims = self.histories[name]
            return Code(
                f"H_{name}.lookup(t, {self.align(tau, dims)}, {self.align(init, dims)})", dims
            )
        upper = node.func.upper()
        sym = self.symbols.get(node.func)
        if sym is not None and sym.kind == "lookup":
            self._check_arity(node, 1, 1, node.func)
            return self._lookup(node.func, node.args[0])
        if sym is not None:
            raise ExpressionError(
                f"{node.func!r} is a {sym.kind}, not a function or lookup", column=node.col
            )
        b = BUILTINS.get(upper)
        if b is None:
            fn = FUNCTIONS.get(upper)
            if fn is None:
                raise ExpressionError(
                    f"unknown function {node.func!r}",
                    column=node.col,
                    hint=self._suggest(node.func),
                )
            self._check_arity(node, fn.min_args, fn.max_args, upper)
            args = [self.emit(a) for a in node.args]
            dims = self.union(fn.result_dims([a.dims for a in args]))
            self.used_functions.add(upper)
            return Code(f"f_{upper}({', '.join(a.text for a in args)})", dims)
        self._check_arity(node, b.min_args, b.max_args, upper)
        if b.kind == "stateful":
            raise ExpressionError(f"{upper} is not allowed here", column=node.col)
        if b.kind == "value":
            raise ExpressionError(
                f"{upper} takes no arguments", column=node.col, hint=f"write {upper}"
            )
        if upper in _MATH1:
            a = self.emit(node.args[0])
            return Code(f"{_MATH1[upper]}({a.text})", a.dims)
        if upper == "LOOKUP":
            table = node.args[0]
            if not isinstance(table, Name) or table.name not in self.lookups:
                raise ExpressionError(
                    "the first argument of LOOKUP must be the name of a lookup", column=node.col
                )
            return self._lookup(table.name, node.args[1])
        if b.kind == "reduction":
            return self._reduction(node, upper)
        args = [self.emit(a) for a in node.args]
        dims, texts = self.broadcast(*args)
        joined = ", ".join(texts)
        if upper == "MOD":
            return Code(f"np.mod({joined})", dims)
        if upper == "SAFEDIV":
            return Code(f"_rt.safediv({joined})", dims)
        if upper == "IF_THEN_ELSE":
            c, x, y = texts
            return Code(f"np.where(({c}) != 0, {x}, {y})", dims)
        if upper == "STEP":
            return Code(f"_rt.step(ts, {joined}, _DT)", dims)
        if upper == "PULSE":
            return Code(f"_rt.pulse(ts, _DT, {joined})", dims)
        if upper == "RAMP":
            return Code(f"_rt.ramp(t, {joined})", dims)
        raise AssertionError(f"builtin {upper} has no lowering")  # pragma: no cover

    def _lookup(self, name: str, arg: Node) -> Code:
        xs, ys = self.lookups[name]
        a = self.emit(arg)
        return Code(f"np.interp({a.text}, {xs}, {ys})", a.dims)

    def _reduction(self, node: Call, upper: str) -> Code:
        if len(node.args) == 2 and upper in ("MIN", "MAX"):
            dims, (x, y) = self.broadcast(self.emit(node.args[0]), self.emit(node.args[1]))
            return Code(f"np.{'minimum' if upper == 'MIN' else 'maximum'}({x}, {y})", dims)
        func = {"SUM": "np.sum", "MEAN": "np.mean", "MIN": "np.min", "MAX": "np.max"}[upper]
        arg = node.args[0]
        if len(node.args) == 2:
            dim_node = node.args[1]
            if not isinstance(dim_node, Name) or dim_node.name not in self.dim_order:
                raise ExpressionError(
                    f"the second argument of {upper} must be a dimension name",
                    column=node.col,
                    hint=f"dimensions: {', '.join(self.dim_order) or 'none'}",
                )
            a = self.emit(arg)
            if dim_node.name not in a.dims:
                raise ExpressionError(
                    f"the argument of {upper} has no dimension {dim_node.name!r}", column=node.col
                )
            axes: tuple[str, ...] = (dim_node.name,)
        else:
            a = self.emit(arg)
            if isinstance(arg, Subscript) and "*" in arg.indices:
                sym = self.symbols[arg.name]
                axes = tuple(d for d, i in zip(sym.dims, arg.indices, strict=True) if i == "*")
            else:
                axes = a.dims
            if not axes:
                raise ExpressionError(
                    f"{upper} of one argument needs an array (a variable with dimensions)",
                    column=node.col,
                    hint=f"for two values write {upper}(a, b)" if upper in ("MIN", "MAX") else None,
                )
        pos = tuple(a.dims.index(d) for d in axes)
        rest = tuple(d for d in a.dims if d not in axes)
        return Code(f"{func}({a.text}, axis={pos!r})", rest)


def code_name(s: ir.Symbol) -> str:
    """The identifier of symbol ``s`` in generated code (``p_`` constants, ``c_`` INIT values)."""
    prefix = {"constant": "p", "lookup": "L", "init": "c"}.get(s.kind, "v")
    return f"{prefix}_{s.name}"


def printer(
    dim_order: tuple[str, ...],
    elements: Mapping[str, tuple[Any, ...]],
    symbols: Mapping[str, ir.Symbol],
    histories: Mapping[str, tuple[str, ...]],
) -> Emitter:
    """An :class:`Emitter` for the IR's ``symbols``; ``histories`` maps DELAY outputs to dims."""
    code = {name: Symbol(code_name(s), s.dims, s.kind) for name, s in symbols.items()}
    lookups = {
        s.name: (f"L_{s.name}_x", f"L_{s.name}_y") for s in symbols.values() if s.kind == "lookup"
    }
    return Emitter(dim_order, elements, code, lookups, dict(histories))
