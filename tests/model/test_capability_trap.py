"""Capability trap (Repenning & Sterman): golden values of model-science §1.2."""

import numpy as np
import pytest

import simdyn

# (capability, performance) at weeks 20, 40, 100 from an independent Euler re-integration, dt 1/16.
GOLDEN = {
    "equilibrium": ({}, [(100.0, 3000), (100.0, 3000), (100.0, 3000)]),
    "trap": ({"pressure_step": -0.05}, [(85.7, 2731), (60.6, 2075), (65.7, 2194)]),
    "escape": ({"pressure_step": 0.10}, [(107.2, 2903), (127.6, 3300), (137.5, 3518)]),
    "demand": ({"demand_step": 500}, [(98.9, 2995), (98.5, 2966), (99.2, 2984)]),
}


@pytest.fixture(scope="module")
def golden_run():
    model = simdyn.load_model("capability_trap")
    names = list(GOLDEN)
    params = {
        "pressure_step": [GOLDEN[n][0].get("pressure_step", 0.0) for n in names],
        "demand_step": [GOLDEN[n][0].get("demand_step", 0.0) for n in names],
    }
    ds = simdyn.simulate(model, params=params, dt=1 / 16, method="euler")
    return names, ds


def test_golden_values_at_their_printed_precision(golden_run):
    """Capability is printed to 0.1, performance to 1: each must round to the printed figure."""
    names, ds = golden_run
    for i, name in enumerate(names):
        for week, (cap, perf) in zip((20, 40, 100), GOLDEN[name][1], strict=True):
            got = ds.isel(scenario=i).sel(time=week)
            assert abs(float(got.capability) - cap) <= 0.05 + 1e-9, (
                name,
                week,
                float(got.capability),
            )
            assert abs(float(got.performance) - perf) <= 0.5 + 1e-9, (
                name,
                week,
                float(got.performance),
            )


def test_default_constants_are_the_equilibrium():
    ds = simdyn.simulate(simdyn.load_model("capability_trap"))
    assert np.allclose(ds.performance.values, 3000)
    assert np.allclose(ds.capability.values, 100)


@pytest.mark.parametrize("dt", [1 / 16, 1 / 32])
def test_trap_is_worse_later_and_escape_is_worse_before_better(dt):
    model = simdyn.load_model("capability_trap")
    ds = simdyn.simulate(model, params={"pressure_step": [-0.05, 0.10]}, dt=dt)
    trap, escape = (ds.performance.isel(scenario=i) for i in (0, 1))
    # the trap does not recover by week 100
    assert float(trap.sel(time=100)) < 0.8 * 3000
    # the escape dips below the start before it ends well above it
    assert float(escape.sel(time=slice(10, 30)).min()) < 0.98 * 3000
    assert float(escape.sel(time=100)) > 1.1 * 3000
