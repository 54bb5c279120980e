"""Evaluate a scenario's goals on simulation results."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from simdyn.errors import ScenarioError
from simdyn.scenario._schema import Goal

__all__ = ["GOAL_COLUMNS", "evaluate_goals", "goal_series"]

GOAL_COLUMNS = (
    "scenario",
    "goal",
    "label",
    "variable",
    "time",
    "comparison",
    "target",
    "actual",
    "met",
    "margin",
)
_ELEMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([A-Za-z0-9_]+)\]$")


def goal_series(dataset: xr.Dataset, variable: str, *, where: str = "variable") -> xr.DataArray:
    """The time series a goal looks at: ``(time, scenario)``.

    ``name[element]`` picks one element of a dimensioned variable; a per-person variable
    (dimension ``node``) is averaged over the organisation.

    Raises
    ------
    ScenarioError
        If the variable is not in ``dataset`` or still has dimensions after that.
    """
    match = _ELEMENT.match(variable)
    name, element = (match.group(1), match.group(2)) if match else (variable, None)
    if name not in dataset.data_vars:
        raise ScenarioError(f"no variable {name!r} in the results", where=where)
    da = dataset[name]
    if element is not None:
        dims = [d for d in da.dims if d in dataset.coords and element in dataset[d].values]
        if not dims:
            raise ScenarioError(f"{name!r} has no element {element!r}", where=where)
        da = da.sel({dims[0]: element})
    if "node" in da.dims:
        da = da.mean("node")
    extra = [d for d in da.dims if d not in ("time", "scenario")]
    if extra:
        first = str(dataset[extra[0]].values[0])
        raise ScenarioError(
            f"{name!r} has dimension {extra[0]!r}; a goal needs one element",
            where=where,
            hint=f"e.g. variable = '{name}[{first}]'",
        )
    return da.transpose("time", "scenario")


def evaluate_goals(
    dataset: xr.Dataset, goals: Mapping[str, Goal], *, scenario: str = "base"
) -> pd.DataFrame:
    """Check every goal against a single-scenario result.

    Values between saved times are interpolated linearly.

    Parameters
    ----------
    dataset
        A result with one scenario (``scenario`` of length 1).
    goals
        The goals, by name.
    scenario
        The name written in the ``scenario`` column.

    Returns
    -------
    pandas.DataFrame
        One row per goal with columns ``scenario, goal, label, variable, time, comparison,
        target, actual, met, margin`` (the margin is positive when the goal is met).

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"engagement": (("time", "scenario"), [[0.4], [0.5], [0.6]])},
    ...     coords={"time": [0.0, 6.0, 12.0], "scenario": [0]},
    ... )
    >>> goals = {"y1": Goal("engagement", time=12, comparison=">=", value=0.55)}
    >>> evaluate_goals(ds, goals)[["goal", "actual", "met"]].to_dict("records")
    [{'goal': 'y1', 'actual': 0.6, 'met': True}]
    """
    rows = []
    for name, goal in goals.items():
        series = goal_series(dataset, goal.variable, where=f"goals.{name}.variable")
        times = np.asarray(series["time"].values, dtype=float)
        values = np.asarray(series.values[:, 0], dtype=float)
        actual = float(np.interp(goal.time, times, values))
        if goal.relative_to == "start":
            start = float(values[0])
            actual = actual / start if start != 0 else float("nan")
        met, margin = goal.check(actual)
        rows.append(
            {
                "scenario": scenario,
                "goal": name,
                "label": goal.label or name,
                "variable": goal.variable,
                "time": goal.time,
                "comparison": goal.comparison + (" start ×" if goal.relative_to == "start" else ""),
                "target": goal.value,
                "actual": actual,
                "met": met,
                "margin": margin,
            }
        )
    return pd.DataFrame(rows, columns=list(GOAL_COLUMNS))
