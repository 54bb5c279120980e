"""Printing a syntax tree back to equation text (the inverse of :func:`simdyn.expr.parse`).

Parentheses are written only where precedence needs them, so ``parse(unparse(tree))`` gives
back the same tree (up to columns) and long sums stay flat.
"""

from __future__ import annotations

from collections.abc import Callable

from simdyn.expr.ast import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp

__all__ = ["unparse"]

_PREC = {
    "OR": 1,
    "AND": 2,
    "=": 4,
    "<>": 4,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "^": 8,
}
_ATOM = 9


def _prec(node: Node) -> int:
    if isinstance(node, BinOp):
        return _PREC[node.op]
    if isinstance(node, UnaryOp):
        return 3 if node.op == "NOT" else 7
    if isinstance(node, If):
        return 0
    return _ATOM


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def unparse(node: Node, rename: Callable[[str], str] | None = None) -> str:
    """Equation text for ``node``; ``rename`` maps variable, lookup and element names.

    Examples
    --------
    >>> from simdyn.expr import parse
    >>> unparse(parse("(a + b) * c ^ 2 - -d"))
    '(a + b) * c ^ 2 - -d'
    >>> unparse(parse("x[e1, *]"), rename=str.upper)
    'X[E1, *]'
    """
    ren = rename or (lambda s: s)

    def wrap(child: Node, need: bool) -> str:
        text = go(child)
        return f"({text})" if need else text

    def go(n: Node) -> str:
        if isinstance(n, Num):
            return _number(n.value)
        if isinstance(n, Name):
            return ren(n.name)
        if isinstance(n, Subscript):
            idx = ", ".join(i if i == "*" else ren(i) for i in n.indices)
            return f"{ren(n.name)}[{idx}]"
        if isinstance(n, Call):
            return f"{ren(n.func)}({', '.join(go(a) for a in n.args)})"
        if isinstance(n, UnaryOp):
            p = _prec(n)
            sep = " " if n.op == "NOT" else ""
            return f"{n.op}{sep}{wrap(n.operand, _prec(n.operand) < p)}"
        if isinstance(n, If):
            return f"IF {go(n.cond)} THEN {go(n.then)} ELSE {go(n.otherwise)}"
        p = _PREC[n.op]
        if n.op == "^":
            left = wrap(n.left, _prec(n.left) <= p)
            right = wrap(n.right, _prec(n.right) < 7)
        elif p == 4:
            left = wrap(n.left, _prec(n.left) <= p)
            right = wrap(n.right, _prec(n.right) <= p)
        else:
            left = wrap(n.left, _prec(n.left) < p)
            right = wrap(n.right, _prec(n.right) <= p)
        return f"{left} {n.op} {right}"

    return go(node)
