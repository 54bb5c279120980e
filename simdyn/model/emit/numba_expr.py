"""Syntax trees to scalar numba source: one value of one element of one scenario.

The compiled emitter unrolls every dimension: a variable with dimensions becomes one local per
element (``v_name_3``), a reduction a sum written out over its elements, so the generated
kernel works on numbers only (no arrays inside a step, no allocation). The rules for
dimensions, subscripts and reductions are those of :mod:`simdyn.model.emit.numpy_expr`, which
has already checked every expression; anything the compiled backend cannot run (network and
extension functions) is refused with :class:`UnsupportedByCompiled`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from simdyn.errors import ScenarioError
from simdyn.expr import BUILTINS, BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp
from simdyn.model import ir

__all__ = [
    "FunctionPrinter",
    "ScalarPrinter",
    "UnsupportedByCompiled",
    "flat_index",
    "index_tuples",
    "local",
    "lookup_source",
    "slot",
]

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
_VALUES = {"TIME": "t", "DT": "_DT", "STARTTIME": "_START", "STOPTIME": "_STOP", "PI": "np.pi"}
_HELPERS = {"SAFEDIV": "_safediv", "STEP": "_step", "PULSE": "_pulse", "RAMP": "_ramp"}


class UnsupportedByCompiled(ScenarioError):
    """A model uses something the compiled backend does not run."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the compiled backend does not support {what}",
            where="backend",
            hint='run this model with backend="numpy"',
        )


def index_tuples(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every element index of ``shape`` in C order (one empty tuple for a scalar)."""
    return itertools.product(*(range(n) for n in shape))


def flat_index(shape: tuple[int, ...], idx: tuple[int, ...]) -> int:
    """Position of ``idx`` in a C-ordered array of ``shape``."""
    flat = 0
    for n, i in zip(shape, idx, strict=True):
        flat = flat * n + i
    return flat


Env = Mapping[str, int]


class FunctionPrinter(Protocol):
    """Prints the calls of extension functions (the network builtins, see ``numba_network``)."""

    def dims(self, node: Call, arg_dims: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
        """Dimensions of the call's value."""

    def emit(self, node: Call, env: Env, printer: ScalarPrinter) -> str:
        """Scalar source of element ``env`` of the call's value."""


@dataclass
class ScalarPrinter:
    """Prints an expression for one element (``env``: dimension → element index).

    Constants and ``INIT`` values live in a block's work buffer ``B``, one row of ``block``
    numbers per element: ``constant_rows`` and ``init_rows`` give the first row of each, read as
    ``B[row * block + j]`` (``j`` the scenario within the block; the offset is a literal, so
    LLVM sees that rows never overlap). The recorded inputs of fixed ``DELAY`` s live in ``H``,
    one step a row, ``history_rows`` the first column (in elements) of each. Every other
    variable is a local ``v_name_k``.
    """

    program: ir.Program
    constant_rows: Mapping[str, int]
    init_rows: Mapping[str, int]
    block: int
    history_rows: Mapping[str, int] = field(default_factory=dict)
    functions: FunctionPrinter | None = None
    _dims: dict[int, tuple[str, ...]] = field(default_factory=dict)

    # -- names ----------------------------------------------------------------------------------
    def ref(self, name: str, idx: tuple[int, ...]) -> str:
        """The scalar source of element ``idx`` of symbol ``name``."""
        sym = self.program.symbols[name]
        flat = flat_index(sym.shape, idx)
        if sym.kind == "constant":
            return slot((self.constant_rows[name] + flat) * self.block)
        if sym.kind == "init":
            return slot((self.init_rows[name] + flat) * self.block)
        return local(name, flat)

    def dims(self, node: Node) -> tuple[str, ...]:
        """Dimensions of ``node``'s value (as the numpy emitter works them out)."""
        key = id(node)
        got = self._dims.get(key)
        if got is None:
            got = self._dims_of(node)
            self._dims[key] = got
        return got

    def _union(self, *nodes: Node) -> tuple[str, ...]:
        present = {d for n in nodes for d in self.dims(n)}
        return tuple(d for d in self.program.dim_order if d in present)

    def _dims_of(self, node: Node) -> tuple[str, ...]:
        if isinstance(node, Num):
            return ()
        if isinstance(node, Name):
            sym = self.program.symbols.get(node.name)
            return sym.dims if sym is not None else ()
        if isinstance(node, Subscript):
            sym = self.program.symbols[node.name]
            return tuple(d for d, i in zip(sym.dims, node.indices, strict=True) if i == "*")
        if isinstance(node, UnaryOp):
            return self.dims(node.operand)
        if isinstance(node, BinOp):
            return self._union(node.left, node.right)
        if isinstance(node, If):
            return self._union(node.cond, node.then, node.otherwise)
        assert isinstance(node, Call)
        upper = node.func.upper()
        if node.func.startswith("$history:"):
            return self._history_of(node).dims
        if node.func in self.program.symbols or upper == "LOOKUP":
            return self.dims(node.args[-1])
        b = BUILTINS.get(upper)
        if b is None and self.functions is not None:
            present = set(self.functions.dims(node, [self.dims(a) for a in node.args]))
            return tuple(d for d in self.program.dim_order if d in present)
        if (
            b is not None
            and b.kind == "reduction"
            and not (len(node.args) == 2 and upper in ("MIN", "MAX"))
        ):
            axes = self._axes(node)
            return tuple(d for d in self.dims(node.args[0]) if d not in axes)
        return self._union(*node.args)

    def _axes(self, node: Call) -> tuple[str, ...]:
        arg = node.args[0]
        if len(node.args) == 2:
            dim = node.args[1]
            assert isinstance(dim, Name)
            return (dim.name,)
        if isinstance(arg, Subscript) and "*" in arg.indices:
            sym = self.program.symbols[arg.name]
            return tuple(d for d, i in zip(sym.dims, arg.indices, strict=True) if i == "*")
        return self.dims(arg)

    # -- expressions ----------------------------------------------------------------------------
    def emit(self, node: Node, env: Env) -> str:
        """Scalar source of ``node`` at element ``env``."""
        if isinstance(node, Num):
            return repr(float(node.value))
        if isinstance(node, Name):
            return self._name(node.name, env)
        if isinstance(node, Subscript):
            return self._subscript(node, env)
        if isinstance(node, UnaryOp):
            inner = self.emit(node.operand, env)
            if node.op == "NOT":
                return f"(1.0 if ({inner}) == 0 else 0.0)"
            return f"({node.op}({inner}))"
        if isinstance(node, BinOp):
            return self._binop(node, env)
        if isinstance(node, If):
            c, a, b = (self.emit(x, env) for x in (node.cond, node.then, node.otherwise))
            return f"(({a}) if ({c}) != 0 else ({b}))"
        return self._call(node, env)

    def _name(self, name: str, env: Env) -> str:
        sym = self.program.symbols.get(name)
        if sym is None:
            return _VALUES[name.upper()]
        return self.ref(name, tuple(env[d] for d in sym.dims))

    def _subscript(self, node: Subscript, env: Env) -> str:
        sym = self.program.symbols[node.name]
        idx = []
        for d, i in zip(sym.dims, node.indices, strict=True):
            idx.append(env[d] if i == "*" else list(self.program.elements[d]).index(i))
        return self.ref(node.name, tuple(idx))

    def _binop(self, node: BinOp, env: Env) -> str:
        # left-associative chains flat, without recursion (long sums stay shallow)
        if node.op in ("+", "-", "*", "/"):
            group = ("+", "-") if node.op in ("+", "-") else ("*", "/")
            rest: list[tuple[str, Node]] = []
            left: Node = node
            while isinstance(left, BinOp) and left.op in group:
                rest.append((left.op, left.right))
                left = left.left
            body = self.emit(left, env)
            for op, right in reversed(rest):
                body += f" {op} {self.emit(right, env)}"
            return f"({body})"
        a, b = self.emit(node.left, env), self.emit(node.right, env)
        if node.op == "^":
            return f"np.power({a}, {b})"
        if node.op == "AND":
            return f"(1.0 if (({a}) != 0) and (({b}) != 0) else 0.0)"
        if node.op == "OR":
            return f"(1.0 if (({a}) != 0) or (({b}) != 0) else 0.0)"
        return f"(1.0 if ({a}) {_CMP[node.op]} ({b}) else 0.0)"

    def _call(self, node: Call, env: Env) -> str:
        if node.func.startswith("$history:"):
            return self._history(node, env)
        upper = node.func.upper()
        sym = self.program.symbols.get(node.func)
        if sym is not None and sym.kind == "lookup":
            return self._lookup(node.func, node.args[0], env)
        if upper == "LOOKUP":
            table = node.args[0]
            assert isinstance(table, Name)
            return self._lookup(table.name, node.args[1], env)
        b = BUILTINS.get(upper)
        if b is None and self.functions is not None:
            return self.functions.emit(node, env, self)
        if b is None:
            raise UnsupportedByCompiled(f"the function {upper}")
        if upper in _MATH1:
            return f"{_MATH1[upper]}({self.emit(node.args[0], env)})"
        if b.kind == "reduction":
            return self._reduction(node, upper, env)
        args = [self.emit(a, env) for a in node.args]
        if upper == "MOD":
            return f"np.mod({args[0]}, {args[1]})"
        if upper == "IF_THEN_ELSE":
            return f"(({args[1]}) if ({args[0]}) != 0 else ({args[2]}))"
        if upper == "STEP":
            return f"_step(ts, {args[0]}, {args[1]}, _DT)"
        if upper == "PULSE":
            return f"_pulse(ts, _DT, {', '.join(args)}{', 0.0' if len(args) == 2 else ''})"
        if upper == "RAMP":
            return f"_ramp(t, {', '.join(args)}{', np.inf' if len(args) == 2 else ''})"
        if upper == "SAFEDIV":
            return f"_safediv({', '.join(args)}{', 0.0' if len(args) == 2 else ''})"
        raise UnsupportedByCompiled(f"the builtin {upper}")  # pragma: no cover

    def _history(self, node: Call, env: Env) -> str:
        """``DELAY``'s read of its recorded input: column ``(row + element) * block + j`` of
        ``H`` (rows: the recorded steps, ``nh`` of them so far, at times ``T``)."""
        h = self._history_of(node)
        flat = flat_index(h.shape, tuple(env[d] for d in h.dims))
        col = (self.history_rows[h.name] + flat) * self.block
        tau, init = (self.emit(a, env) for a in node.args)
        return f"_history(H, T, nh, {col} + j, t, {tau}, {init})"

    def _history_of(self, node: Call) -> ir.History:
        name = node.func.partition(":")[2]
        return next(h for h in self.program.histories if h.name == name)

    def _lookup(self, name: str, arg: Node, env: Env) -> str:
        return f"_lk_{name}({self.emit(arg, env)})"

    def _reduction(self, node: Call, upper: str, env: Env) -> str:
        if len(node.args) == 2 and upper in ("MIN", "MAX"):
            a, b = (self.emit(x, env) for x in node.args)
            return f"np.{'minimum' if upper == 'MIN' else 'maximum'}({a}, {b})"
        axes = self._axes(node)
        sizes = tuple(self.program.dim_sizes[d] for d in axes)
        terms = [
            self.emit(node.args[0], {**env, **dict(zip(axes, idx, strict=True))})
            for idx in index_tuples(sizes)
        ]
        if upper in ("SUM", "MEAN"):
            total = "(" + " + ".join(terms) + ")"
            return total if upper == "SUM" else f"({total} / {float(math.prod(sizes))!r})"
        fold = "np.minimum" if upper == "MIN" else "np.maximum"
        acc = terms[0]
        for term in terms[1:]:
            acc = f"{fold}({acc}, {term})"
        return acc


#: tables longer than this are searched in a loop (the select chain would grow too long)
BRANCHLESS_POINTS = 64


def lookup_source(table: ir.LookupTable, options: str) -> str:
    """The scalar function ``_lk_<name>(x)``: ``np.interp(x, xs, ys)`` to the last bit.

    A table of finite points (at most :data:`BRANCHLESS_POINTS`) becomes a chain of selects on
    literal breakpoints and slopes (the slopes numpy computes, ``(y1 - y0) / (x1 - x0)``):
    no loop and no branch, so a scenario loop that calls it still vectorizes. Other tables
    call the loop of :func:`simdyn.model.emit.numba_runtime.interp`.
    """
    xs = [float(x) for x in table.xs]
    ys = [float(y) for y in table.ys]
    name = f"_lk_{table.name}"
    slopes = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)]
    finite = all(math.isfinite(v) for v in (*xs, *ys, *slopes))
    if not finite or len(xs) > BRANCHLESS_POINTS or len(xs) < 2:
        return "\n".join(
            [
                f"L{name}_x = np.array({xs!r})",
                f"L{name}_y = np.array({ys!r})",
                "",
                "",
                f"@nb.njit({options})",
                f"def {name}(x):",
                f"    return _interp(x, L{name}_x, L{name}_y)",
            ]
        )
    lines = [
        f"@nb.njit({options})",
        f"def {name}(x):",
        f"    xj = {xs[0]!r}",
        f"    fj = {ys[0]!r}",
        f"    sj = {slopes[0]!r}",
    ]
    for i in range(1, len(xs) - 1):
        lines += [
            f"    if x >= {xs[i]!r}:",
            f"        xj = {xs[i]!r}",
            f"        fj = {ys[i]!r}",
            f"        sj = {slopes[i]!r}",
        ]
    lines += [
        "    res = sj * (x - xj) + fj",
        f"    if x >= {xs[-1]!r}:",
        f"        res = {ys[-1]!r}",
        f"    if x < {xs[0]!r}:",
        f"        res = {ys[0]!r}",
        "    if x != x:",
        "        res = x",
        "    return res",
    ]
    return "\n".join(lines)


def slot(offset: int, array: str = "B") -> str:
    """Element ``j`` of the row starting at ``offset`` of a block's flat work ``array``."""
    return f"{array}[{offset} + j]"


def local(name: str, flat: int) -> str:
    """The local variable holding element ``flat`` of ``name``."""
    return f"v_{name}_{flat}"
