"""Outputs of the built-in models equal those stored before the compiler passes.

Equal means the same to 1e-13 of each value or of the variable's scale (1e-9 for the adaptive
RK45; see ``closeness``): numpy's CPU-dispatched kernels differ in the last bits between machines,
so bit equality holds only on the machine that stored the outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from closeness import assert_same_run
from reference_runs import DATA, flat


@pytest.fixture(scope="module")
def outputs() -> dict[str, np.ndarray]:
    return flat()


def test_outputs_equal_the_stored_ones(outputs: dict[str, np.ndarray]) -> None:
    stored = np.load(DATA)
    assert sorted(stored.files) == sorted(outputs)
    for key in stored.files:
        # an adaptive method's step-size control turns last-bit differences into differences of
        # accepted steps: still far inside the solver's own tolerance (rtol 1e-6)
        rtol = 1e-9 if "/RK45/" in key else 1e-13
        assert_same_run(outputs[key], stored[key], rtol=rtol, err_msg=key)
