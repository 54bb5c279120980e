"""Array type aliases and the compute layout, written down once.

Compute layout (structure of arrays, scenario axis last)
-------------------------------------------------------
The integrators see the whole model state as one C-ordered 2-D array ``y`` of shape
``(n_state, n_scenarios)``. Each model variable owns a contiguous block of rows:

* an organisation-level stock is one row, shape ``(n_scenarios,)``;
* a stock with dimensions ``(d1, d2, ...)`` owns ``n1 * n2 * ...`` rows and is viewed as
  ``(n1, n2, ..., n_scenarios)``; the dimension ``node`` (the org graph) is no different, so a
  node-level stock is ``(n_nodes, n_scenarios)`` and a sparse operator ``A @ X`` advances all
  scenarios with one sparse-dense product.

Parameters are arrays whose last axis is the scenario axis (length 1 when the value is shared by
all scenarios, so numpy broadcasting does the rest). Results are turned into an
``xarray.Dataset`` whose dimension order is chosen for presentation, not computation.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

__all__ = ["BoolArray", "FloatArray", "IntArray"]

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]
