"""The client and market sector of learning_org: reference behaviours M1-M4 (model-science §8)."""

import numpy as np
import pytest
from lo_common import DTS, SHOCK, STYLES, at

import simdyn


@pytest.fixture(scope="module")
def model():
    return simdyn.load_model("learning_org")


def first(da, cond):
    """The first time at which ``cond`` holds for a one-scenario series."""
    t = da.time.values[cond(da.values)]
    return float(t[0]) if len(t) else np.inf


@pytest.mark.parametrize("dt", DTS)
def test_m1_a_demand_cut_lowers_work_done_overtime_and_fatigue(model, dt):
    surge = "1 + 0.2 * STEP(1, 6)"
    cut = "1 + 0.2 * STEP(1, 6) - 0.4 * STEP(1, 18)"
    save = ["output", "overtime_fraction", "fatigue", "idle_capacity", "annual_quit_rate"]
    kw = {"presets": {"style": "transactional"}, "stop": 36, "dt": dt, "save": save}
    hi = simdyn.simulate(model.replace(equations={"demand_multiplier": surge}), **kw).isel(
        scenario=0
    )
    lo = simdyn.simulate(model.replace(equations={"demand_multiplier": cut}), **kw).isel(scenario=0)
    assert at(lo.output, 24) < 0.9 * at(hi.output, 24)
    assert at(hi.overtime_fraction, 17) > 0.02  # the surge brought overtime
    assert at(lo.overtime_fraction, 24) < 0.5 * at(hi.overtime_fraction, 24)
    assert at(lo.fatigue, 30) < 0.5 * at(hi.fatigue, 30)
    assert at(lo.idle_capacity, 24) > at(hi.idle_capacity, 24) + 0.1 * at(hi.output, 24)
    # from the steady state: halving demand halves work done and idles capacity
    half = simdyn.simulate(
        model.replace(equations={"demand_multiplier": "1 - 0.5 * STEP(1, 6)"}), **{**kw, "stop": 24}
    ).isel(scenario=0)
    assert at(half.output, 24) == pytest.approx(0.5 * at(half.output, 0), rel=0.1)
    # capacity falls too (to 0.83): with the pressure to improve far below balance the
    # team asks for less reflection and routines erode (Repenning & Sterman's f_c)
    assert at(half.idle_capacity, 24) > 0.3 * at(half.output, 0)


@pytest.mark.parametrize("dt", DTS)
def test_m2_a_surge_raises_backlog_then_overtime_fatigue_quality_erosion_and_quits(model, dt):
    ds = simdyn.simulate(
        model.replace(equations={"demand_multiplier": SHOCK}),
        presets={"style": STYLES},
        stop=60,
        dt=dt,
        save_per=0.25,
        save=[
            "backlog",
            "delivery_delay",
            "overtime_fraction",
            "fatigue",
            "service_quality",
            "annual_quit_rate",
            "delivery_delay_goal",
            "market_share",
        ],
    )
    d = ds.isel(scenario=STYLES.index("directive"))
    t_backlog = first(d.backlog, lambda x: x > 1.05 * x[0])
    t_delay = first(d.delivery_delay, lambda x: x > 1.05 * x[0])
    t_overtime = first(d.overtime_fraction, lambda x: x > 0.02)
    t_fatigue = first(d.fatigue, lambda x: x > 0.05)
    t_quality = first(d.service_quality, lambda x: x < 0.95 * x[0])
    t_quits = first(d.annual_quit_rate, lambda x: x > 1.2 * x[0])
    assert 6 < t_backlog <= t_delay <= t_overtime < t_fatigue < t_quits < 30
    assert t_overtime < t_quality < 30
    # the directive style is hit hardest
    peak_quits = ds.annual_quit_rate.max("time").values / ds.annual_quit_rate.isel(time=0).values
    low_quality = ds.service_quality.min("time").values / ds.service_quality.isel(time=0).values
    assert int(np.argmax(peak_quits)) == STYLES.index("directive")
    assert int(np.argmin(low_quality)) == STYLES.index("directive")
    assert int(np.argmax(ds.fatigue.max("time").values)) == STYLES.index("directive")
    # the service standard erodes towards the delay delivered (Oliva & Sterman 2001) and
    # clients leave the slower firm before its lower quality is perceived (Forrester 1968)
    assert float(d.delivery_delay_goal.max()) > 1.05 * at(d.delivery_delay_goal, 0)
    assert at(d.market_share, 12) < 0.98 * at(d.market_share, 0)


@pytest.mark.parametrize("dt", DTS)
def test_m3_the_learning_organisation_holds_its_share_as_the_craft_moves(model, dt):
    ds = simdyn.simulate(
        model,
        presets={"style": STYLES},
        params={"craft_change_rate": 0.06},
        stop=60,
        dt=dt,
        save=["market_share", "competitor_quality"],
    )
    kept = (ds.market_share.isel(time=-1) / ds.market_share.isel(time=0)).values
    assert float(ds.competitor_quality.isel(time=-1, scenario=0)) < float(
        ds.competitor_quality.isel(time=0, scenario=0)
    )
    assert kept[STYLES.index("facilitative")] >= 0.97  # holds its share within 3 % over 5 years
    assert kept[STYLES.index("directive")] < 0.95  # loses more than 5 %
    assert int(np.argmax(kept)) == STYLES.index("facilitative")
    assert int(np.argmin(kept)) == STYLES.index("directive")


def test_m3_a_competitor_improving_at_its_own_pace_takes_share_from_every_style(model):
    ds = simdyn.simulate(
        model,
        presets={"style": STYLES},
        params={"competitor_improvement_rate": 0.03},
        stop=60,
        save=["market_share"],
    )
    kept = (ds.market_share.isel(time=-1) / ds.market_share.isel(time=0)).values
    assert (kept < 0.97).all()
    assert int(np.argmax(ds.market_share.isel(time=-1).values)) == STYLES.index("facilitative")


def test_m4_every_style_starts_in_its_own_steady_state_facing_the_same_market(model):
    ds = simdyn.simulate(model, presets={"style": STYLES}, stop=60, save_per=1)
    t0 = ds.isel(time=0)
    for name in ("market_demand", "competitor_quality"):
        assert np.ptp(t0[name].values) == 0, name
    np.testing.assert_allclose(t0.orders, t0.output, rtol=1e-12)
    target = model.constants["target_delivery_delay"].value
    np.testing.assert_allclose(t0.backlog, t0.orders * target, rtol=1e-12)
    assert (t0.utilisation.values < 1).all()
    assert (t0.utilisation.values > 0.9).all()
    for name in ("output", "capacity", "market_share", "backlog", "engagement", "average_skill"):
        drift = np.abs(ds[name].isel(time=-1) / ds[name].isel(time=0) - 1).values
        assert (drift < 0.005).all(), name
    # different styles hold different shares of the one market
    shares = t0.market_share.values
    assert (
        shares[STYLES.index("facilitative")]
        > shares[STYLES.index("transactional")]
        > shares[STYLES.index("directive")]
    )


def test_goals_plan_and_inform_but_do_not_become_demand(model):
    """Article step 1: goals at 1, 3 and 5 years change the plan, not client demand."""
    ds = simdyn.simulate(
        model,
        presets={"style": "directive"},
        params={"goal_growth_per_year": [0.0, 0.1, 0.1], "stretch_goal_pressure": [0.0, 0.0, 1.0]},
        stop=60,
        save=[
            "output",
            "orders",
            "performance_goal",
            "engagement",
            "plan_attainment",
            "overtime_fraction",
        ],
    )
    none, goals, stretch = (ds.isel(scenario=i) for i in range(3))
    np.testing.assert_allclose(goals.orders, none.orders, rtol=1e-12)
    np.testing.assert_allclose(goals.output, none.output, rtol=1e-12)
    assert at(goals.performance_goal, 60) > 1.3 * at(none.performance_goal, 60)
    assert at(goals.plan_attainment, 60) < 0.8  # monitoring shows the plan is not met
    # the switchable stretch-goal link: a goal above capacity adds pressure
    assert float(stretch.overtime_fraction.max()) > 0.05
    assert float(goals.overtime_fraction.max()) == 0.0
