"""The equation language: parse text into a syntax tree, and the builtin vocabulary.

Lowering a tree to numpy code needs the model's names and dimensions and is done by
:mod:`simdyn.model.emit.numpy_expr`.
"""

from simdyn.expr.ast import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp, walk
from simdyn.expr.builtins import BUILTINS, STATEFUL, Builtin, is_reserved
from simdyn.expr.parser import KEYWORDS, parse

__all__ = [
    "BUILTINS",
    "KEYWORDS",
    "STATEFUL",
    "BinOp",
    "Builtin",
    "Call",
    "If",
    "Name",
    "Node",
    "Num",
    "Subscript",
    "UnaryOp",
    "is_reserved",
    "parse",
    "walk",
]
