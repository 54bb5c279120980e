"""Every example scenario validates and runs; the packaged default equals scenarios/step_plan.toml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simdyn.scenario import DEFAULT_SCENARIO, run_scenario, validate_scenario

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))
FAST = {"time.method": "euler", "time.dt": 0.5, "time.save_per": 1.0}


def test_there_are_at_least_six_examples() -> None:
    assert len(SCENARIOS) >= 6


def test_default_scenario_is_the_step_plan_example() -> None:
    example = Path(__file__).parents[2] / "scenarios" / "step_plan.toml"
    assert DEFAULT_SCENARIO.read_text() == example.read_text()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_validates_and_runs(path: Path) -> None:
    validate_scenario(path)
    result = run_scenario(path, overrides=FAST)
    assert (result.dataset["status"].values == 0).all()
    n_goals = sum(len(r.scenario.goals) for r in result.runs)
    assert len(result.goals) == n_goals
    assert np.isfinite(result.goals["actual"].to_numpy(dtype=float)).all()


def test_step_plan_meets_more_goals_than_the_status_quo() -> None:
    result = run_scenario(DEFAULT_SCENARIO, overrides=FAST)
    met = result.goals.groupby("scenario")["met"].sum()
    assert met["default"] > met["status_quo"]


def test_demand_shock_directive_quits_more_than_facilitative() -> None:
    path = Path(__file__).parents[2] / "scenarios" / "demand_shock.toml"
    ds = run_scenario(path, overrides=FAST).dataset
    quits = ds["annual_quit_rate"].sel(time=24.0).values
    assert quits[0] > 1.5 * quits[1]
