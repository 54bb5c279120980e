"""DELAY(x, tau[, init]): a fixed pipeline delay read from a recorded history."""

from __future__ import annotations

import numpy as np
import pytest

import simdyn


def model(aux: dict[str, object], **extra: object) -> simdyn.Model:
    data: dict[str, object] = {
        "model": {"name": "pipeline", "time_units": "day"},
        "time": {"start": 0, "stop": 10, "dt": 0.25, "save_per": 0.25},
        "constants": {"tau": 2.0},
        "auxiliaries": aux,
        **extra,
    }
    return simdyn.model_from_dict(data)


def signal(t: np.ndarray) -> np.ndarray:
    return np.where(t >= 1, 1.0, 0.0) + np.where(t > 4, 0.5 * (t - 4), 0.0)


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_pipeline_returns_the_input_tau_ago(method: str) -> None:
    m = model({"x": "STEP(1, 1) + RAMP(0.5, 4)", "d": "DELAY(x, tau)"})
    ds = simdyn.simulate(m, method=method, params={"tau": [2.0, 3.5]})
    t = ds.time.values
    for k, tau in enumerate([2.0, 3.5]):
        expected = np.where(t - tau < 0, 0.0, signal(np.maximum(t - tau, 0)))
        np.testing.assert_allclose(ds.d.values[:, k], expected, atol=1e-12)


def test_init_argument_holds_until_the_pipeline_fills() -> None:
    m = model({"x": "5 + TIME", "d": "DELAY(x, tau, 42)"})
    ds = simdyn.simulate(m, method="euler")
    t = ds.time.values
    np.testing.assert_allclose(ds.d.values[t < 2, 0], 42.0)
    np.testing.assert_allclose(ds.d.values[t >= 2, 0], 5 + t[t >= 2] - 2, atol=1e-12)


def test_default_init_is_the_input_at_the_start() -> None:
    ds = simdyn.simulate(model({"x": "3 + TIME", "d": "DELAY(x, tau)"}), method="euler")
    np.testing.assert_allclose(ds.d.values[ds.time.values < 2, 0], 3.0)


def test_a_feedback_loop_through_a_delay_is_no_algebraic_loop() -> None:
    # an order book: shipments are the orders of two days ago; orders react to the backlog
    m = model(
        {"orders": "10 + 0.5 * (20 - backlog)", "shipments": "DELAY(orders, tau, 10)"},
        stocks={"backlog": {"initial": "20", "inflows": ["ordering"], "outflows": ["shipping"]}},
        flows={"ordering": {"equation": "orders"}, "shipping": {"equation": "shipments"}},
    )
    ds = simdyn.simulate(m, method="euler")
    orders, shipments = ds.orders.values[:, 0], ds.shipments.values[:, 0]
    lag = 8  # tau / dt
    np.testing.assert_allclose(shipments[lag:], orders[:-lag], atol=1e-12)
    # material is conserved: backlog changes by what is ordered minus what is shipped
    dt = 0.25
    np.testing.assert_allclose(
        np.diff(ds.backlog.values[:, 0]), dt * (orders[:-1] - shipments[:-1]), atol=1e-12
    )


def test_delay_of_an_array_keeps_its_dimensions() -> None:
    m = model(
        {
            "x": {"dims": ["team"], "equation": {"a": "TIME", "b": "2 * TIME"}},
            "d": {"dims": ["team"], "equation": "DELAY(x, tau)"},
        },
        dimensions={"team": ["a", "b"]},
    )
    ds = simdyn.simulate(m, method="rk4")
    t = ds.time.values
    late = t >= 2
    np.testing.assert_allclose(ds.d.sel(team="a").values[late, 0], t[late] - 2, atol=1e-12)
    np.testing.assert_allclose(ds.d.sel(team="b").values[late, 0], 2 * (t[late] - 2), atol=1e-12)


def test_adaptive_methods_delay_a_smooth_input() -> None:
    m = model({"x": "SIN(TIME)", "d": "DELAY(x, tau)"})
    ds = simdyn.simulate(m, method="RK45", rtol=1e-8, atol=1e-10, save_per=1)
    t = ds.time.values
    late = t >= 3
    np.testing.assert_allclose(ds.d.values[late, 0], np.sin(t[late] - 2), atol=2e-2)
