"""Every builtin of the equation language against hand-computed values."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import simdyn

Make = Callable[..., simdyn.Model]


def value(make_model: Make, equation: str, **tables: Any) -> float:
    """The value of ``equation`` at time 0 (time 0..1, dt 0.25)."""
    ds = simdyn.simulate(make_model({"x": equation}, **tables), method="euler")
    return float(ds.x.values[0, 0])


@pytest.mark.parametrize(
    ("equation", "expected"),
    [
        ("MIN(3, -2)", -2.0),
        ("MAX(3, -2)", 3.0),
        ("min(1, 2) + Max(1, 2)", 3.0),
        ("ABS(-2.5)", 2.5),
        ("EXP(1)", math.e),
        ("LN(EXP(2))", 2.0),
        ("LN(1)", 0.0),
        ("LOG10(1000)", 3.0),
        ("SQRT(16)", 4.0),
        ("SIN(PI / 2)", 1.0),
        ("COS(PI)", -1.0),
        ("TAN(PI / 4)", 1.0),
        ("ARCSIN(1)", math.pi / 2),
        ("ARCCOS(0)", math.pi / 2),
        ("ARCTAN(1)", math.pi / 4),
        ("INT(2.7)", 2.0),
        ("INT(-1.5)", -2.0),
        ("MOD(7, 3)", 1.0),
        ("MOD(-7, 3)", 2.0),
        ("MOD(7, -3)", -2.0),
        ("PI", math.pi),
        ("SAFEDIV(6, 3)", 2.0),
        ("SAFEDIV(1, 0)", 0.0),
        ("SAFEDIV(1, 0, 5)", 5.0),
        ("SAFEDIV(1, 4, 5)", 0.25),
        ("IF 1 THEN 2 ELSE 3", 2.0),
        ("IF 0 THEN 2 ELSE 3", 3.0),
        ("if -0.5 then 2 else 3", 2.0),
        ("IF_THEN_ELSE(0, 2, 3)", 3.0),
        ("IF_THEN_ELSE(1, 2, 3)", 2.0),
        ("IF 1 > 2 THEN 1 ELSE IF 2 > 1 THEN 2 ELSE 3", 2.0),
        ("1 = 1", 1.0),
        ("1 = 2", 0.0),
        ("1 <> 2", 1.0),
        ("1 <> 1", 0.0),
        ("1 < 2", 1.0),
        ("2 < 1", 0.0),
        ("1 > 2", 0.0),
        ("2 <= 2", 1.0),
        ("3 <= 2", 0.0),
        ("2 >= 2", 1.0),
        ("1 >= 2", 0.0),
        ("1 AND 2", 1.0),
        ("1 AND 0", 0.0),
        ("0 OR 0", 0.0),
        ("0 OR -3", 1.0),
        ("NOT 0", 1.0),
        ("NOT 5", 0.0),
        ("NOT NOT 5", 1.0),
        ("1 OR 0 AND 0", 1.0),  # AND binds tighter than OR
        ("NOT 1 = 2", 1.0),  # NOT binds looser than comparisons
        ("1 + 2 > 2", 1.0),  # comparisons bind looser than arithmetic
        ("2 ^ 3 ^ 2", 512.0),  # right-associative
        ("(2 ^ 3) ^ 2", 64.0),
        ("-2 ^ 2", -4.0),  # unary minus binds looser than ^
        ("(-2) ^ 2", 4.0),
        ("2 ^ -1", 0.5),
        ("-2 ^ -2", -0.25),
        ("2 * -3", -6.0),
        ("- - 2", 2.0),
        ("1 - -1", 2.0),
        ("+3", 3.0),
        ("8 / 4 / 2", 1.0),  # left-associative
        ("8 - 4 - 2", 2.0),
        ("2 + 3 * 4", 14.0),
        ("1.5e2 + .5 + 2.", 152.5),
        ("TIME", 0.0),
        ("DT", 0.25),
        ("STARTTIME", 0.0),
        ("STOPTIME", 1.0),
    ],
)
def test_builtin_values(make_model: Make, equation: str, expected: float) -> None:
    assert value(make_model, equation) == pytest.approx(expected, abs=1e-14)


def test_time_values_follow_the_grid(make_model: Make) -> None:
    m = make_model({"t": "TIME", "d": "DT", "a": "STARTTIME", "b": "STOPTIME", "i": "INIT(TIME)"})
    ds = simdyn.simulate(m, start=2, stop=4, dt=0.5, method="rk4")
    np.testing.assert_array_equal(ds.t.values[:, 0], [2, 2.5, 3, 3.5, 4])
    assert (ds.d.values == 0.5).all()
    assert (ds.a.values == 2).all()
    assert (ds.b.values == 4).all()
    assert (ds.i.values == 2).all()


def test_init_freezes_the_starting_value_of_a_stock(make_model: Make) -> None:
    m = make_model(
        {"start_level": "INIT(level)", "ratio": "level / INIT(level)"},
        stocks={"level": {"initial": "4", "inflows": ["grow"]}},
        flows={"grow": {"equation": "1"}},
    )
    ds = simdyn.simulate(m, method="euler", stop=2, dt=0.5)
    assert (ds.start_level.values == 4).all()
    np.testing.assert_allclose(ds.ratio.values[:, 0], (4 + ds.time.values) / 4)


LOOKUPS = {"effect": {"points": [[0, 0], [1, 1], [2, 1.5]]}}


@pytest.mark.parametrize(
    ("equation", "expected"),
    [
        ("effect(0.5)", 0.5),
        ("LOOKUP(effect, 1.5)", 1.25),
        ("effect(1)", 1.0),
        ("effect(-10)", 0.0),  # flat below the first point
        ("effect(99)", 1.5),  # flat above the last point
        ("lookup(effect, 2) + effect(0.25)", 1.75),
    ],
)
def test_lookups(make_model: Make, equation: str, expected: float) -> None:
    assert value(make_model, equation, lookups=LOOKUPS) == pytest.approx(expected)


def test_lookup_of_a_time_varying_argument(make_model: Make) -> None:
    m = make_model({"x": "effect(TIME * 4)"}, lookups=LOOKUPS)
    ds = simdyn.simulate(m, method="euler")  # TIME*4 = 0, 1, 2, 3, 4
    np.testing.assert_allclose(ds.x.values[:, 0], [0, 1, 1.5, 1.5, 1.5])


# -- inputs: STEP, PULSE, RAMP ------------------------------------------------------------------

INPUT_TIME = {"start": 0, "stop": 4, "dt": 0.25}


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_pulse_delivers_exactly_its_magnitude(make_model: Make, method: str) -> None:
    m = make_model(
        stocks={"s": {"initial": "0", "inflows": ["f"]}},
        flows={"f": {"equation": "PULSE(3, 1)"}},
        time=INPUT_TIME,
    )
    ds = simdyn.simulate(m, method=method)
    s = ds.s.sel(scenario=0)
    assert float(s.sel(time=1.0)) == 0.0
    assert float(s.sel(time=1.25)) == 3.0
    assert float(s.sel(time=4.0)) == 3.0
    f = ds.f.values[:, 0]
    np.testing.assert_array_equal(np.flatnonzero(f), [4])  # only the step starting at t = 1
    assert f[4] == 3 / 0.25


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
@pytest.mark.parametrize("dt", [0.25, 0.125, 0.1])
def test_repeating_pulse(make_model: Make, method: str, dt: float) -> None:
    m = make_model(
        stocks={"s": {"initial": "0", "inflows": ["f"]}},
        flows={"f": {"equation": "PULSE(2, 0.5, 1)"}},
        time={"start": 0, "stop": 4, "dt": dt},
    )
    ds = simdyn.simulate(m, method=method)
    s = ds.s.sel(scenario=0)
    # pulses at 0.5, 1.5, 2.5, 3.5: each adds exactly 2 during one step
    for t, expected in [(0.5, 0.0), (1.0, 2.0), (1.5, 2.0), (2.0, 4.0), (3.0, 6.0), (4.0, 8.0)]:
        assert float(s.sel(time=t, method="nearest")) == pytest.approx(expected, abs=1e-12)


def test_step_switches_at_the_same_step_for_every_method(make_model: Make) -> None:
    m = make_model(
        stocks={"s": {"initial": "0", "inflows": ["f"]}},
        flows={"f": {"equation": "STEP(2, 1.5)"}},
        time=INPUT_TIME,
    )
    runs = {meth: simdyn.simulate(m, method=meth) for meth in ("euler", "rk2", "rk4")}
    t = runs["euler"].time.values
    expected = 2 * np.maximum(t - 1.5, 0)  # exact: the flow is constant within every step
    for ds in runs.values():
        np.testing.assert_allclose(ds.s.values[:, 0], expected, atol=1e-12)
        np.testing.assert_array_equal(ds.f.values[:, 0], np.where(t >= 1.5, 2.0, 0.0))


def test_step_at_a_time_that_is_not_a_step_boundary(make_model: Make) -> None:
    m = make_model(
        stocks={"s": {"initial": "0", "inflows": ["f"]}},
        flows={"f": {"equation": "STEP(1, 1.1)"}},
        time=INPUT_TIME,
    )
    results = [simdyn.simulate(m, method=meth).s.values[:, 0] for meth in ("euler", "rk2", "rk4")]
    # switches at the first step that starts at or after t0 (1.25) under every method
    for s in results:
        np.testing.assert_allclose(s, np.maximum(np.arange(17) * 0.25 - 1.25, 0), atol=1e-12)


def test_step_at_a_boundary_reached_by_rounding(make_model: Make) -> None:
    # 0.1 * 3 != 0.3 in floating point: the step at t0 = 0.3 still starts with step 3
    m = make_model({"x": "STEP(1, 0.3)"}, time={"start": 0, "stop": 1, "dt": 0.1})
    ds = simdyn.simulate(m, method="euler")
    np.testing.assert_array_equal(ds.x.values[:, 0], (np.arange(11) >= 3).astype(float))


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_ramp(make_model: Make, method: str) -> None:
    m = make_model(
        {"r": "RAMP(2, 1)", "capped": "RAMP(2, 1, 3)"},
        stocks={"area": {"initial": "0", "inflows": ["f"]}},
        flows={"f": {"equation": "RAMP(1, 1, 3)"}},
        time=INPUT_TIME,
    )
    ds = simdyn.simulate(m, method=method)
    t = ds.time.values
    np.testing.assert_allclose(ds.r.values[:, 0], 2 * np.maximum(t - 1, 0))
    np.testing.assert_allclose(ds.capped.values[:, 0], 2 * (np.clip(t, 1, 3) - 1))
    # integral of the ramp: exact for rk2/rk4 (piecewise-linear integrand), Euler lags by dt
    exact = np.where(t < 3, 0.5 * np.maximum(t - 1, 0) ** 2, 2 + 2 * (t - 3))
    if method == "euler":
        assert np.abs(ds.area.values[:, 0] - exact).max() < 0.6
    else:
        np.testing.assert_allclose(ds.area.values[:, 0], exact, atol=1e-12)


# -- smooths and delays -------------------------------------------------------------------------

SMOOTH_TIME = {"start": 0, "stop": 8, "dt": 0.03125}


def test_smooth1_and_delay1_of_a_step_are_exponential(make_model: Make) -> None:
    m = make_model(
        {"y": "SMTH1(x, 2)", "z": "DELAY1(x, 2)", "x": "3"},
        time=SMOOTH_TIME,
    )
    ds = simdyn.simulate(m, method="rk4", params={})
    np.testing.assert_allclose(ds.y.values[:, 0], 3.0)  # starts at its input: equilibrium
    np.testing.assert_allclose(ds.z.values[:, 0], 3.0)
    m = make_model({"y": "SMTH1(x, 2, 1)", "z": "DELAY1(x, 2, 1)", "x": "3"}, time=SMOOTH_TIME)
    ds = simdyn.simulate(m, method="rk4")
    t = ds.time.values
    exact = 3 - 2 * np.exp(-t / 2)
    np.testing.assert_allclose(ds.y.values[:, 0], exact, atol=1e-9)
    np.testing.assert_allclose(ds.z.values[:, 0], exact, atol=1e-9)


def test_smooth3_matches_its_defining_ode(make_model: Make) -> None:
    m = make_model({"y": "SMTH3(x, 3, 0.5)", "x": "1 + SIN(TIME)"}, time=SMOOTH_TIME)
    ds = simdyn.simulate(m, method="rk4")
    t = ds.time.values

    # three first-order stages with time constant tau / 3 each
    def f(tt: float, s: np.ndarray) -> list[float]:
        x = 1 + np.sin(tt)
        return [(x - s[0]) / 1.0, (s[0] - s[1]) / 1.0, (s[1] - s[2]) / 1.0]

    sol = solve_ivp(f, (0, 8), [0.5] * 3, "DOP853", t, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ds.y.values[:, 0], sol.y[2], atol=1e-8)
    assert ds.y.values[-1, 0] != pytest.approx(ds.y.values[0, 0])


@pytest.mark.parametrize(("builtin", "order"), [("DELAY3(x, 3, 2)", 3), ("DELAYN(x, 3, 5, 2)", 5)])
def test_material_delays_match_their_defining_odes(
    make_model: Make, builtin: str, order: int
) -> None:
    m = make_model({"y": builtin, "x": "2 + STEP(4, 1)"}, time=SMOOTH_TIME)
    ds = simdyn.simulate(m, method="rk4")
    t = ds.time.values
    st = 3.0 / order

    def f(tt: float, s: np.ndarray) -> list[float]:
        x = 2 + (4 if tt >= 1 else 0)
        outs = s / st
        ins = np.concatenate([[x], outs[:-1]])
        return list(ins - outs)

    y = np.empty((order, t.size))
    y[:, 0] = 2 * st
    # integrate piecewise so the discontinuity at t = 1 is a boundary
    first = solve_ivp(f, (0, 1), y[:, 0], "DOP853", t[t <= 1], rtol=1e-11, atol=1e-12)
    second = solve_ivp(f, (1, 8), first.y[:, -1], "DOP853", t[t >= 1], rtol=1e-11, atol=1e-12)
    ref = np.concatenate([first.y, second.y[:, 1:]], axis=1)[-1] / st
    np.testing.assert_allclose(ds.y.values[:, 0], ref, atol=1e-7)
    assert ds.y.values[0, 0] == pytest.approx(2.0)
    assert 2.0 < ds.y.values[-1, 0] < 6.0


def test_delay_conserves_material(make_model: Make) -> None:
    m = make_model(
        stocks={
            "source_total": {"initial": "0", "inflows": ["sent"]},
            "received_total": {"initial": "0", "inflows": ["received"]},
        },
        flows={
            "sent": {"equation": "PULSE(10, 0.5)"},
            "received": {"equation": "DELAY3(sent, 1, 0)"},
        },
        time={"start": 0, "stop": 20, "dt": 0.0625},
    )
    ds = simdyn.simulate(m, method="rk4", save_per=1)
    assert ds.source_total.values[-1, 0] == pytest.approx(10.0)
    assert ds.received_total.values[-1, 0] == pytest.approx(10.0, abs=1e-4)


def test_smooth_with_per_scenario_time_constant(make_model: Make) -> None:
    m = make_model({"y": "SMTH1(5, tau, 0)"}, constants={"tau": 1.0}, time=SMOOTH_TIME)
    taus = np.array([0.5, 1.0, 4.0])
    ds = simdyn.simulate(m, method="rk4", params={"tau": taus})
    t = ds.time.values[:, None]
    np.testing.assert_allclose(ds.y.values, 5 * (1 - np.exp(-t / taus)), rtol=0, atol=1e-6)


def test_delay_takes_two_or_three_arguments(make_model: Make) -> None:
    with pytest.raises(simdyn.ExpressionError, match="DELAY takes 2 to 3"):
        make_model({"y": "DELAY(1)"}).compile()


@pytest.mark.parametrize("n", ["0", "2.5", "tau"])
def test_delayn_order_must_be_a_whole_number(make_model: Make, n: str) -> None:
    with pytest.raises(simdyn.ExpressionError, match="order n of DELAYN"):
        make_model({"y": f"DELAYN(1, 2, {n})"}, constants={"tau": 2}).compile()
