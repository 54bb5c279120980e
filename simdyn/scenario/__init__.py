"""Scenario files: what to run, with which policies over time, against which goals.

See ``docs/scenarios.md`` for the file format.
"""

from __future__ import annotations

from simdyn.scenario._goals import evaluate_goals, goal_series
from simdyn.scenario._levers import LEVER_FIELDS, policy_constant
from simdyn.scenario._loader import DEFAULT_SCENARIO, ScenarioSet, load_scenario, parse_assignments
from simdyn.scenario._plan import AppliedPolicy, RunPlan, plan_run
from simdyn.scenario._run import (
    Run,
    ScenarioResult,
    build_network,
    compare_scenarios,
    flat_params,
    run_scenario,
    scenario_model,
    simulate_plan,
    unit_issues,
    validate_scenario,
)
from simdyn.scenario._schema import (
    CustomStyle,
    Goal,
    PiecewiseLinear,
    Policy,
    Ramp,
    Scenario,
    Step,
    StyleChange,
    TimeSettings,
)
from simdyn.scenario._start import started

__all__ = [
    "DEFAULT_SCENARIO",
    "LEVER_FIELDS",
    "AppliedPolicy",
    "CustomStyle",
    "Goal",
    "PiecewiseLinear",
    "Policy",
    "Ramp",
    "Run",
    "RunPlan",
    "Scenario",
    "ScenarioResult",
    "ScenarioSet",
    "Step",
    "StyleChange",
    "TimeSettings",
    "build_network",
    "compare_scenarios",
    "evaluate_goals",
    "flat_params",
    "goal_series",
    "load_scenario",
    "parse_assignments",
    "plan_run",
    "policy_constant",
    "run_scenario",
    "scenario_model",
    "simulate_plan",
    "started",
    "unit_issues",
    "validate_scenario",
]
