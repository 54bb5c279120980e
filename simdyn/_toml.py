"""Read TOML (model and scenario files) with the line of every key.

:mod:`tomllib` parses TOML but forgets where each key was written. :func:`key_lines` scans the
same text a second time, only far enough to record the 1-based line on which each key path
starts, so that an error can point at ``file:line``. A key path is a tuple of table keys and
array indices, for example ``("policies", "freeze", "at")`` or ``("points", 2)``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simdyn._files import read_input_text
from simdyn.errors import SimdynError

__all__ = [
    "KeyPath",
    "Origin",
    "TomlDocument",
    "dotted",
    "key_lines",
    "load_toml",
    "locate",
    "parse_toml",
]

KeyPath = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_DECODE_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class Origin:
    """Where a key was written: the file, the line and the key's path in that file."""

    file: str
    line: int | None
    path: KeyPath


def locate(origins: Mapping[KeyPath, Origin], path: KeyPath) -> tuple[str | None, int | None, str]:
    """Return ``(file, line, dotted key)`` for ``path``, using its longest known prefix.

    Examples
    --------
    >>> origins = {("time",): Origin("a.toml", 3, ("variants", "x", "time"))}
    >>> locate(origins, ("time", "stop"))
    ('a.toml', 3, 'variants.x.time.stop')
    """
    for cut in range(len(path), -1, -1):
        origin = origins.get(path[:cut])
        if origin is not None:
            return origin.file, origin.line, dotted((*origin.path, *path[cut:]))
    return None, None, dotted(path)


def dotted(path: KeyPath) -> str:
    """Write a key path as TOML-like text: ``policies.freeze.points[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def parse_toml(
    text: str,
    *,
    file: str | None,
    error: type[SimdynError] = SimdynError,
    hint: str = "see https://toml.io",
) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """Parse TOML ``text`` into a dict and a map from key path to line.

    Raises
    ------
    SimdynError
        (of class ``error``) When the text is not valid TOML, located at the line the TOML
        parser reports.

    Examples
    --------
    >>> data, lines = parse_toml("a = 1\\n[t]\\nb = { c = 2 }\\n", file=None)
    >>> data["t"]["b"]["c"], lines[("t", "b", "c")]
    (2, 3)
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _DECODE_POS.search(message)
        line = int(match.group(1)) if match else None
        what = _DECODE_POS.sub("", message).strip() or "invalid TOML"
        raise error(f"not valid TOML: {what}", file=file, line=line, hint=hint) from None
    return data, key_lines(text)


def key_lines(text: str) -> dict[KeyPath, int]:
    """Return the 1-based line where each key path of a valid TOML document is written.

    Tables opened by a header map to the header's line; keys inside inline tables and
    elements of arrays map to the line they appear on.

    Examples
    --------
    >>> lines = key_lines('[[goals]]\\nvalue = 1\\n[[goals]]\\nvalue = [\\n 1,\\n 2]\\n')
    >>> lines[("goals", 1, "value")], lines[("goals", 1, "value", 1)]
    (4, 6)
    """
    return _Scanner(text).run()


@dataclass
class TomlDocument:
    """A parsed TOML document with the line of each key path."""

    data: dict[str, Any]
    path: str | None = None
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int | None:
        """Line of the longest prefix of ``path`` that was found, or ``None``."""
        for n in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:n]))
            if found is not None:
                return found
        return None


def load_toml(
    path: str | Path,
    *,
    error: type[SimdynError] = SimdynError,
    hint: str = "see https://toml.io",
    what: str = "file",
) -> TomlDocument:
    """Read and parse a TOML file; any failure is an ``error`` naming the file (and line).

    Only a regular UTF-8 text file of at most :data:`simdyn._files.MAX_TEXT_BYTES` is read
    (see :func:`simdyn._files.read_input_text`); ``what`` names it in messages.
    """
    p = Path(path)
    text = read_input_text(p, what=what, error=error)
    data, lines = parse_toml(text, file=str(p), error=error, hint=hint)
    return TomlDocument(data, str(p), lines)


class _Scanner:
    """A forgiving scanner over text that :mod:`tomllib` has already accepted."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.out: dict[KeyPath, int] = {}
        self.array_counts: dict[KeyPath, int] = {}

    # -- low-level helpers -------------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        chunk = self.s[self.i : self.i + n]
        self.line += chunk.count("\n")
        self.i += n

    def skip_ws(self, newlines: bool) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                end = self.s.find("\n", self.i)
                self.advance((len(self.s) if end < 0 else end) - self.i)
            else:
                return

    def read_string(self) -> str:
        quote = self.s[self.i]
        if self.peek(3) == quote * 3:
            self.advance(3)
            end = self.s.find(quote * 3, self.i)
            end = len(self.s) if end < 0 else end
            while self.s[end + 3 : end + 4] == quote:  # up to two quotes may close the string
                end += 1
            value = self.s[self.i : end]
            self.advance(end + 3 - self.i)
            return value
        self.advance()
        start = self.i
        while self.i < len(self.s) and self.s[self.i] != quote:
            if quote == '"' and self.s[self.i] == "\\":
                self.advance()
            self.advance()
        value = self.s[start : self.i]
        self.advance()
        if quote == '"':
            try:
                decoded = tomllib.loads(f'k = "{value}"')["k"]
                return str(decoded)
            except tomllib.TOMLDecodeError:
                return value
        return value

    def read_key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_ws(newlines=False)
            c = self.peek()
            if c in ('"', "'"):
                parts.append(self.read_string())
            else:
                match = _BARE.match(self.s, self.i)
                if match is None:
                    return parts
                parts.append(match.group(0))
                self.advance(match.end() - self.i)
            self.skip_ws(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    # -- grammar -----------------------------------------------------------------------------
    def run(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        while True:
            self.skip_ws(newlines=True)
            if self.i >= len(self.s):
                return self.out
            if self.peek(2) == "[[":
                line = self.line
                self.advance(2)
                base = self.resolve(tuple(self.read_key()))
                self.skip_ws(newlines=False)
                self.advance(2)
                index = self.array_counts.get(base, 0)
                self.array_counts[base] = index + 1
                self.out.setdefault(base, line)
                table = (*base, index)
                self.out[table] = line
            elif self.peek() == "[":
                line = self.line
                self.advance()
                table = self.resolve(tuple(self.read_key()))
                self.skip_ws(newlines=False)
                self.advance()
                self.out.setdefault(table, line)
            else:
                self.key_value(table)

    def resolve(self, path: tuple[str, ...]) -> KeyPath:
        """Insert the current index of every array of tables along ``path``."""
        out: list[str | int] = []
        for part in path:
            out.append(part)
            count = self.array_counts.get(tuple(out))
            if count is not None and tuple(out) != path:
                out.append(count - 1)
        return tuple(out)

    def key_value(self, table: KeyPath) -> None:
        line = self.line
        key = self.read_key()
        if not key:  # not a key: skip a character so that the scan always ends
            self.advance()
            return
        for depth in range(1, len(key) + 1):
            self.out.setdefault((*table, *key[:depth]), line)
        self.skip_ws(newlines=False)
        if self.peek() == "=":
            self.advance()
        self.value((*table, *key))

    def value(self, path: KeyPath) -> None:
        self.skip_ws(newlines=False)
        c = self.peek()
        if c in ('"', "'"):
            self.read_string()
        elif c == "{":
            self.advance()
            while True:
                self.skip_ws(newlines=True)
                if self.peek() in ("}", ""):
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.key_value(path)
        elif c == "[":
            self.advance()
            index = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() in ("]", ""):
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.out[(*path, index)] = self.line
                self.value((*path, index))
                index += 1
        else:
            match = re.compile(r"[^,\]}\s#]+").match(self.s, self.i)
            if match is not None:
                self.advance(match.end() - self.i)
            # dates with a space ("1979-05-27 07:32:00") leave a tail the caller skips
