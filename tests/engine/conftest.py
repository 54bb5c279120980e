"""Fixtures for the engine tests: small models built from dicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import simdyn


def build(
    auxiliaries: dict[str, Any] | None = None,
    *,
    constants: dict[str, Any] | None = None,
    stocks: dict[str, Any] | None = None,
    flows: dict[str, Any] | None = None,
    dimensions: dict[str, Any] | None = None,
    lookups: dict[str, Any] | None = None,
    time: dict[str, Any] | None = None,
) -> simdyn.Model:
    """A model named ``t`` from its tables (time 0..1, dt 0.25 unless given)."""
    data: dict[str, Any] = {
        "model": {"name": "t", "time_units": "s"},
        "time": time or {"start": 0, "stop": 1, "dt": 0.25},
    }
    for key, table in (
        ("constants", constants),
        ("stocks", stocks),
        ("flows", flows),
        ("auxiliaries", auxiliaries),
        ("dimensions", dimensions),
        ("lookups", lookups),
    ):
        if table:
            data[key] = table
    return simdyn.model_from_dict(data)


@pytest.fixture(scope="session")
def make_model() -> Callable[..., simdyn.Model]:
    """Build a small model from its tables; see :func:`build`."""
    return build
