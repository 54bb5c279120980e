"""Every numeric failure is a per-scenario status, never an exception or a hang."""

from __future__ import annotations

import time

import pytest

import simdyn
from simdyn.model import Model
from simdyn.model.loader import spec_from_dict

METHODS = ["euler", "rk4", "RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau"]


def _model(initial: str, flow: str, aux: str = "0") -> Model:
    return Model(
        spec_from_dict(
            {
                "model": {"name": "x", "time_units": "month"},
                "time": {"stop": 6, "dt": 0.5},
                "constants": {"a": {"value": 1.0}},
                "stocks": {"s": {"initial": initial, "inflows": ["f"]}},
                "flows": {"f": {"equation": flow}},
                "auxiliaries": {"g": {"equation": aux}},
            }
        )
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("initial", "flow", "aux", "variable", "t"),
    [
        ("1", "0 / 0", "0", "f", 0.0),  # NaN derivative at t = 0
        ("1 / 0", "1", "0", "s", 0.0),  # infinite initial value
        ("1", "0.1 * s", "1 / TIME", "g", 0.0),  # scalar division by zero at t = 0
        ("1", "0.1 * s", "LN(-a)", "g", 0.0),
        ("1", "0.1 * s", "ARCCOS(2 * a)", "g", 0.0),
        ("1", "1 / (TIME - 3)", "0", None, 3.0),
    ],
)
def test_failure_is_a_status_and_stops_cleanly(
    method: str, initial: str, flow: str, aux: str, variable: str | None, t: float
) -> None:
    began = time.perf_counter()
    ds = simdyn.simulate(_model(initial, flow, aux), method=method, params={"a": [1.0, 2.0]})
    assert time.perf_counter() - began < 20
    assert ds.status.values.tolist() == [1, 1]
    if variable is not None:
        assert ds.failed_variable.values.tolist() == [variable, variable]
    assert abs(float(ds.failed_time.values[0]) - t) < 1e-6


def test_a_failing_hidden_stock_is_named_by_the_variable_whose_delay_holds_it() -> None:
    model = Model(
        spec_from_dict(
            {
                "model": {"name": "x", "time_units": "month"},
                "time": {"stop": 6, "dt": 0.5},
                "stocks": {"s": {"initial": "1", "inflows": ["f"]}},
                "flows": {"f": {"equation": "0"}},
                "auxiliaries": {"late_input": {"equation": "DELAYN(1 / (TIME - 2), 1, 3)"}},
            }
        )
    )
    ds = simdyn.simulate(model, method="euler", save=["s"])
    assert int(ds.status[0]) == 1
    assert str(ds.failed_variable[0].values) == "late_input (stage 1 of its DELAYN)"
