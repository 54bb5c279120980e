"""The Python examples in the README and the docs run as written."""

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
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for k, code in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
            out.append((f"{page.name}#{k + 1}", code))
    return out


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_python_example_runs(where: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    matplotlib.use("Agg")
    monkeypatch.setattr("builtins.print", lambda *a, **k: None)
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})
