"""Tokenizer and recursive-descent parser for the equation language.

The grammar (lowest precedence first)::

    expr    := IF expr THEN expr ELSE expr | or
    or      := and (OR and)*
    and     := not (AND not)*
    not     := NOT not | cmp
    cmp     := add (("=" | "<>" | "<" | ">" | "<=" | ">=") add)?
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := postfix ("^" unary)?          # right-associative; -2^2 = -(2^2)
    postfix := NAME "[" index ("," index)* "]" | atom
    atom    := NUMBER | NAME | NAME "(" [expr ("," expr)*] ")" | "(" expr ")"

Only this grammar is accepted; nothing of the text reaches Python's ``eval``.
"""

from __future__ import annotations

import math
import re

from simdyn.errors import ExpressionError
from simdyn.expr.ast import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp
from simdyn.expr.tokens import TokenCursor, tokenize

__all__ = ["KEYWORDS", "parse"]

KEYWORDS = frozenset({"IF", "THEN", "ELSE", "AND", "OR", "NOT"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|<=|>=|[-+*/^=<>(),\[\]])
    """,
    re.VERBOSE,
)

_MAX_LENGTH = 20_000
# Nesting (parentheses, calls, unary operators, IF) and operator counts are bounded so that the
# generated numpy code stays within the limits of Python's own parser and compiler.
_MAX_DEPTH = 50
_MAX_OPERATORS = 2_000


_HINT = "equations use numbers, names, + - * / ^ = <> < > <= >= ( ) [ ] ,"


class _Parser(TokenCursor):
    def __init__(self, text: str) -> None:
        super().__init__(tokenize(text, _TOKEN, KEYWORDS, hint=_HINT))
        self.depth = 0
        self.operators = 0

    def _binop(self, op: str, left: Node, right: Node, col: int) -> BinOp:
        self.operators += 1
        if self.operators > _MAX_OPERATORS:
            raise ExpressionError(
                f"equation has more than {_MAX_OPERATORS} operators",
                column=col,
                hint="split it into several auxiliaries",
            )
        return BinOp(op, left, right, col)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExpressionError(
                "equation nested too deeply",
                column=self.tok.col,
                hint="split it into several auxiliaries",
            )

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.expr()
        if not self._is("end"):
            raise self._fail("expected an operator or the end of the equation")
        return node

    def expr(self) -> Node:
        self._enter()
        try:
            if self._is("kw", "IF"):
                col = self._take().col
                cond = self.expr()
                self._expect("kw", "THEN", "THEN")
                then = self.expr()
                self._expect("kw", "ELSE", "ELSE")
                otherwise = self.expr()
                return If(cond, then, otherwise, col)
            return self.or_()
        finally:
            self.depth -= 1

    def or_(self) -> Node:
        left = self.and_()
        while self._is("kw", "OR"):
            col = self._take().col
            left = self._binop("OR", left, self.and_(), col)
        return left

    def and_(self) -> Node:
        left = self.not_()
        while self._is("kw", "AND"):
            col = self._take().col
            left = self._binop("AND", left, self.not_(), col)
        return left

    def not_(self) -> Node:
        if self._is("kw", "NOT"):
            col = self._take().col
            self._enter()
            try:
                return UnaryOp("NOT", self.not_(), col)
            finally:
                self.depth -= 1
        return self.cmp()

    def cmp(self) -> Node:
        left = self.add()
        if self.tok.kind == "op" and self.tok.text in ("=", "<>", "<", ">", "<=", ">="):
            t = self._take()
            right = self.add()
            if self.tok.kind == "op" and self.tok.text in ("=", "<>", "<", ">", "<=", ">="):
                raise self._fail("comparisons cannot be chained; use AND")
            return self._binop(t.text, left, right, t.col)
        return left

    def add(self) -> Node:
        left = self.mul()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            t = self._take()
            left = self._binop(t.text, left, self.mul(), t.col)
        return left

    def mul(self) -> Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            t = self._take()
            left = self._binop(t.text, left, self.unary(), t.col)
        return left

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in ("-", "+"):
            t = self._take()
            self._enter()
            try:
                return UnaryOp(t.text, self.unary(), t.col)
            finally:
                self.depth -= 1
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self._is("op", "^"):
            t = self._take()
            self._enter()
            try:
                return self._binop("^", base, self.unary(), t.col)
            finally:
                self.depth -= 1
        return base

    def postfix(self) -> Node:
        t = self.tok
        if t.kind == "name" and self.peek().kind == "op" and self.peek().text == "[":
            self.i += 2
            indices = [self._index()]
            while self._is("op", ","):
                self._take()
                indices.append(self._index())
            self._expect("op", "]", "']'")
            return Subscript(t.text, tuple(indices), t.col)
        return self.atom()

    def _index(self) -> str:
        if self._is("op", "*"):
            self._take()
            return "*"
        if self.tok.kind == "name":
            return self._take().text
        if self.tok.kind == "num":
            raise self._fail("expected an element name or '*' (elements are named, not numbered)")
        raise self._fail("expected an element name or '*'")

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self._take()
            number = float(t.text)
            if not math.isfinite(number):
                raise ExpressionError(f"number {t.text} is too large", column=t.col)
            return Num(number, t.col)
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
                self._expect("op", ")", "',' or ')'")
                return Call(t.text, tuple(args), t.col)
            return Name(t.text, t.col)
        if self._is("op", "("):
            self._take()
            inner = self.expr()
            self._expect("op", ")", "')'")
            return inner
        if t.kind == "kw":
            raise self._fail(f"{t.text} cannot start a value")
        raise self._fail("expected a number, a name or '('")


def parse(text: str) -> Node:
    """Parse one equation into a syntax tree.

    Parameters
    ----------
    text
        The equation, for example ``"(temp - room) / tau"``.

    Raises
    ------
    ExpressionError
        With ``column`` set to the 1-based position of the problem.

    Examples
    --------
    >>> parse("2 ^ 3 ^ 2")
    BinOp(op='^', left=Num(value=2.0, col=1), right=BinOp(op='^', left=Num(value=3.0, col=5), right=Num(value=2.0, col=9), col=7), col=3)
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an equation must be text, not {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(f"equation longer than {_MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError("empty equation", hint="write a number or an expression")
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise ExpressionError(
            "equation nested too deeply", hint="split it into several auxiliaries"
        ) from None
