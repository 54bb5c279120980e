"""How errors about a scenario file's tables name what they found and what was expected.

Shared by the scenario loader and by the ``[sweep]`` table's reader (:mod:`simdyn.sweep.spec`),
so that a mistake reads the same wherever it is in the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["choices_hint", "value_kind"]


def choices_hint(word: str, options: Iterable[str]) -> str:
    """A hint for an unknown ``word``: the closest option, or all of them.

    Examples
    --------
    >>> choices_hint("sobl", ["lhs", "sobol"])
    "did you mean 'sobol'?"
    >>> choices_hint("x", ["lhs", "sobol"])
    'expected one of: lhs, sobol'
    """
    options = list(options)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "expected one of: " + ", ".join(options)


def value_kind(value: Any) -> str:
    """What a TOML value is, for a message such as ``expected a number, not a string ('x')``.

    Examples
    --------
    >>> value_kind(True), value_kind("x"), value_kind(3), value_kind([1])
    ('a boolean (true)', "a string ('x')", 'a number (3)', 'a list')
    """
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
