"""Read TOML files and say on which line a key stands.

:mod:`tomllib` parses but keeps no positions; :class:`TomlDocument` adds a best-effort map from
key paths to line numbers so that errors can point at ``file:line``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simdyn.errors import SimdynError

__all__ = ["TomlDocument", "load_toml"]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return tuple(p.strip("\"'") for p in parts)


@dataclass
class TomlDocument:
    """A parsed TOML document with the line of each key it could place."""

    data: dict[str, Any]
    path: str | None = None
    text: str = ""
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, path: str | None = None) -> TomlDocument:
        """Parse ``text``; a syntax error becomes a :class:`SimdynError` naming the line."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
            line = int(m.group(1)) if m else None
            what = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
            raise SimdynError(
                f"not valid TOML: {what}", file=path, line=line, hint="see https://toml.io"
            ) from None
        doc = cls(data=data, path=path, text=text)
        doc._index()
        return doc

    def _index(self) -> None:
        table: tuple[str, ...] = ()
        for no, raw in enumerate(self.text.splitlines(), start=1):
            h = _HEADER.match(raw)
            if h and not raw.lstrip().startswith("#"):
                table = _split_key(h.group(1))
                self.lines.setdefault(table, no)
                continue
            k = _KEY.match(raw)
            if k:
                self.lines.setdefault(table + _split_key(k.group(1)), no)

    def line(self, *path: str) -> int | None:
        """Line of the longest prefix of ``path`` that was found, or ``None``."""
        for n in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:n]))
            if found is not None:
                return found
        return None


def load_toml(path: str | Path) -> TomlDocument:
    """Read and parse a TOML file; any failure is a :class:`SimdynError` naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SimdynError("file not found", file=str(p)) from None
    except IsADirectoryError:
        raise SimdynError("is a directory, not a TOML file", file=str(p)) from None
    except UnicodeDecodeError:
        raise SimdynError("not a UTF-8 text file", file=str(p)) from None
    except OSError as exc:
        raise SimdynError(f"cannot read: {exc.strerror}", file=str(p)) from None
    return TomlDocument.from_text(text, str(p))
