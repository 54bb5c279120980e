"""Syntax-tree nodes of the equation language.

Nodes are frozen dataclasses; ``col`` is the 1-based column of the node's first character in the
equation text, used for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BinOp",
    "Call",
    "If",
    "Name",
    "Node",
    "Num",
    "Subscript",
    "UnaryOp",
    "walk",
]


@dataclass(frozen=True)
class Num:
    """A numeric literal."""

    value: float
    col: int


@dataclass(frozen=True)
class Name:
    """A reference to a variable, a lookup or a zero-argument builtin (``TIME``, ``PI``)."""

    name: str
    col: int


@dataclass(frozen=True)
class Subscript:
    """``name[i, j]``: elements of a dimensioned variable; ``"*"`` stands for all elements."""

    name: str
    indices: tuple[str, ...]
    col: int


@dataclass(frozen=True)
class Call:
    """A builtin or lookup call; ``func`` is upper-cased for builtins, kept as written otherwise."""

    func: str
    args: tuple[Node, ...]
    col: int


@dataclass(frozen=True)
class BinOp:
    """A binary operator: ``+ - * / ^ = <> < > <= >= AND OR``."""

    op: str
    left: Node
    right: Node
    col: int


@dataclass(frozen=True)
class UnaryOp:
    """Unary ``-``, ``+`` or ``NOT``."""

    op: str
    operand: Node
    col: int


@dataclass(frozen=True)
class If:
    """``IF cond THEN then ELSE otherwise``."""

    cond: Node
    then: Node
    otherwise: Node
    col: int


Node = Num | Name | Subscript | Call | BinOp | UnaryOp | If


def walk(node: Node) -> list[Node]:
    """Return ``node`` and all its descendants, parents before children."""
    out: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, Call):
            stack.extend(reversed(n.args))
        elif isinstance(n, BinOp):
            stack.extend((n.right, n.left))
        elif isinstance(n, UnaryOp):
            stack.append(n.operand)
        elif isinstance(n, If):
            stack.extend((n.otherwise, n.then, n.cond))
    return out
