"""Chunk size changes results only by rounding, at the tolerance docs/api-contract.md states."""

from __future__ import annotations

import numpy as np
import pytest

import simdyn
from simdyn.errors import ScenarioError
from simdyn.network import org_graph


def test_network_results_within_documented_tolerance_of_chunk_size() -> None:
    model = simdyn.load_model("learning_org_network")
    graph = org_graph(40, seed=1)
    name = next(
        c
        for c, v in model.constants.items()
        if not v.dims and float(v.value) > 0 and (v.min is None or v.max is None or v.min < v.max)
    )
    values = float(model.constants[name].value) * np.linspace(0.9, 1.1, 4)
    kwargs = {"params": {name: values}, "network": graph, "stop": 12, "seed": 3}
    whole = simdyn.simulate(model, method="rk4", **kwargs)
    single = simdyn.simulate(model, method="rk4", chunk_size=1, **kwargs)
    for var in whole.data_vars:
        a, b = whole[var].values, single[var].values
        if a.dtype.kind != "f":
            assert np.array_equal(a, b), var
            continue
        scale = float(np.nanmax(np.abs(a))) if np.isfinite(a).any() else 0.0
        assert np.nanmax(np.abs(a - b), initial=0.0) <= 1e-9 * max(scale, 1e-300), var


@pytest.mark.parametrize("size", [0, -1, 2.5, True, "8"])
def test_chunk_size_must_be_a_positive_integer(size: object) -> None:
    with pytest.raises(ScenarioError, match="chunk_size must be a positive whole number"):
        simdyn.simulate("teacup", chunk_size=size, method="euler")  # type: ignore[arg-type]
