"""XMILE expression text to a simdyn syntax tree (names still as written in the file).

XMILE's grammar (XMILE 1.0 §3.3) differs from simdyn's in a few places this parser handles:
names may be quoted (``"Room Temperature"``) or contain ``.`` (module references), ``$`` and
non-ASCII letters; ``{...}`` is a comment; ``MOD`` is also an infix operator; subscripts may be
element names, dimension names or 1-based positions. Precedence (lowest first): ``OR``,
``AND``, ``NOT``, comparisons, ``+ -``, ``* / MOD``, unary ``+ -``, ``^``.

The result is made of :mod:`simdyn.expr.ast` nodes; :mod:`simdyn.model.xmile_lower` resolves
names and builtins. Nothing of the text is evaluated.
"""

from __future__ import annotations

import re

from simdyn.errors import ExpressionError
from simdyn.expr import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp
from simdyn.expr.tokens import TokenCursor, tokenize

__all__ = ["canonical", "parse_xmile"]

_KEYWORDS = frozenset({"IF", "THEN", "ELSE", "AND", "OR", "NOT", "MOD"})
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\{[^}]*\})
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<quoted>"(?:[^"\\]|\\.)*")
  | (?P<name>[^\W\d][\w$]*(?:\.[^\W\d][\w$]*)*|\.[^\W\d][\w$]*(?:\.[^\W\d][\w$]*)*)
  | (?P<op><>|<=|>=|\*\*|[-+*/^=<>(),\[\]!])
    """,
    re.VERBOSE,
)
_MAX_DEPTH = 60


def canonical(name: str) -> str:
    """XMILE's identifier equivalence: case-insensitive, ``_`` = space, quotes dropped.

    Examples
    --------
    >>> canonical('"Room_Temperature"'), canonical("size of one\\\\ntime")
    ('room temperature', 'size of one time')
    """
    n = name.strip()
    if len(n) >= 2 and n[0] == n[-1] == '"':
        n = n[1:-1].replace('\\"', '"')
    n = n.replace("\\n", " ").replace("_", " ")
    return " ".join(n.split()).casefold()


class _Parser(TokenCursor):
    def __init__(self, text: str) -> None:
        super().__init__(tokenize(text, _TOKEN, _KEYWORDS))
        self.depth = 0

    def parse(self) -> Node:
        node = self.expr()
        if not self._is("end"):
            raise self._fail("expected an operator or the end of the equation")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExpressionError("equation nested too deeply", column=self.tok.col)
        try:
            if self._is("kw", "IF"):
                col = self._take().col
                cond = self.expr()
                self._expect("kw", "THEN")
                then = self.expr()
                self._expect("kw", "ELSE")
                return If(cond, then, self.expr(), col)
            return self.binary(1)
        finally:
            self.depth -= 1

    _LEVELS: tuple[tuple[str, ...], ...] = (
        (),
        ("OR",),
        ("AND",),
        (),  # NOT
        ("=", "<>"),
        ("<", ">", "<=", ">="),
        ("+", "-"),
        ("*", "/", "MOD"),
    )

    def binary(self, level: int) -> Node:
        if level == 3:
            if self._is("kw", "NOT") or self._is("op", "!"):
                col = self._take().col
                return UnaryOp("NOT", self.binary(3), col)
            return self.binary(4)
        if level >= len(self._LEVELS):
            return self.unary()
        ops = self._LEVELS[level]
        left = self.binary(level + 1)
        while self.tok.kind in ("op", "kw") and self.tok.text in ops:
            t = self._take()
            right = self.binary(level + 1)
            if t.text == "MOD":
                left = Call("MOD", (left, right), t.col)
            else:
                left = BinOp(t.text, left, right, t.col)
        return left

    def unary(self) -> Node:
        if self._is("op", "-", "+"):
            t = self._take()
            operand = self.unary()
            if t.text == "-" and isinstance(operand, Num):
                return Num(-operand.value, t.col)
            return UnaryOp(t.text, operand, t.col)
        base = self.postfix()
        if self._is("op", "^", "**"):
            t = self._take()
            return BinOp("^", base, self.unary(), t.col)
        return base

    def postfix(self) -> Node:
        t = self.tok
        if t.kind == "name" and self.peek().text == "[":
            self.i += 2
            indices = [self._index()]
            while self._is("op", ","):
                self._take()
                indices.append(self._index())
            self._expect("op", "]")
            return Subscript(t.text, tuple(indices), t.col)
        return self.atom()

    def _index(self) -> str:
        if self._is("op", "*"):
            self._take()
            return "*"
        if self.tok.kind in ("name", "num"):
            text = self._take().text
            if self._is("op", "!"):  # Vensim's "all elements of" (xmutil, PySD)
                self._take()
                return text + "!"
            return text
        raise self._fail("expected an element name, a dimension name, a position or '*'")

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self._take()
            return Num(float(t.text), t.col)
        if t.kind == "name":
            self._take()
            if self._is("op", "("):
                self._take()
                args: list[Node] = []
                if not self._is("op", ")"):
                    args.append(self.expr())
                    while self._is("op", ","):
                        self._take()
                        args.append(self.expr())
                self._expect("op", ")")
                return Call(t.text, tuple(args), t.col)
            return Name(t.text, t.col)
        if self._is("op", "("):
            self._take()
            inner = self.expr()
            self._expect("op", ")")
            return inner
        raise self._fail("expected a number, a name or '('")


def parse_xmile(text: str) -> Node:
    """Parse one XMILE equation into a syntax tree (names as written).

    Examples
    --------
    >>> parse_xmile("a MOD 2")
    Call(func='MOD', args=(Name(name='a', col=1), Num(value=2.0, col=7)), col=3)
    """
    try:
        parser = _Parser(text)
        if parser.tok.kind == "end":
            raise ExpressionError("empty equation")
        return parser.parse()
    except RecursionError:
        raise ExpressionError("equation nested too deeply") from None
