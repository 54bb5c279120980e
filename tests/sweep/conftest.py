"""Fixtures of the sweep tests: the small test models and their sweep scenarios."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of ``tests/sweep/data`` (models and sweep scenarios) in a temporary folder."""
    out = tmp_path / "data"
    shutil.copytree(DATA, out)
    return out
