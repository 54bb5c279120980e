"""Tokens and a token cursor for recursive-descent parsers of equation text.

Both equation languages (simdyn's own in :mod:`simdyn.expr.parser`, XMILE's in
:mod:`simdyn.model.xmile_expr`) cut text into tokens with one regular expression of named
groups and walk the tokens with the same cursor; they differ in the expression and the grammar.
The groups the expression may have: ``ws`` (skipped), ``num``, ``name``, ``quoted`` (a quoted
name, kept as a ``name`` token with its quotes), ``op``. A ``name`` that is a keyword becomes a
``kw`` token in upper case; the last token is ``end``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from simdyn.errors import ExpressionError

__all__ = ["Tok", "TokenCursor", "tokenize"]


@dataclass(frozen=True)
class Tok:
    """One token: its kind (``num``, ``name``, ``kw``, ``op``, ``end``), text and 1-based column."""

    kind: str
    text: str
    col: int


def tokenize(
    text: str, pattern: re.Pattern[str], keywords: Collection[str], *, hint: str | None = None
) -> list[Tok]:
    """The tokens of ``text``; an unknown character is an :class:`ExpressionError` at its column."""
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = pattern.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r}", column=pos + 1, hint=hint)
        kind = m.lastgroup or ""
        word = m.group()
        if kind == "quoted":
            toks.append(Tok("name", word, pos + 1))
        elif kind == "name" and word.upper() in keywords:
            toks.append(Tok("kw", word.upper(), pos + 1))
        elif kind != "ws":
            toks.append(Tok(kind, word, pos + 1))
        pos = m.end()
    toks.append(Tok("end", "", len(text) + 1))
    return toks


class TokenCursor:
    """A position in a token list, with the look-ahead and error helpers a parser needs."""

    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0

    @property
    def tok(self) -> Tok:
        """The current token."""
        return self.toks[self.i]

    def peek(self, ahead: int = 1) -> Tok:
        """The token ``ahead`` places after the current one (``end`` past the last)."""
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def _is(self, kind: str, *texts: str) -> bool:
        t = self.tok
        return t.kind == kind and (not texts or t.text in texts)

    def _take(self) -> Tok:
        t = self.tok
        self.i += 1
        return t

    def _fail(self, what: str) -> ExpressionError:
        """The error to raise at the current token: ``what``, and what was found instead."""
        t = self.tok
        found = "end of equation" if t.kind == "end" else repr(t.text)
        return ExpressionError(f"{what}, found {found}", column=t.col)

    def _expect(self, kind: str, text: str, what: str = "") -> Tok:
        if not self._is(kind, text):
            raise self._fail(f"expected {what or repr(text)}")
        return self._take()
