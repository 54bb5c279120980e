"""The Python examples in the README and the docs run as written.

An example followed directly by a plain code block shows what it prints: that block must be
what it prints (compared word by word, so column alignment may differ).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    ROOT / "docs" / "network.md",
    ROOT / "docs" / "api-contract.md",
    ROOT / "docs" / "xmile.md",
    ROOT / "docs" / "sweeps.md",
    ROOT / "docs" / "loops.md",
]
BLOCK = re.compile(r"```python\n(.*?)```(?:\n\n```\n(.*?)```)?", re.DOTALL)


def blocks() -> list[tuple[str, str, str]]:
    out = []
    for page in PAGES:
        for k, (code, shown) in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
            out.append((f"{page.name}#{k + 1}", code, shown))
    return out


@pytest.mark.parametrize(("where", "code", "shown"), blocks(), ids=[w for w, _, _ in blocks()])
def test_python_example_runs(
    where: str, code: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    matplotlib.use("Agg")
    printed: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})
    if shown:
        assert "\n".join(printed).split() == shown.split(), f"{where} prints:\n" + "\n".join(
            printed
        )
