"""The cost-benefit panel: development cost, turnover cost avoided, output gained, net, break-even.

Each run is compared with the base run (the first): the extra development spending against the
turnover cost it avoids and the value of the output it gains. Output is valued at
``value_per_unit`` (``[report] value_per_unit`` in the scenario; by default the salary cost of
one contract hour, ``salary_per_month / contract_hours``, when the model has both: what an hour
of a skilled employee's output costs to buy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simdyn.scenario import ScenarioResult

__all__ = ["COST_FLOWS", "CostBenefit", "cost_benefit", "value_per_unit"]

#: The flows the panel integrates: development spending, turnover cost, output.
COST_FLOWS = {"development": "training_cost", "turnover": "turnover_cost", "output": "output"}


@dataclass(frozen=True)
class CostBenefit:
    """One run's totals over the run, and the differences against the base run."""

    run: str
    development: float
    turnover: float
    output: float
    extra_development: float
    turnover_avoided: float
    output_gained: float
    output_value: float
    net: float
    break_even: float | None
    """First time from which the cumulative net stays at or above zero; ``None`` if it ends
    below zero."""


def value_per_unit(result: ScenarioResult) -> tuple[float, str] | None:
    """The value of one unit of output and how it was chosen, or ``None`` if unknown."""
    first = result.runs[0]
    given = first.scenario.report_value_per_unit
    if given is not None:
        return given, "set in the scenario ([report] value_per_unit)"
    consts = first.plan.model.constants
    if "salary_per_month" in consts and "contract_hours" in consts:
        salary = _value(first, "salary_per_month")
        hours = _value(first, "contract_hours")
        if hours > 0:
            return salary / hours, (
                f"the salary cost of one contract hour (salary_per_month {salary:g} / "
                f"contract_hours {hours:g})"
            )
    return None


def _value(run: Any, name: str) -> float:
    value = run.plan.params.get(name, run.plan.model.constants[name].value)
    return float(value if not isinstance(value, tuple) else value[0])


def _cumulative(times: np.ndarray[Any, Any], rate: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The integral of ``rate`` from the first time to each time (trapezoids)."""
    steps = np.diff(times) * 0.5 * (rate[1:] + rate[:-1])
    return np.concatenate([[0.0], np.cumsum(steps)])


def cost_benefit(result: ScenarioResult) -> list[CostBenefit] | None:
    """The panel's rows, one per run (the base run first), or ``None`` if the model lacks a flow.

    Examples
    --------
    The step plan against the status quo (``scenarios/step_plan.toml``) pays back within the
    run: see ``docs/scenarios.md``.
    """
    ds = result.dataset
    if any(v not in ds for v in COST_FLOWS.values()):
        return None
    price = value_per_unit(result)
    times = np.asarray(ds["time"].values, dtype=float)
    series = {
        key: [_cumulative(times, _run_series(ds, var, k)) for k in range(len(result.runs))]
        for key, var in COST_FLOWS.items()
    }
    rows = []
    for k, run in enumerate(result.runs):
        dev, turn, out = (series[key][k] for key in ("development", "turnover", "output"))
        dev0, turn0, out0 = (series[key][0] for key in ("development", "turnover", "output"))
        value = (out - out0) * (price[0] if price else 0.0)
        net = (turn0 - turn) + value - (dev - dev0)
        rows.append(
            CostBenefit(
                run=run.name,
                development=float(dev[-1]),
                turnover=float(turn[-1]),
                output=float(out[-1]),
                extra_development=float(dev[-1] - dev0[-1]),
                turnover_avoided=float(turn0[-1] - turn[-1]),
                output_gained=float(out[-1] - out0[-1]),
                output_value=float(value[-1]),
                net=float(net[-1]),
                break_even=_break_even(times, net) if k else None,
            )
        )
    return rows


def _run_series(ds: Any, var: str, k: int) -> np.ndarray[Any, Any]:
    da = ds[var].isel(scenario=k)
    extra = [d for d in da.dims if d != "time"]
    if extra:
        da = da.sum(extra)
    values: np.ndarray[Any, Any] = np.nan_to_num(np.asarray(da.values, dtype=float))
    return values


def _break_even(times: np.ndarray[Any, Any], net: np.ndarray[Any, Any]) -> float | None:
    """The first time from which ``net`` stays at or above zero (``None``: it ends below)."""
    tol = 1e-9 * max(1.0, float(np.max(np.abs(net))))
    if net[-1] < -tol:
        return None
    below = np.flatnonzero(net < -tol)
    if not below.size:
        return float(times[0])
    i = int(below[-1])
    # linear interpolation of the last crossing
    t0, t1, n0, n1 = times[i], times[i + 1], net[i], net[i + 1]
    frac = -n0 / (n1 - n0) if n1 != n0 else 1.0
    return float(t0 + frac * (t1 - t0)) if math.isfinite(frac) else float(t1)
