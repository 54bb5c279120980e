"""Check a sweep against its scenario's model and work out each chunk's batch parameters.

A lever whose values are style names (the scenario's ``style``, or a style change's
``policies.NAME.to``) changes the planned scenario itself: each combination of such values is
planned with :func:`simdyn.scenario.plan_run`, and the constants in which the plans differ
become per-scenario parameters of one batch (policy numbers are constants of the planned
model, see :func:`simdyn.scenario.policy_constant`). Numeric levers and uncertainties set
constants directly; uncertainties are applied last, so they win. A ``start_from`` style starts
every row where a single run of the scenario starts (:func:`simdyn.scenario.started`), so a
row and the single run of its scenario are the same model with the same constants.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from simdyn.errors import ScenarioError
from simdyn.model import Model
from simdyn.model.params import did_you_mean
from simdyn.scenario import (
    PiecewiseLinear,
    RunPlan,
    Scenario,
    StyleChange,
    flat_params,
    load_scenario,
    plan_run,
    policy_constant,
    scenario_model,
    started,
)
from simdyn.sweep.designs import DesignRows, ExperimentDesign
from simdyn.sweep.spec import Lever, Sweep

__all__ = ["SweepPlan", "plan_sweep"]

_POLICY_REF = re.compile(r"^policies\.([A-Za-z0-9_-]+)\.([a-z]+)(?:\[(\d+)\])?$")
_ELEMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([A-Za-z0-9_]+)\]$")


@dataclass(frozen=True)
class SweepPlan:
    """A sweep checked against its model: the batch model, the design and the saved variables.

    Attributes
    ----------
    sweep
        The sweep.
    plan
        The planned base scenario (the first combination of the style levers).
    model
        The model every chunk runs: the planned model, started as the scenario says.
    design
        The experiment design.
    constants
        For each uncertainty and numeric lever, by name: the constant it sets.
    combos
        The per-combination parameter values of the style levers: ``(keys, table)`` with one
        row of ``table`` per combination.
    save
        The variables each run saves (outcomes, goals and kept series need them).
    """

    sweep: Sweep
    plan: RunPlan
    model: Model
    design: ExperimentDesign
    constants: Mapping[str, str]
    combo_levers: tuple[Lever, ...]
    combo_keys: tuple[str, ...]
    combo_table: np.ndarray
    base_params: Mapping[str, Any]
    save: tuple[str, ...]

    @property
    def scenario(self) -> Scenario:
        """The swept scenario."""
        return self.plan.scenario

    def params(self, rows: DesignRows) -> dict[str, Any]:
        """The :func:`simdyn.simulate` parameters of design rows."""
        out: dict[str, Any] = dict(self.base_params)
        lever_values = self.design.policy_values(rows.policy)
        by_name = dict(zip((lv.name for lv in self.sweep.levers), lever_values, strict=True))
        if self.combo_levers:
            combo = np.zeros(rows.rows.size, dtype=np.int64)
            for lv in self.combo_levers:
                codes = np.array([lv.values.index(v) for v in by_name[lv.name]], dtype=np.int64)
                combo = combo * len(lv.values) + codes
            for k, key in enumerate(self.combo_keys):
                out[key] = self.combo_table[combo, k]
        for lv in self.sweep.levers:
            if lv.name in self.constants:
                out[self.constants[lv.name]] = by_name[lv.name].astype(np.float64)
        for j, u in enumerate(self.sweep.uncertainties):
            out[self.constants[u.name]] = rows.values[:, j]
        return out


def plan_sweep(sweep: Sweep) -> SweepPlan:
    """Check ``sweep`` against its scenario and model.

    Raises
    ------
    ScenarioError
        Located at the ``[sweep]`` key: an unknown constant or variable, a range outside the
        constant's bounds, style levers that change the model's structure, a network scenario.
    """
    base = load_scenario(sweep.scenario, text=sweep.text, overrides=sweep.overrides).base
    _check_scenario(sweep, base)
    model = scenario_model(base)
    combo_levers = tuple(lv for lv in sweep.levers if lv.categorical)
    for lv in combo_levers:
        _check_style_lever(sweep, base, lv)
    plans = [
        _plan_combo(sweep, base, model, combo_levers, values)
        for values in itertools.product(*(lv.values for lv in combo_levers))
    ]
    first = plans[0]
    for lv_plan in plans[1:]:
        if _structure(lv_plan.model) != _structure(first.model):
            lv = combo_levers[0]
            sweep.fail(
                ("levers", lv.name, "values"),
                "these styles schedule different constants, so they cannot share one batch",
                "keep the style change's 'keep' list the same for every style, or split the sweep",
            )
    keys, table = _combo_table(plans)
    batch_model, start_params = started(first)
    base_params = {
        **start_params,
        **{k: v for k, v in flat_params(first).items() if k not in keys},
    }
    constants: dict[str, str] = {}
    for group, items in (("uncertainties", sweep.uncertainties), ("levers", sweep.levers)):
        for item in items:
            if group == "levers" and item in combo_levers:
                continue
            const = _constant(sweep, first, (group, item.name), item.param)
            constants[item.name] = const
            _check_bounds(sweep, first.model, (group, item.name), const, _extent(item))
    save = _check_outputs(sweep, first)
    return SweepPlan(
        sweep=sweep,
        plan=first,
        model=batch_model,
        design=_check_design(sweep),
        constants=constants,
        combo_levers=combo_levers,
        combo_keys=keys,
        combo_table=table,
        base_params=base_params,
        save=save,
    )


def _check_scenario(sweep: Sweep, sc: Scenario) -> None:
    """What a sweep cannot run: network mode, a start from another run's state."""
    if sc.network is not None:
        sweep.fail(("scenario",), "sweeps of network-mode scenarios are not supported")
    if sc.start_from is not None and not isinstance(sc.start_from, str):
        file, line, where = sc.locate(("start_from", "run"))
        raise ScenarioError(
            "a sweep cannot start from another run",
            file=file,
            line=line,
            where=where,
            hint='start from a style (start_from = "directive"), or leave start_from out',
        )


def _combo_table(plans: Sequence[RunPlan]) -> tuple[tuple[str, ...], np.ndarray]:
    """The constants in which the combinations' plans differ, and their values per plan."""
    flats = [_flat_values(p) for p in plans]
    keys = tuple(k for k in flats[0] if any(f[k] != flats[0][k] for f in flats[1:]))
    table = np.array([[f[k] for k in keys] for f in flats], dtype=np.float64)
    return keys, table.reshape(len(flats), len(keys))


def _check_style_lever(sweep: Sweep, sc: Scenario, lv: Lever) -> None:
    path = ("levers", lv.name, "param")
    if any(not isinstance(v, str) for v in lv.values):
        sweep.fail(("levers", lv.name, "values"), "mixes style names and numbers")
    if lv.param == "style":
        return
    match = _POLICY_REF.match(lv.param)
    if match is None or match.group(2) != "to" or match.group(3) is not None:
        sweep.fail(
            path,
            f"style names can only go to 'style' or a style change's 'to', not {lv.param!r}",
            "e.g. param = 'policies.NAME.to'",
        )
    assert match is not None
    policy = sc.policies.get(match.group(1))
    if not isinstance(policy, StyleChange):
        what = "no policy" if policy is None else "not a style change"
        sweep.fail(path, f"{match.group(1)!r} is {what}", f"policies: {', '.join(sc.policies)}")


def _plan_combo(
    sweep: Sweep, base: Scenario, model: Model, levers: Sequence[Lever], values: Sequence[Any]
) -> RunPlan:
    sc = base
    for lv, value in zip(levers, values, strict=True):
        if lv.param == "style":
            sc = replace(sc, style=value)
        else:
            name = lv.param.split(".")[1]
            policies = dict(sc.policies)
            policies[name] = replace(policies[name], to=value)
            sc = replace(sc, policies=policies)
    try:
        return plan_run(sc, model)
    except ScenarioError as exc:
        if exc.what.startswith("unknown style"):
            lv = levers[0] if len(levers) == 1 else next(lv for lv in levers if lv.param)
            sweep.fail(("levers", lv.name, "values"), exc.what, exc.hint)
        raise


def _structure(model: Model) -> tuple[Any, ...]:
    auxes = {n: str(a.equation) for n, a in model.auxiliaries.items()}
    return (tuple(sorted(model.constants)), tuple(sorted(auxes.items())))


def _flat_values(plan: RunPlan) -> dict[str, float]:
    """Every constant of the planned model, element by element, with the plan's values."""
    out: dict[str, float] = {}
    m = plan.model
    for name, c in m.constants.items():
        value = plan.params.get(name, c.value)
        if c.dims:
            elements = m.dimensions[c.dims[0]]
            vals = value if isinstance(value, tuple | list) else (value,) * len(elements)
            out.update({f"{name}[{e}]": float(v) for e, v in zip(elements, vals, strict=True)})
        else:
            out[name] = float(value)  # type: ignore[arg-type]
    return out


def _constant(sweep: Sweep, plan: RunPlan, path: tuple[str, str], param: str) -> str:
    where = (*path, "param")
    match = _POLICY_REF.match(param)
    if match is not None:
        return _policy_constant(sweep, plan, where, match)
    m = plan.model
    el = _ELEMENT.match(param)
    name = el.group(1) if el else param
    if name not in m.constants:
        scheduled = [a.name for a in plan.policies if a.param.split("[")[0] == name]
        if scheduled:
            sweep.fail(
                where,
                f"{name!r} is scheduled by policy {scheduled[0]!r}",
                f"vary policies.{scheduled[0]}.to (or its times) instead",
            )
        kind = "a variable, not a constant" if name in m.variables else None
        sweep.fail(
            where,
            f"{name!r} is {kind}" if kind else f"unknown constant {name!r}",
            did_you_mean(name, m.constants) or f"see `simdyn show {m.name}`",
        )
    c = m.constants[name]
    if el is None and c.dims:
        first = m.dimensions[c.dims[0]][0]
        sweep.fail(where, f"{name!r} has one value per {c.dims[0]}", f"e.g. '{name}[{first}]'")
    if el is not None and el.group(2) not in m.dimensions.get(c.dims[0] if c.dims else "", ()):
        sweep.fail(where, f"{name!r} has no element {el.group(2)!r}")
    return param


def _policy_constant(sweep: Sweep, plan: RunPlan, where: Any, match: re.Match[str]) -> str:
    pname, field, index = match.group(1), match.group(2), match.group(3)
    policy = plan.scenario.policies.get(pname)
    if policy is None:
        sweep.fail(where, f"no policy {pname!r}", did_you_mean(pname, plan.scenario.policies))
    if isinstance(policy, PiecewiseLinear):
        if field != "points" or index is None or int(index) >= len(policy.points):
            n = len(policy.points)
            sweep.fail(where, f"vary a point's value: policies.{pname}.points[k], k < {n}")
        name = policy_constant(pname, f"v{index}")
    else:
        fields: tuple[str, ...] = (
            ("at", "transition") if isinstance(policy, StyleChange) else ("at", "to")
        )
        fields += ("until",) if getattr(policy, "until", None) is not None else ()
        fields += ("start", "end") if hasattr(policy, "start") else ()
        if field not in fields or index is not None:
            sweep.fail(
                where, f"policy {pname!r} has no number {field!r}", "one of " + ", ".join(fields)
            )
        name = policy_constant(pname, field)
    if name not in plan.model.constants:
        sweep.fail(where, f"policy {pname!r} changes nothing in this scenario")
    return name


def _extent(item: Any) -> tuple[float, float]:
    if isinstance(item, Lever):
        nums = [float(v) for v in item.values]
        return min(nums), max(nums)
    return float(item.low), float(item.high)


def _check_bounds(
    sweep: Sweep, model: Model, path: tuple[str, str], key: str, extent: tuple[float, float]
) -> None:
    c = model.constants[key.split("[")[0]]
    lo, hi = extent
    below = c.min is not None and lo < c.min
    above = c.max is not None and hi > c.max
    if below or above:
        rng = f"[{'-inf' if c.min is None else f'{c.min:g}'}, {'inf' if c.max is None else f'{c.max:g}'}]"
        sweep.fail(
            (*path, "range" if path[0] == "uncertainties" else "values"),
            f"[{lo:g}, {hi:g}] is outside the bounds {rng} of {c.name!r}",
            f"keep it inside {rng}",
        )


def _check_outputs(sweep: Sweep, plan: RunPlan) -> tuple[str, ...]:
    variables = tuple(plan.model.variables)
    t = plan.time
    assert t.start is not None
    assert t.stop is not None
    needed: list[str] = []
    for o in sweep.outcomes:
        name = _variable(sweep, ("outcomes", o.name, "variable"), o.variable, variables)
        needed.append(name)
        for key, value in (("time", o.time), *(("window", w) for w in o.window or ())):
            if value is not None and not t.start <= value <= t.stop:
                sweep.fail(
                    ("outcomes", o.name, key),
                    f"{value:g} is outside the run ({t.start:g} to {t.stop:g})",
                )
    for k, var in enumerate(sweep.keep):
        needed.append(_variable(sweep, ("keep", "variables", k), var, variables))
    for goal in plan.scenario.goals.values():
        needed.append(goal.variable.split("[")[0])
    if not needed:
        sweep.fail(
            ("outcomes",),
            "nothing to compute: no outcomes, goals or kept series",
            "add [sweep.outcomes.NAME] with variable = '...'",
        )
    return tuple(dict.fromkeys(needed))


def _variable(sweep: Sweep, path: Any, variable: str, variables: Sequence[str]) -> str:
    name = variable.split("[")[0]
    if name not in variables:
        sweep.fail(path, f"unknown variable {name!r}", did_you_mean(name, variables))
    return name


def _check_design(sweep: Sweep) -> ExperimentDesign:
    design = ExperimentDesign(sweep)
    if design.n_rows > 2**40:
        sweep.fail(("design",), f"{design.n_rows:.3g} rows is too many")
    return design
