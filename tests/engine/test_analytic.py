"""Fixed-step methods against closed-form solutions, and their order of convergence."""

from __future__ import annotations

import numpy as np
import pytest

import simdyn
from simdyn.integrate import FIXED_METHODS, RK2, RK4, ButcherTableau

ROOM, T0, TAU = 70.0, 180.0, 10.0


def test_euler_teacup_is_the_discrete_solution() -> None:
    ds = simdyn.simulate("teacup", method="euler")
    dt = ds.attrs["dt"]
    n = np.round((ds.time.values - ds.attrs["start"]) / dt)
    expected = ROOM + (T0 - ROOM) * (1 - dt / TAU) ** n
    assert ds.time.size == 241
    np.testing.assert_allclose(ds.teacup_temperature.values[:, 0], expected, rtol=0, atol=1e-12)


def test_euler_teacup_scenarios_follow_their_own_time_constant() -> None:
    taus = np.array([2.0, 5.0, 40.0])
    ds = simdyn.simulate("teacup", method="euler", params={"characteristic_time": taus})
    n = np.arange(ds.time.size)[:, None]
    expected = ROOM + (T0 - ROOM) * (1 - 0.125 / taus[None, :]) ** n
    np.testing.assert_allclose(ds.teacup_temperature.values, expected, rtol=0, atol=1e-12)


def test_rk4_teacup_matches_the_exponential() -> None:
    ds = simdyn.simulate("teacup", method="rk4", dt=0.125)
    t = ds.time.values
    exact = ROOM + (T0 - ROOM) * np.exp(-t / TAU)
    np.testing.assert_allclose(ds.teacup_temperature.values[:, 0], exact, rtol=0, atol=1e-8)
    # the heat-loss flow is saved at the same state
    np.testing.assert_allclose(
        ds.heat_loss_to_room.values[:, 0], (exact - ROOM) / TAU, rtol=0, atol=1e-9
    )


def test_logistic_growth_against_its_closed_form() -> None:
    r, k, p0 = 0.3, 1000.0, 10.0
    ds = simdyn.simulate("logistic", method="rk4", dt=0.0625)
    t = ds.time.values
    exact = k / (1 + (k / p0 - 1) * np.exp(-r * t))
    np.testing.assert_allclose(ds.population.values[:, 0], exact, rtol=1e-7)
    # Euler is first order: visibly worse at the default dt, but still close
    coarse = simdyn.simulate("logistic", method="euler").population.values[:, 0]
    err = np.max(np.abs(coarse - exact))
    assert 1e-3 < err < 60


OSCILLATOR = {
    "model": {"name": "oscillator", "time_units": "s"},
    "time": {"start": 0, "stop": 2, "dt": 0.125},
    "constants": {"omega": 2.0},
    "stocks": {
        "x": {"initial": "1", "inflows": ["velocity_flow"]},
        "v": {"initial": "0", "inflows": ["acceleration"]},
    },
    "flows": {
        "velocity_flow": {"equation": "v"},
        "acceleration": {"equation": "-omega ^ 2 * x"},
    },
}


def _oscillator_error(method: str, dt: float) -> float:
    model = simdyn.model_from_dict(OSCILLATOR)
    ds = simdyn.simulate(model, method=method, dt=dt, save_per=2.0)
    t = ds.time.values[-1]
    x, v = ds.x.values[-1, 0], ds.v.values[-1, 0]
    return float(np.hypot(x - np.cos(2 * t), v + 2 * np.sin(2 * t)))


@pytest.mark.parametrize(
    ("method", "order", "dts"),
    [
        ("euler", 1, [2.0**-k for k in range(7, 11)]),
        ("rk2", 2, [2.0**-k for k in range(5, 9)]),
        ("rk4", 4, [2.0**-k for k in range(2, 6)]),
    ],
)
def test_convergence_order(method: str, order: int, dts: list[float]) -> None:
    errors = [_oscillator_error(method, dt) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.15, (slope, errors)
    assert errors[-1] > 1e-13  # still above round-off, so the slope measures the method


def test_convergence_order_teacup_rk4() -> None:
    dts = [1.0, 0.5, 0.25]
    errors = []
    for dt in dts:
        ds = simdyn.simulate("teacup", method="rk4", dt=dt, save_per=30.0)
        exact = ROOM + (T0 - ROOM) * np.exp(-30.0 / TAU)
        errors.append(abs(float(ds.teacup_temperature.values[-1, 0]) - exact))
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - 4) < 0.15


@pytest.mark.parametrize("tableau", sorted(set(FIXED_METHODS.values()), key=lambda t: t.order))
def test_tableau_invariants(tableau: ButcherTableau) -> None:
    assert sum(tableau.b) == pytest.approx(1.0, abs=1e-15)
    for row, c in zip(tableau.a, tableau.c, strict=True):
        assert sum(row) == pytest.approx(c, abs=1e-15)
    # order conditions up to the stated order (sufficient here for methods of order <= 4)
    b, c = np.array(tableau.b), np.array(tableau.c)
    if tableau.order >= 2:
        assert b @ c == pytest.approx(0.5)
    if tableau.order >= 3:
        assert b @ c**2 == pytest.approx(1 / 3)
    if tableau.order >= 4:
        assert b @ c**3 == pytest.approx(1 / 4)
    assert tableau.stages == len(tableau.b)


def test_tableau_rejects_malformed_stages() -> None:
    with pytest.raises(ValueError, match="stages"):
        ButcherTableau("bad", ((),), (0.5, 0.5), (0.0, 1.0), 2)
    with pytest.raises(ValueError, match="row 1"):
        ButcherTableau("bad", ((), ()), (0.5, 0.5), (0.0, 1.0), 2)


def test_method_names_map_to_tableaus() -> None:
    assert FIXED_METHODS["rk4"] is RK4
    assert FIXED_METHODS["rk2"] is RK2 is FIXED_METHODS["heun"]
