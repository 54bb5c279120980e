"""The fixed pipeline ``DELAY(x, tau[, init])`` in the compiled kernel gives numpy's numbers.

The kernel keeps each scenario's recorded inputs (one row per step) and reads them with the
rule of :meth:`simdyn.model.runtime.History.lookup`: before the delay has elapsed, between
recorded steps, within the current step, with and without ``init``, inside a feedback loop.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simdyn
from simdyn.model.compile import to_ir
from simdyn.model.emit.numba import kernel_source

sys.path.insert(0, str(Path(__file__).parent))
from closeness import assert_same_run

pytest.importorskip("numba")

METHODS = ("euler", "rk2", "rk4")

#: a pipeline of a signal with a step and a ramp, one with init, one in an order-book loop,
#: one over a dimension with a per-element delay time, one with a delay time that changes
PIPELINES: dict[str, Any] = {
    "model": {"name": "compiled_pipeline", "time_units": "day"},
    "time": {"start": 0, "stop": 10, "dt": 0.25, "save_per": 0.5},
    "dimensions": {"team": ["a", "b"]},
    "constants": {"tau": 2.0, "lag": {"value": [1.0, 3.0], "dims": ["team"]}},
    "stocks": {
        "backlog": {"initial": "20", "inflows": ["ordering"], "outflows": ["shipping"]},
        "w": {"initial": "1", "inflows": ["growth"], "dims": ["team"]},
    },
    "flows": {
        "ordering": {"equation": "orders"},
        "shipping": {"equation": "shipments"},
        "growth": {"equation": "0.1 * late_w + STEP(1, 2)", "dims": ["team"]},
    },
    "auxiliaries": {
        "x": {"equation": "STEP(1, 1) + RAMP(0.5, 4) + SIN(3 * TIME)"},
        "plain": {"equation": "DELAY(x, tau)"},
        "held": {"equation": "DELAY(x, tau, 42)"},
        "orders": {"equation": "10 + 0.5 * (20 - backlog) + STEP(5, 1) + SIN(TIME)"},
        "shipments": {"equation": "DELAY(orders, tau, 10)"},
        "late_w": {"equation": "DELAY(w, lag + tau / 4, w)", "dims": ["team"]},
        "sliding": {"equation": "DELAY(x, tau * (1 + 0.1 * TIME))"},
    },
}

#: delay times: shorter than a step, none, a few steps, between steps, longer than the run
TAUS = [0.1, 0.0, 0.5, 2.0, 3.3, 12.0]


def _compare(model: simdyn.Model, params: dict[str, Any], method: str) -> None:
    ref = simdyn.simulate(model, params=params, method=method, backend="numpy")
    got = simdyn.simulate(model, params=params, method=method, backend="compiled")
    assert got.attrs["backend"] == "compiled"
    assert set(got.data_vars) == set(ref.data_vars)
    for name, var in ref.data_vars.items():
        assert_same_run(got[name].values, var.values, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("method", METHODS)
def test_fixed_delays_give_the_numpy_numbers(method: str) -> None:
    model = simdyn.model_from_dict(PIPELINES)
    _compare(model, {"tau": TAUS, "lag[b]": [3.0, 0.2, 1.0, 5.0, 0.0, 2.5]}, method)


def test_fixed_delays_in_many_blocks_run_in_parallel() -> None:
    model = simdyn.model_from_dict(PIPELINES)
    _compare(model, {"tau": np.linspace(0.0, 6.0, 700)}, "rk4")


def test_the_delay_is_in_the_kernel_and_its_values_are_right() -> None:
    model = simdyn.model_from_dict(PIPELINES)
    assert "_history(H, T, nh, " in kernel_source(to_ir(model.spec))
    ds = simdyn.simulate(model, params={"tau": [2.0, 3.5]}, method="euler", backend="compiled")
    t = ds.time.values
    x = ds.x.values
    held = ds.held.values
    for k, tau in enumerate([2.0, 3.5]):
        lag = round(tau / 0.5)  # saved every 0.5
        np.testing.assert_allclose(held[t < tau, k], 42.0)
        np.testing.assert_allclose(ds.plain.values[t < tau, k], x[0, k])
        np.testing.assert_allclose(ds.plain.values[lag:, k], x[:-lag, k], atol=1e-12)
        np.testing.assert_allclose(held[lag:, k], x[:-lag, k], atol=1e-12)


def test_auto_runs_a_fixed_delay_compiled_when_it_is_worth_it() -> None:
    model = simdyn.model_from_dict(PIPELINES)
    # compiled and cached: the kernel and Euler's parallel driver (more than one block)
    tau = np.linspace(1.0, 3.0, 600)
    simdyn.simulate(model, params={"tau": tau}, method="euler", backend="compiled")
    ds = simdyn.simulate(model, params={"tau": np.linspace(1.0, 3.0, 60_000)}, method="euler")
    assert ds.attrs["backend"] == "compiled"


#: delay times that are constants: the kernel keeps a ring of the latest steps, not all of them
RING: dict[str, Any] = {
    "model": {"name": "compiled_ring", "time_units": "day"},
    "time": {"start": 0, "stop": 20, "dt": 0.25, "save_per": 0.5},
    "dimensions": {"team": ["a", "b"]},
    "constants": {"tau": 2.0, "lag": {"value": [1.0, 3.0], "dims": ["team"]}},
    "stocks": {"w": {"initial": "1", "inflows": ["growth"], "dims": ["team"]}},
    "flows": {"growth": {"equation": "0.1 * late_w - 0.05 * w + STEP(1, 2)", "dims": ["team"]}},
    "auxiliaries": {
        "x": {"equation": "STEP(1, 1) + RAMP(0.5, 4) + SIN(3 * TIME)"},
        "plain": {"equation": "DELAY(x, tau)"},
        "held": {"equation": "DELAY(x, 1.5, 42)"},
        "late_w": {"equation": "DELAY(w, lag, w)", "dims": ["team"]},
    },
}


def test_constant_delay_times_keep_only_the_rows_a_read_can_reach() -> None:
    from simdyn.model.emit.numba_history import history_rows

    model = simdyn.model_from_dict(RING)
    program = to_ir(model.spec)
    kernel = model.kernel()
    P = np.zeros((kernel.n_params, 3))
    P[kernel.constant_rows["tau"]] = [0.1, 2.0, 3.3]
    lag = kernel.constant_rows["lag"]
    P[lag : lag + 2] = [[1.0, 0.5, 0.0], [3.0, 4.9, 0.2]]
    assert history_rows(program, kernel.constant_rows, P, 0.25, 80) == 20 + 3  # 4.9 / 0.25 + 3
    P[kernel.constant_rows["tau"], 1] = np.nan  # no bound: every step
    assert history_rows(program, kernel.constant_rows, P, 0.25, 80) == 81
    assert history_rows(to_ir(simdyn.model_from_dict(PIPELINES).spec), {}, P, 0.25, 80) == 81
    for method in METHODS:
        _compare(model, {"tau": TAUS, "lag[b]": [3.0, 0.2, 1.0, 5.0, 0.0, 2.5]}, method)
