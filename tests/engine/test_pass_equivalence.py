"""Outputs of the built-in models are bit-identical to those stored before the compiler passes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from reference_runs import DATA, flat


@pytest.fixture(scope="module")
def outputs() -> dict[str, np.ndarray]:
    return flat()


def test_outputs_are_bit_identical_to_the_stored_ones(outputs: dict[str, np.ndarray]) -> None:
    stored = np.load(DATA)
    assert sorted(stored.files) == sorted(outputs)
    for key in stored.files:
        np.testing.assert_array_equal(outputs[key], stored[key], err_msg=key, strict=True)
