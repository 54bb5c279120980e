"""Shared test configuration: Hypothesis profiles and the small sample scenario.

Choose a profile with the environment variable ``SIMDYN_HYPOTHESIS_PROFILE`` (``dev`` by
default, ``ci`` in continuous integration, ``nightly`` for long runs).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from scenario_samples import MINI_SCENARIO

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SIMDYN_HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def mini_scenario(tmp_path: Path) -> Path:
    """A small scenario file (see ``scenario_samples.py``) written to a temporary folder."""
    path = tmp_path / "mini.toml"
    path.write_text(MINI_SCENARIO)
    return path
