from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simdyn
from simdyn.scenario import PiecewiseLinear, Ramp, Step, load_scenario, plan_run, run_scenario

TIMES = np.linspace(0, 24, 97)


@pytest.mark.parametrize(
    "policy",
    [
        Step("x", at=6, to=3.0),
        Step("x", at=6, to=3.0, until=12),
        Ramp("x", start=4, end=10, to=-2.0),
        PiecewiseLinear("x", points=((0, 1.0), (5, 1.0), (8, 4.0), (8, 2.0), (15, 0.5))),
    ],
)
def test_policy_equation_matches_its_schedule(policy: Step | Ramp | PiecewiseLinear) -> None:
    """The engine evaluates the generated equation to the same values as value_at."""
    model = simdyn.model_from_dict(
        {
            "model": {"name": "p", "time_units": "month"},
            "time": {"start": 0, "stop": 24, "dt": 0.25},
            "constants": {"x": 1.0},
            "stocks": {"s": {"initial": "0", "inflows": ["f"]}},
            "flows": {"f": {"equation": "x"}},
        }
    )
    replaced = model.replace(equations={"x": policy.equation(1.0)})
    ds = simdyn.simulate(replaced, method="euler", save_per=0.25)
    got = ds["f"].values[:, 0]
    # STEP switches at the start of the step that contains its time, like value_at on the grid
    expected = [policy.value_at(1.0, t) for t in ds["time"].values]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_plan_turns_policies_into_equations(mini_scenario: Path) -> None:
    sc = load_scenario(mini_scenario).base
    plan = plan_run(sc, simdyn.load_model(sc.model))
    scheduled = {p.param for p in plan.policies}
    assert scheduled == {"delegation", "support", "hours[training]", "hiring_rate"}
    assert "delegation" in plan.model.auxiliaries
    assert "hours" in plan.model.auxiliaries
    assert plan.params == {"demand": 1.1}
    assert plan.changed["hours"] == ((2.0, 1.0, 1.0), (2.0, 3.0, 1.0))


def test_scheduled_flow_follows_the_policy(mini_scenario: Path) -> None:
    result = run_scenario(mini_scenario, variants=["base"])
    hires = result.dataset["hires"].sel(scenario=0)
    assert float(hires.sel(time=1.0)) == 2.0
    assert float(hires.sel(time=3.0)) == 0.0
    assert float(hires.sel(time=6.0)) == 2.0


def test_style_change_ramps_each_lever_between_presets(mini_scenario: Path) -> None:
    result = run_scenario(mini_scenario, variants=["base"])
    (run,) = result.runs
    by_param = {p.param: p for p in run.plan.policies}
    assert by_param["delegation"].value_at(0) == pytest.approx(0.2)
    assert by_param["delegation"].value_at(4.5) == pytest.approx(0.45)
    assert by_param["delegation"].value_at(6) == pytest.approx(0.7)
    assert by_param["support"].value_at(6) == pytest.approx(0.8)


def test_same_seed_same_results(mini_scenario: Path) -> None:
    a = run_scenario(mini_scenario).dataset
    b = run_scenario(mini_scenario).dataset
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)
