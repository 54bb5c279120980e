"""Shared test configuration: Hypothesis profiles.

Choose a profile with the environment variable ``SIMDYN_HYPOTHESIS_PROFILE`` (``dev`` by
default, ``ci`` in continuous integration, ``nightly`` for long runs).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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
