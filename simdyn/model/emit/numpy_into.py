"""The stock rates as numpy calls writing into scratch arrays (``out=``), allocated per width.

The plain printer (:mod:`.numpy_expr`) writes each expression as one numpy expression, so
numpy allocates a temporary per operation. For ``rhs``, which the integrators call once per
stage of every step, this module lowers every operation on the state (a *wide* value: shape
``(*dims, n_scenarios)`` because it depends on a stock) to one statement writing into a
temporary ``_t<k>``, e.g. ``np.multiply(p_rate, v_stock, out=_t3)``. Temporaries are then
packed into as few scratch arrays as their lifetimes allow (one free list per dimensions and
dtype), so a right-hand side touches a handful of arrays that stay in cache, and they are
allocated once per number of scenarios, not once per call.

Each statement performs the same floating-point operation, on the same operands in the same
order, as the expression the plain printer writes, so results are bit-identical:
``np.where(c, a, b)`` becomes ``copyto(f, b); copyto(f, a, where=c)``, ``SAFEDIV(a, b, z)``
becomes ``divide(a, b, out=f); copyto(f, z, where=b == 0)`` (``putmask`` for a number ``z``):
numpy's masked ``divide(..., where=)`` loop is several times slower than a whole divide and a
masked copy (the drivers run ``rhs`` with floating-point warnings off). ``MIN``/``MAX`` with a
number take it from a constant array filled once per width (:attr:`IntoEmitter.consts`):
numpy's ``minimum``/``maximum`` loops are vectorized for two arrays but not for an array and a
scalar. Values that do not depend on the
state (constants, ``TIME``) and the operations numpy has no ``out=`` form for (lookups,
reductions, ``STEP``/``PULSE``/``RAMP``, ``DELAY`` histories, extension functions) stay plain
expressions; their arguments are still lowered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simdyn.expr import BinOp, Call, If, Name, Node, Subscript, UnaryOp
from simdyn.model.emit.numpy_expr import _CHAINS, _CMP, _MATH1, _MUL, Code, Emitter

__all__ = ["IntoEmitter", "Stmt", "pack"]

_UFUNC = {"+": "np.add", "-": "np.subtract", "*": "np.multiply", "/": "np.true_divide"}
_CMP_UFUNC = {
    "==": "np.equal",
    "!=": "np.not_equal",
    "<": "np.less",
    ">": "np.greater",
    "<=": "np.less_equal",
    ">=": "np.greater_equal",
}
_REF = re.compile(r"\b(_t\d+|v_\w+)\b")
_NUMBER = re.compile(r"\(?-?\d+(\.\d*)?(e[-+]?\d+)?\)?")
#: ufuncs whose loop is vectorized only when both operands are arrays
_ARRAY_OPERANDS = frozenset({"np.maximum", "np.minimum"})


@dataclass
class Stmt:
    """One line of generated code; ``out`` is the temporary it writes (``None``: it binds or
    stores a name), ``inplace`` whether ``out`` may share a scratch array with an input that
    dies here (elementwise ufuncs: yes; ``copyto`` sequences: no)."""

    text: str
    out: str | None = None
    inplace: bool = True


@dataclass
class IntoEmitter(Emitter):
    """An :class:`Emitter` that lowers operations on wide values to ``out=`` statements.

    ``wide`` names the variables that depend on the state; :meth:`emit` appends statements to
    ``stmts`` and returns :class:`Code` naming a temporary (or a plain expression).
    """

    wide: set[str] = field(default_factory=set)
    stmts: list[Stmt] = field(default_factory=list)
    temps: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    plain: Emitter | None = None
    consts: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)
    """Constant arrays ``_k<n>``: a number broadcast to dimensions, filled once per width."""

    def is_wide(self, node: Node) -> bool:
        """Whether ``node`` reads a wide value (a walk with a stack: a sum of a thousand terms
        is a thousand levels deep)."""
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, Name | Subscript):
                if n.name in self.wide:
                    return True
            elif isinstance(n, UnaryOp):
                stack.append(n.operand)
            elif isinstance(n, BinOp):
                stack += [n.left, n.right]
            elif isinstance(n, If):
                stack += [n.cond, n.then, n.otherwise]
            elif isinstance(n, Call):
                stack += n.args
        return False

    def temp(self, dims: tuple[str, ...], dtype: str = "float") -> str:
        name = f"_t{len(self.temps)}"
        self.temps[name] = (dims, dtype)
        return name

    def const(self, number: str, dims: tuple[str, ...]) -> str:
        """The constant array holding ``number`` at every element of ``dims``."""
        key = (number, dims)
        if key not in self.consts:
            self.consts[key] = f"_k{len(self.consts)}"
        return self.consts[key]

    def op(self, func: str, args: list[str], dims: tuple[str, ...], dtype: str = "float") -> Code:
        if func in _ARRAY_OPERANDS:
            args = [self.const(a, dims) if _NUMBER.fullmatch(a) else a for a in args]
        out = self.temp(dims, dtype)
        # numpy's power takes another path when it works in place (x ** 2.0 on one element:
        # x * x, not pow), so its output never shares an array with an input
        inplace = func != "np.power"
        self.stmts.append(Stmt(f"{func}({', '.join(args)}, out={out})", out, inplace))
        return Code(out, dims)

    def select(self, cond: str, a: str, b: str, dims: tuple[str, ...]) -> Code:
        """``np.where((cond) != 0, a, b)``."""
        mask = self.op("np.not_equal", [cond, "0"], dims, "bool").text
        out = self.temp(dims)
        self.stmts.append(Stmt(f"np.copyto({out}, {b})", out, inplace=False))
        self.stmts.append(Stmt(f"np.copyto({out}, {a}, where={mask})"))
        return Code(out, dims)

    def as_float(self, mask: Code) -> Code:
        """``(mask) * 1.0``."""
        return self.op("np.multiply", [mask.text, "1.0"], mask.dims)

    # -- nodes --------------------------------------------------------------------------------
    def emit(self, node: Node) -> Code:
        assert self.plain is not None
        if not self.is_wide(node) or isinstance(node, Name | Subscript):
            return self.plain.emit(node)
        if isinstance(node, UnaryOp):
            inner = self.emit(node.operand)
            if node.op == "NOT":
                return self.as_float(self.op("np.equal", [inner.text, "0"], inner.dims, "bool"))
            if node.op == "-":
                return self.op("np.negative", [inner.text], inner.dims)
            return super().emit(node)
        if isinstance(node, BinOp):
            return self._binop(node)
        if isinstance(node, If):
            dims, (c, a, b) = self.broadcast(
                self.emit(node.cond), self.emit(node.then), self.emit(node.otherwise)
            )
            return self.select(c, a, b, dims)
        assert isinstance(node, Call)  # a Num is never wide
        return self._call(node)

    def _binop(self, node: BinOp) -> Code:
        group = _CHAINS.get(node.op)
        if group is None:
            dims, (a, b) = self.broadcast(self.emit(node.left), self.emit(node.right))
            if node.op == "^":
                return self.op("np.power", [a, b], dims)
            mask = self.op(_CMP_UFUNC[_CMP[node.op]], [a, b], dims, "bool")
            return self.as_float(mask)
        first, rest = self._chain(node, group)
        nodes = [first, *(r for _, r in rest)]
        dims, texts = self.broadcast(*(self.emit(n) for n in nodes))
        if node.op in ("AND", "OR"):
            masks = [
                self.op("np.not_equal", [t, "0"], dims, "bool").text
                if self.is_wide(n)
                else f"(({t}) != 0)"
                for n, t in zip(nodes, texts, strict=True)
            ]
            func = "np.bitwise_and" if node.op == "AND" else "np.bitwise_or"
            acc = masks[0]
            for m in masks[1:]:
                acc = self.op(func, [acc, m], dims, "bool").text
            return self.as_float(Code(acc, dims))
        acc, acc_wide = texts[0], self.is_wide(first)
        for (op, n), t in zip(rest, texts[1:], strict=True):
            if acc_wide or self.is_wide(n):
                acc, acc_wide = self.op(_UFUNC[op], [acc, t], dims).text, True
            elif op == "/" and node.op in _MUL:
                acc = f"np.true_divide({acc}, {t})"
            else:
                acc = f"({acc} {op} {t})"
        return Code(acc, dims)

    def _call(self, node: Call) -> Code:
        upper = node.func.upper()
        if node.func.startswith("$") or node.func in self.symbols:
            return super()._call(node)
        if upper in _MATH1 and len(node.args) == 1:
            a = self.emit(node.args[0])
            return self.op(_MATH1[upper], [a.text], a.dims)
        two = len(node.args) == 2
        if upper in ("MIN", "MAX", "MOD") and two and not self._is_dim(node.args[1]):
            dims, (x, y) = self.broadcast(self.emit(node.args[0]), self.emit(node.args[1]))
            func = {"MIN": "np.minimum", "MAX": "np.maximum", "MOD": "np.mod"}[upper]
            return self.op(func, [x, y], dims)
        if upper == "IF_THEN_ELSE" and len(node.args) == 3:
            dims, (cond, then, other) = self.broadcast(*(self.emit(arg) for arg in node.args))
            return self.select(cond, then, other, dims)
        if upper == "SAFEDIV" and len(node.args) in (2, 3):
            dims, texts = self.broadcast(*(self.emit(arg) for arg in node.args))
            return self.safediv(texts[0], texts[1], texts[2] if len(texts) == 3 else "0.0", dims)
        return super()._call(node)

    def _is_dim(self, node: Node) -> bool:
        return isinstance(node, Name) and node.name in self.dim_order

    def safediv(self, a: str, b: str, z: str, dims: tuple[str, ...]) -> Code:
        """``_rt.safediv(a, b, z)``: ``a / b`` where ``b != 0``, ``z`` elsewhere."""
        zero = self.op("np.equal", [b, "0"], dims, "bool").text
        out = self.op("np.true_divide", [a, b], dims).text
        if _NUMBER.fullmatch(z):  # a number: putmask is the faster masked copy
            self.stmts.append(Stmt(f"np.putmask({out}, {zero}, {z})"))
        else:  # an array may broadcast, which copyto does and putmask does not
            self.stmts.append(Stmt(f"np.copyto({out}, {z}, where={zero})"))
        return Code(out, dims)

    def retarget(self, temp: str, target: str) -> bool:
        """Have the statements that write ``temp`` write ``target`` (a view) instead, when
        nothing reads ``temp`` but the statements that write it; whether it did."""
        ref = re.compile(rf"\b{temp}\b")
        writes = (f"out={temp})", f"np.copyto({temp},", f"np.putmask({temp},")
        mentions = [s for s in self.stmts if ref.search(s.text)]
        if not mentions or any(not any(w in s.text for w in writes) for s in mentions):
            return False
        if any(len(ref.findall(s.text)) != 1 for s in mentions):
            return False
        for s in mentions:
            s.text = ref.sub(target, s.text)
            s.out = None
        return True


def pack(
    stmts: list[Stmt], temps: dict[str, tuple[tuple[str, ...], str]]
) -> tuple[list[str], list[tuple[tuple[str, ...], str]]]:
    """The statements with temporaries replaced by scratch arrays ``_b<k>``, and the dims and
    dtype of each scratch array.

    A temporary's scratch array is free again after the last statement that reads it, directly
    or through a name bound to it (``v_x = _t3``); an elementwise statement may write into the
    array of an input that dies at that statement.
    """
    aliases: dict[str, set[str]] = {}
    reads: list[set[str]] = []
    for s in stmts:
        refs: set[str] = set()
        for r in _REF.findall(s.text):
            refs |= aliases.get(r, {r} if r in temps else set())
        bound = _bound_name(s.text)
        if bound is not None:
            aliases[bound] = refs
        reads.append(refs)
    last = {t: i for i, refs in enumerate(reads) for t in refs}
    for i, s in enumerate(stmts):
        if s.out is not None:
            last[s.out] = max(last.get(s.out, i), i)
    free: dict[tuple[tuple[str, ...], str], list[str]] = {}
    buffers: list[tuple[tuple[str, ...], str]] = []
    where: dict[str, str] = {}

    def release(i: int) -> None:
        for t in sorted(reads[i]):
            if last[t] == i and t in where:
                free.setdefault(temps[t], []).append(where[t])

    for i, s in enumerate(stmts):
        first_def = s.out is not None and s.out not in where
        if first_def and s.inplace:
            release(i)
        if first_def:
            assert s.out is not None
            pool = free.setdefault(temps[s.out], [])
            if pool:
                where[s.out] = pool.pop()
            else:
                where[s.out] = f"_b{len(buffers)}"
                buffers.append(temps[s.out])
        if not (first_def and s.inplace):
            release(i)
        if s.out is not None and last[s.out] == i and s.out not in reads[i]:
            free.setdefault(temps[s.out], []).append(where[s.out])
    lines = [re.sub(r"\b_t\d+\b", lambda m: where[m.group(0)], s.text) for s in stmts]
    return lines, buffers


def _bound_name(text: str) -> str | None:
    """``v_x`` for a statement ``v_x = ...``."""
    m = re.match(r"(v_\w+) = ", text)
    return m.group(1) if m else None
