"""Batches: k scenarios at once equal k single runs; chunking, non-negativity, non-finite values."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import simdyn

Make = Callable[..., simdyn.Model]

SIR = simdyn.load_model("sir")
TEACUP_SMOOTH = simdyn.model_from_dict(
    {
        "model": {"name": "teacup_smooth", "time_units": "minute"},
        "time": {"start": 0, "stop": 6, "dt": 0.25},
        "constants": {"tau": {"value": 10, "min": 0.1}, "room": 70},
        "stocks": {"temp": {"initial": "180", "outflows": ["loss"]}},
        "flows": {"loss": {"equation": "(temp - SMTH3(room, tau / 2, 60)) / tau + PULSE(5, 1)"}},
        "auxiliaries": {"felt": "EXP(-temp / 100) + LN(temp) + room ^ 0.5 + MAX(temp, 100)"},
        "lookups": {"comfort": {"points": [[0, 0], [100, 1], [200, 0.5]]}},
    }
)

rates = st.floats(0.05, 2.0, allow_nan=False)
durations = st.floats(0.5, 20.0, allow_nan=False)


@given(
    st.lists(st.tuples(rates, durations, st.floats(0.0, 50.0)), min_size=1, max_size=5),
    st.sampled_from(["euler", "rk2", "rk4"]),
)
def test_batch_equals_single_runs_sir(rows: list[tuple[float, float, float]], method: str) -> None:
    beta, dur, i0 = (np.array(col) for col in zip(*rows, strict=True))
    kw = {"method": method, "stop": 20, "dt": 0.25}
    batch = simdyn.simulate(
        SIR, params={"contact_rate": beta, "recovery_time": dur, "initial_infected": i0}, **kw
    )
    for k in range(len(rows)):
        single = simdyn.simulate(
            SIR,
            params={"contact_rate": beta[k], "recovery_time": dur[k], "initial_infected": i0[k]},
            **kw,
        )
        for name in ("susceptible", "infected", "recovered", "infection", "recovery"):
            np.testing.assert_array_equal(batch[name].values[:, k], single[name].values[:, 0])


@given(
    st.lists(st.tuples(st.floats(0.5, 50.0), st.floats(0.0, 100.0)), min_size=2, max_size=5),
    st.sampled_from(["euler", "rk4"]),
)
def test_batch_equals_single_runs_with_builtins(
    rows: list[tuple[float, float]], method: str
) -> None:
    tau, room = (np.array(col) for col in zip(*rows, strict=True))
    batch = simdyn.simulate(TEACUP_SMOOTH, params={"tau": tau, "room": room}, method=method)
    for k in range(len(rows)):
        single = simdyn.simulate(
            TEACUP_SMOOTH, params={"tau": tau[k], "room": room[k]}, method=method
        )
        for name in ("temp", "loss", "felt"):
            np.testing.assert_array_equal(batch[name].values[:, k], single[name].values[:, 0])


@given(st.integers(1, 9), st.sampled_from(["euler", "rk4"]))
def test_chunk_size_does_not_change_results(chunk: int, method: str) -> None:
    beta = np.linspace(0.1, 1.5, 9)
    kw = {"params": {"contact_rate": beta}, "method": method, "stop": 15}
    whole = simdyn.simulate(SIR, **kw)
    chunked = simdyn.simulate(SIR, chunk_size=chunk, **kw)
    for name in ("susceptible", "infected", "recovered", "infection"):
        np.testing.assert_array_equal(whole[name].values, chunked[name].values)


def test_chunk_size_does_not_change_scipy_results_much() -> None:
    beta = np.array([0.3, 0.6, 0.9])
    kw = {"params": {"contact_rate": beta}, "method": "RK45", "stop": 15, "rtol": 1e-10}
    whole = simdyn.simulate(SIR, **kw)
    chunked = simdyn.simulate(SIR, chunk_size=1, **kw)
    np.testing.assert_allclose(whole.infected.values, chunked.infected.values, atol=1e-6)


# -- non-negative stocks and uniflows -------------------------------------------------------


def _drained(make_model: Make) -> simdyn.Model:
    return make_model(
        constants={"rate": 10.0},
        stocks={
            "tank": {"initial": "1", "outflows": ["drain"], "non_negative": True},
            "free": {"initial": "1", "outflows": ["leak"]},
        },
        flows={
            "drain": {"equation": "rate"},
            "leak": {"equation": "rate * (TIME - 1) ", "non_negative": True},
        },
        time={"start": 0, "stop": 2, "dt": 0.25},
    )


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_non_negative_stock_never_below_zero(make_model: Make, method: str) -> None:
    ds = simdyn.simulate(_drained(make_model), method=method, params={"rate": [0.5, 10.0, 1e6]})
    tank = ds.tank.values
    assert (tank >= 0).all()
    assert tank[-1, 0] == 0.0 or tank[-1, 0] < tank[0, 0]
    # a stock drained faster than it holds: Euler empties it in one step
    if method == "euler":
        assert tank[1, 1] == 0.0
        assert tank[1, 2] == 0.0
    # the uniflow is cut to zero before TIME = 1, so 'free' is untouched until then
    leak = ds.leak.values
    assert (leak >= 0).all()
    before = ds.time.values <= 1
    np.testing.assert_array_equal(ds.free.values[before], 1.0)
    assert (ds.free.values[-1] < 1).all()


@pytest.mark.parametrize("method", ["RK45", "LSODA", "DOP853"])
def test_non_negative_stock_with_scipy_methods(make_model: Make, method: str) -> None:
    ds = simdyn.simulate(_drained(make_model), method=method, params={"rate": [0.5, 10.0]})
    assert (ds.tank.values >= 0).all()
    # the outflow is limited to the content per DT (0.25): an exponential approach to empty
    assert ds.tank.values[-1, 1] == pytest.approx(np.exp(-2 / 0.25), rel=0.05)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_sir_with_a_huge_contact_rate_stays_non_negative(method: str) -> None:
    ds = simdyn.simulate(SIR, method=method, dt=1, params={"contact_rate": [5.0, 50.0]})
    assert (ds.susceptible.values >= 0).all()
    assert (ds.infected.values >= 0).all()


# -- non-finite values ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_one_bad_scenario_does_not_spoil_the_others(make_model: Make, method: str) -> None:
    m = make_model(
        {"ratio": "1 / z"},
        constants={"z": 1.0},
        stocks={"s": {"initial": "1", "inflows": ["growth"]}},
        flows={"growth": {"equation": "s / z"}},
        time={"start": 0, "stop": 2, "dt": 0.5},
    )
    ds = simdyn.simulate(m, method=method, params={"z": [1.0, 0.0, 2.0]})
    np.testing.assert_array_equal(ds.status.values, [0, 1, 0])
    # the flow s / z is infinite at t = 0, before the stock s (at t = 0.5)
    assert list(ds.failed_variable.values) == ["", "growth", ""]
    assert ds.failed_time.values[1] == 0.0
    assert np.isnan(ds.failed_time.values[[0, 2]]).all()
    for k, z in ((0, 1.0), (2, 2.0)):
        single = simdyn.simulate(m, method=method, params={"z": z})
        assert single.status.values[0] == 0
        np.testing.assert_array_equal(ds.s.values[:, k], single.s.values[:, 0])
        np.testing.assert_array_equal(ds.ratio.values[:, k], 1 / z)


def test_failure_time_and_hidden_stock(make_model: Make) -> None:
    m = make_model(
        {"sm": "SMTH1(1 / (TIME - z), 1)"},
        constants={"z": 10.0},
        stocks={"s": {"initial": "0", "inflows": ["f"]}},
        flows={"f": {"equation": "sm"}},
        time={"start": 0, "stop": 2, "dt": 0.5},
    )
    ds = simdyn.simulate(m, method="euler", params={"z": [10.0, 1.0]})
    np.testing.assert_array_equal(ds.status.values, [0, 1])
    assert ds.failed_time.values[1] == 1.5  # 1 / 0 at TIME = 1 enters the state one step later
    assert ds.failed_variable.values[1] != ""


@pytest.mark.parametrize("method", ["euler", "rk4", "RK45", "dopri5"])
def test_failing_scenarios_raise_no_numpy_warnings(make_model: Make, method: str) -> None:
    m = make_model(
        {"inverse": "1 / (TIME - z)"},
        constants={"z": 10.0},
        stocks={"s": {"initial": "1", "inflows": ["g"]}},
        flows={"g": {"equation": "1 / (TIME - z)"}},
        time={"start": 0, "stop": 2, "dt": 0.5},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = simdyn.simulate(m, method=method, params={"z": [10.0, 0.5]})
    assert ds.status.values[1] == 1


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4", "RK45", "BDF", "dopri5", "bs23"])
def test_limited_outflow_reaches_the_next_stock_unchanged(make_model: Make, method: str) -> None:
    """A non-negative stock limits its outflow itself: what it loses, the next stock gains."""
    m = make_model(
        {},
        constants={"r": 10.0},
        stocks={
            "s": {"initial": "1", "outflows": ["drain"], "non_negative": True},
            "sink": {"initial": "0", "inflows": ["drain"]},
        },
        flows={"drain": {"equation": "r"}},
        time={"start": 0, "stop": 2, "dt": 0.5},
    )
    ds = simdyn.simulate(m, method=method, params={"r": [0.3, 10.0]})
    np.testing.assert_allclose((ds.s + ds.sink).values, 1.0, atol=1e-6)
    assert (ds.s.values >= 0).all()
    assert (ds.drain.values <= ds.r.values + 1e-12).all()
    if method == "euler":
        # drained in the first step, and the saved flow is the limited one
        assert ds.s.values[1, 1] == 0.0
        assert ds.drain.values[0, 1] == pytest.approx(2.0)


@pytest.mark.parametrize("method", ["RK45", "LSODA", "dopri5", "bs23"])
def test_one_failing_scenario_does_not_stop_an_adaptive_batch(
    make_model: Make, method: str
) -> None:
    m = make_model(
        {},
        constants={"z": 1.0},
        stocks={"s": {"initial": "0", "inflows": ["f"]}},
        flows={"f": {"equation": "1 / (TIME - z)"}},
        time={"start": 0, "stop": 2, "dt": 0.25},
    )
    ds = simdyn.simulate(m, method=method, params={"z": [10.0, 1.0, 20.0]})
    assert ds.status.values.tolist() == [0, 1, 0]
    # the flow when it is saved non-finite before the solver stops, else the stock
    assert ds.failed_variable.values[1] in {"f", "s"}
    exact = np.log(np.abs(2 - np.array([10.0, 20.0])) / np.array([10.0, 20.0]))
    np.testing.assert_allclose(ds.s.values[-1, [0, 2]], exact, rtol=1e-4)
