"""How close two runs of the same arithmetic must be.

numpy picks its SIMD kernels (exp, log, power, reductions) by CPU at run time and numba lets LLVM
contract and reorder differently from numpy, so the same equations give results that differ in
the last bits from machine to machine and between backends. Two runs are the same when every
value is within ``rtol`` of the value itself or of the largest magnitude the variable takes in
the run, or within ``floor`` absolutely: a difference of two terms (``capacity - demand``, a
gap over an adjustment time) keeps the absolute error of its terms, not a relative error of its
own small result, and the built-in models' terms are of order one or given by the scale.
"""

from __future__ import annotations

import numpy as np


def assert_same_run(
    actual: np.ndarray, desired: np.ndarray, *, rtol: float, err_msg: str, floor: float = 1e-14
) -> None:
    """Assert ``actual`` equals ``desired`` to ``rtol`` of each value or of its scale, or ``floor``."""
    actual = np.asarray(actual)
    desired = np.asarray(desired)
    assert actual.shape == desired.shape, f"{err_msg}: shape {actual.shape} != {desired.shape}"
    if desired.dtype.kind != "f":
        np.testing.assert_array_equal(actual, desired, err_msg=err_msg, strict=True)
        return
    finite = np.isfinite(desired)
    scale = float(np.max(np.abs(desired[finite]), initial=0.0))
    np.testing.assert_allclose(
        actual, desired, rtol=rtol, atol=max(rtol * scale, floor), err_msg=err_msg
    )
