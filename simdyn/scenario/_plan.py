"""Check a scenario against its model and turn it into the arguments of one simulation.

Parameter values are merged in this order: the model's defaults, then the management-style
preset (or custom style), then the scenario's ``params``. A policy turns a constant into an
equation of ``TIME`` (``STEP``/``RAMP`` terms) through :meth:`Model.replace`; its base value
is the merged value. A style change schedules every lever whose value changes (and, so that a
batch can give it another target style, every other scalar lever no other policy schedules).
A schedule's numbers are constants of the planned model (:mod:`simdyn.scenario._levers`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simdyn.errors import ModelError, ScenarioError
from simdyn.model import Model
from simdyn.model.params import did_you_mean, sum_problem
from simdyn.scenario._levers import schedules
from simdyn.scenario._schema import (
    CustomStyle,
    Goal,
    ParamValue,
    PiecewiseLinear,
    Ramp,
    Scenario,
    Step,
    StyleChange,
    TimeSettings,
)
from simdyn.simulate import TimeGrid

__all__ = ["AppliedPolicy", "HeldLever", "RunPlan", "plan_run"]

STYLE_GROUP = "style"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ELEMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([A-Za-z0-9_]+)\]$")

Value = float | tuple[float, ...]


@dataclass(frozen=True)
class AppliedPolicy:
    """One scheduled parameter, as it was applied (for reports and plots)."""

    name: str
    label: str
    param: str
    schedule: Step | Ramp | PiecewiseLinear
    base: float

    def describe(self) -> str:
        """A one-line description, e.g. ``delegation: 0.2 → 0.7, ramp from 6 to 18``."""
        s = self.schedule
        if isinstance(s, Step):
            until = f", back at {s.until:g}" if s.until is not None else ""
            return f"{self.param}: {self.base:g} → {s.to:g} at {s.at:g}{until}"
        if isinstance(s, Ramp):
            return f"{self.param}: {self.base:g} → {s.to:g}, ramp from {s.start:g} to {s.end:g}"
        pts = ", ".join(f"({t:g}, {v:g})" for t, v in s.points)
        return f"{self.param}: piecewise linear through {pts}"

    def value_at(self, t: float) -> float:
        """The scheduled value at time ``t``."""
        return self.schedule.value_at(self.base, t)


@dataclass(frozen=True)
class HeldLever:
    """A style lever a style change left alone, and why (for reports)."""

    policy: str
    param: str
    reason: str


@dataclass(frozen=True)
class RunPlan:
    """Everything :func:`simdyn.simulate` needs for one scenario, checked against the model."""

    scenario: Scenario
    model: Model
    """The model to run: every scheduled constant an equation of time."""
    source_model: Model
    """The model as loaded, before the policies (a ``start_from`` style is its steady state)."""
    params: Mapping[str, Value]
    time: TimeSettings
    policies: tuple[AppliedPolicy, ...]
    changed: Mapping[str, tuple[Value, Value]] = field(default_factory=dict)
    """Constants whose value differs from the model default: name → (default, value)."""
    style: str = ""
    save: tuple[str, ...] = ()
    held: tuple[HeldLever, ...] = ()
    """Style levers a style change did not move because the scenario set them in ``params``."""


def plan_run(scenario: Scenario, model: Model) -> RunPlan:
    """Check ``scenario`` against ``model`` and work out the run's arguments.

    Raises
    ------
    ScenarioError
        For unknown parameters, variables or presets, out-of-range values, and a time grid
        that is invalid once the model's defaults fill the gaps.
    """
    loc = _Locator(scenario)
    time = _effective_time(scenario, model, loc)
    defaults: dict[str, Value] = {n: _as_value(c.value) for n, c in model.constants.items()}
    values, style_label = _merged_values(scenario, model, defaults, loc)
    applied, steady, held = _plan_policies(scenario, model, values, loc)
    run_model, scheduled = _policy_model(scenario, model, [*applied, *steady], values, loc)
    _check_start(scenario, model, loc)
    variables = _check_outputs(scenario, model, time, loc)
    _check_network(scenario, model, loc)
    return RunPlan(
        scenario=scenario,
        model=run_model,
        source_model=model,
        params={n: v for n, v in values.items() if n not in scheduled and v != defaults[n]},
        time=time,
        policies=tuple(applied),
        held=tuple(held),
        changed={n: (defaults[n], v) for n, v in values.items() if v != defaults[n]},
        style=style_label,
        save=variables,
    )


def _merged_values(
    scenario: Scenario, model: Model, defaults: Mapping[str, Value], loc: _Locator
) -> tuple[dict[str, Value], str]:
    """Every constant's value: the model's, then the style's, then ``params``; and the style."""
    values = dict(defaults)
    style_label = ""
    if scenario.style is not None:
        levers = _style_values(scenario.style, model, loc, ("style",))
        for name, value in levers.items():
            path = ("style",) if isinstance(scenario.style, str) else ("style", name)
            _check_range(model, name, value, loc, path)
        values.update(levers)
        style_label = (
            scenario.style if isinstance(scenario.style, str) else scenario.style.describe()
        )
    for key, raw in scenario.params.items():
        name, element = _constant_ref(key, model, loc, ("params", key))
        value = _set_value(model, name, element, raw, values[name], loc, ("params", key))
        _check_range(model, name, value, loc, ("params", key))
        values[name] = value
    _check_sums(scenario, model, values, defaults, loc)
    return values, style_label


def _plan_policies(
    scenario: Scenario, model: Model, values: Mapping[str, Value], loc: _Locator
) -> tuple[list[AppliedPolicy], list[AppliedPolicy], list[HeldLever]]:
    """The scheduled parameters, the steady style levers a batch may move, the held levers."""
    applied: list[AppliedPolicy] = []
    steady: list[AppliedPolicy] = []
    held: list[HeldLever] = []
    for pname, policy in scenario.policies.items():
        if isinstance(policy, StyleChange):
            moved, kept, not_moved = _style_change(pname, policy, scenario, model, values, loc)
            applied += moved
            steady += kept
            held += not_moved
        else:
            applied.append(_scheduled(pname, policy, model, values, loc))
    taken = _check_taken(applied, loc)
    _check_scheduled_sums(applied, values, model, loc)
    return applied, [a for a in steady if a.param not in taken], held


def _style_change(
    pname: str,
    policy: StyleChange,
    scenario: Scenario,
    model: Model,
    values: Mapping[str, Value],
    loc: _Locator,
) -> tuple[list[AppliedPolicy], list[AppliedPolicy], list[HeldLever]]:
    """A style change's levers: those it moves, those it leaves steady, those ``params`` hold.

    A steady lever (its value is already the target's) is scheduled too, so that a batch can
    give the change another target style.
    """
    new = _style_values(policy.to, model, loc, ("policies", pname, "to"))
    for key, names in (("keep", policy.keep), ("override", policy.override)):
        for k, kept in enumerate(names):
            if kept not in model.constants:
                loc.fail(
                    ("policies", pname, key, k),
                    f"unknown parameter {kept!r}",
                    did_you_mean(kept, model.constants),
                )
    initial_only = _initial_value_constants(model)
    set_in_params = {_ELEMENT.sub(r"\1", k) for k in scenario.params}
    moved: list[AppliedPolicy] = []
    steady: list[AppliedPolicy] = []
    held: list[HeldLever] = []
    for lever, to in new.items():
        if lever in policy.keep or lever in initial_only:
            continue
        old = values[lever]
        if lever in set_in_params and lever not in policy.override:
            if old != to:
                held.append(HeldLever(pname, lever, "set in params"))
            continue
        _check_range(model, lever, to, loc, ("policies", pname, "to"))
        if isinstance(old, tuple) or isinstance(to, tuple):
            if old == to:
                continue
            loc.fail(
                ("policies", pname),
                f"style lever {lever!r} has dimensions; a style change cannot ramp it",
                None,
            )
        assert isinstance(to, float)
        assert isinstance(old, float)
        sched = policy.lever_policy(lever, to)
        (steady if old == to else moved).append(
            AppliedPolicy(pname, policy.label, lever, sched, old)
        )
    return moved, steady, held


def _scheduled(
    pname: str,
    policy: Step | Ramp | PiecewiseLinear,
    model: Model,
    values: Mapping[str, Value],
    loc: _Locator,
) -> AppliedPolicy:
    """A step, ramp or piecewise-linear policy on one constant (or one element of it)."""
    path = ("policies", pname, "param")
    name, element = _constant_ref(policy.param, model, loc, path)
    current = values[name]
    if isinstance(current, tuple) and element is None:
        dim = model.constants[name].dims[0]
        loc.fail(
            path,
            f"{name!r} has one value per {dim}; schedule one element",
            f'e.g. param = "{name}[{model.dimensions[dim][0]}]"',
        )
    base = current[_index(model, name, element)] if isinstance(current, tuple) else current
    for target in _targets(policy):
        _check_range(model, name, target, loc, ("policies", pname))
    return AppliedPolicy(pname, policy.label, policy.param, policy, base)


def _check_taken(applied: list[AppliedPolicy], loc: _Locator) -> dict[str, str]:
    """Each parameter is scheduled by one policy: parameter → policy."""
    taken: dict[str, str] = {}
    for a in applied:
        if a.param in taken and taken[a.param] != a.name:
            loc.fail(
                ("policies", a.name),
                f"{a.param!r} is scheduled by both {taken[a.param]!r} and {a.name!r}",
                "a style change schedules every lever that changes; drop one of the two",
            )
        taken[a.param] = a.name
    return taken


def _policy_model(
    scenario: Scenario,
    model: Model,
    levers: list[AppliedPolicy],
    values: Mapping[str, Value],
    loc: _Locator,
) -> tuple[Model, set[str]]:
    """The model with every scheduled constant an equation of time, and their names."""
    kinds = {n: p.kind for n, p in scenario.policies.items()}
    times = {
        n: {"at": p.at, "transition": p.transition}
        for n, p in scenario.policies.items()
        if isinstance(p, StyleChange)
    }
    equations, lever_constants = schedules(levers, kinds, times, values, model)
    try:
        run_model = model.replace(equations=equations, add_constants=lever_constants)
    except ModelError as exc:
        loc.fail(("policies",), exc.what, "rename the policy")
        raise
    return run_model, set(equations)


def _check_start(scenario: Scenario, model: Model, loc: _Locator) -> None:
    """A ``start_from`` style must be one of the model's style presets."""
    if not isinstance(scenario.start_from, str):
        return
    styles = model.presets.get(STYLE_GROUP, {})
    if scenario.start_from not in styles:
        loc.fail(
            ("start_from",),
            f"unknown style {scenario.start_from!r} to start from",
            did_you_mean(scenario.start_from, styles)
            or ("one of " + ", ".join(styles) if styles else "this model has no styles"),
        )


def _check_outputs(
    scenario: Scenario, model: Model, time: TimeSettings, loc: _Locator
) -> tuple[str, ...]:
    """Goals and report variables must name variables of the model; returns the variables."""
    variables = tuple(model.variables)
    for gname, goal in scenario.goals.items():
        _check_goal(goal, model, variables, time, loc, ("goals", gname))
    for k, var in enumerate(scenario.report_variables):
        if var not in variables:
            loc.fail(
                ("report", "variables", k),
                f"unknown variable {var!r}",
                did_you_mean(var, variables),
            )
    return variables


def _check_network(scenario: Scenario, model: Model, loc: _Locator) -> None:
    """A ``[network]`` table exactly when the model has per-person variables."""
    if scenario.network is not None and not model.uses_network:
        loc.fail(
            ("network",),
            f"network mode is not available for model {model.name!r}: it has no 'node' dimension",
            "remove the [network] table, or use a model with per-person variables "
            "(e.g. learning_org_network)",
        )
    if scenario.network is None and model.uses_network:
        loc.fail(
            ("model",),
            f"model {model.name!r} has per-person variables and needs an org graph",
            'add a [network] table (e.g. n_teams = 15, or file = "org.csv")',
        )


# -- helpers ---------------------------------------------------------------------------------


class _Locator:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def fail(self, path: tuple[str | int, ...], what: str, hint: str | None) -> Any:
        file, line, where = self.scenario.locate(path)
        raise ScenarioError(what, file=file, line=line, where=where, hint=hint)


def _as_value(value: Any) -> Value:
    if isinstance(value, tuple | list):
        return tuple(float(v) for v in value)
    return float(value)


def _effective_time(scenario: Scenario, model: Model, loc: _Locator) -> TimeSettings:
    mt = model.time
    st = scenario.time
    try:
        settings = TimeSettings(
            start=st.start if st.start is not None else float(mt.start),
            stop=st.stop if st.stop is not None else float(mt.stop),
            dt=st.dt if st.dt is not None else float(mt.dt),
            method=st.method if st.method is not None else mt.method,
            save_per=st.save_per if st.save_per is not None else mt.save_per,
        )
        assert settings.start is not None
        assert settings.stop is not None
        assert settings.dt is not None
        TimeGrid(
            settings.start,
            settings.stop,
            settings.dt,
            settings.save_per if settings.save_per is not None else settings.dt,
        )
        return settings
    except ScenarioError as exc:
        key = exc.where or ""
        if key == "dt" and st.dt is None:  # too many steps: point at what the scenario set
            key = next((k for k in ("stop", "start") if getattr(st, k) is not None), key)
        if getattr(st, key, None) is None and model.spec.line_of("time", key) is not None:
            # the value comes from the model file's [time] table: point there
            raise ScenarioError(
                exc.what,
                file=model.spec.source,
                line=model.spec.line_of("time", key),
                where=f"time.{key}",
                hint=exc.hint,
            ) from None
        defaults = any(getattr(st, k) is None for k in ("start", "stop", "dt"))
        suffix = (
            " (with the model's defaults)" if defaults and getattr(st, key, None) is None else ""
        )
        loc.fail(("time", key), f"{exc.what}{suffix}", exc.hint)
        raise


def _constant_ref(
    key: str, model: Model, loc: _Locator, path: tuple[str | int, ...]
) -> tuple[str, str | None]:
    match = _ELEMENT.match(key)
    name, element = (match.group(1), match.group(2)) if match else (key, None)
    if name not in model.constants:
        kind = "a variable, not a constant" if name in tuple(model.variables) else "unknown"
        what = f"{name!r} is {kind}" if kind != "unknown" else f"unknown parameter {name!r}"
        loc.fail(
            path, what, did_you_mean(name, model.constants) or f"see `simdyn show {model.name}`"
        )
    const = model.constants[name]
    if element is not None:
        if not const.dims:
            loc.fail(path, f"{name!r} has no dimensions; drop [{element}]", None)
        elements = model.dimensions[const.dims[0]]
        if element not in elements:
            loc.fail(
                path,
                f"{name!r} has no element {element!r}",
                did_you_mean(element, elements) or "one of " + ", ".join(elements),
            )
    return name, element


def _check_sums(
    scenario: Scenario,
    model: Model,
    values: Mapping[str, Value],
    defaults: Mapping[str, Value],
    loc: _Locator,
) -> None:
    """Shares declared ``sum_to`` in the model must still add up once the scenario set some."""
    for name, const in model.constants.items():
        if const.sum_to is None or values[name] == defaults[name]:
            continue
        elements = tuple(model.dimensions[const.dims[0]])
        problem = sum_problem(const, values[name], elements, defaults[name])
        if problem is None:
            continue
        keys = [k for k in scenario.params if k == name or k.startswith(f"{name}[")]
        path: tuple[str | int, ...] = ("params", keys[0]) if keys else ("style",)
        loc.fail(path, *problem)


def _breakpoints(schedule: Step | Ramp | PiecewiseLinear) -> list[float]:
    if isinstance(schedule, Step):
        return [schedule.at] + ([schedule.until] if schedule.until is not None else [])
    if isinstance(schedule, Ramp):
        return [schedule.start, schedule.end]
    return [t for t, _ in schedule.points]


def _check_scheduled_sums(
    applied: list[AppliedPolicy], values: Mapping[str, Value], model: Model, loc: _Locator
) -> None:
    """Shares declared ``sum_to`` must add up at every time when policies schedule elements.

    The schedules are piecewise linear, so checking at their break points checks every time.
    """
    for name, const in model.constants.items():
        if const.sum_to is None:
            continue
        mine = [a for a in applied if a.param.startswith(f"{name}[")]
        if not mine:
            continue
        elements = tuple(model.dimensions[const.dims[0]])
        base = values[name]
        assert isinstance(base, tuple)
        for t in sorted({t for a in mine for t in _breakpoints(a.schedule)}):
            now = list(base)
            for a in mine:
                now[elements.index(a.param[len(name) + 1 : -1])] = a.value_at(t)
            problem = sum_problem(const, tuple(now), elements)
            if problem is not None:
                loc.fail(
                    ("policies", mine[0].name),
                    f"{problem[0].replace(' sums', f' sums at time {t:g}', 1)}",
                    "schedule the other elements too, so that the shares add up at every time "
                    f"(at {t:g}: "
                    + ", ".join(f"{e} = {v:g}" for e, v in zip(elements, now, strict=True))
                    + ")",
                )


def _index(model: Model, name: str, element: str | None) -> int:
    if element is None:
        return 0
    return tuple(model.dimensions[model.constants[name].dims[0]]).index(element)


def _set_value(
    model: Model,
    name: str,
    element: str | None,
    raw: ParamValue,
    current: Value,
    loc: _Locator,
    path: tuple[str | int, ...],
) -> Value:
    const = model.constants[name]
    if not const.dims:
        if not isinstance(raw, float):
            loc.fail(path, f"{name!r} takes one number", None)
        assert isinstance(raw, float)
        return raw
    elements = tuple(model.dimensions[const.dims[0]])
    base = current if isinstance(current, tuple) else (float(current),) * len(elements)
    if element is not None:
        if not isinstance(raw, float):
            loc.fail(path, f"{name}[{element}] takes one number", None)
        assert isinstance(raw, float)
        out = list(base)
        out[elements.index(element)] = raw
        return tuple(out)
    if isinstance(raw, float):
        return (raw,) * len(elements)
    if isinstance(raw, tuple):
        if len(raw) != len(elements):
            loc.fail(
                path,
                f"{name!r} needs {len(elements)} values ({', '.join(elements)}), got {len(raw)}",
                None,
            )
        return raw
    out = list(base)
    for elem, v in raw.items():
        if elem not in elements:
            loc.fail(
                (*path, elem), f"{name!r} has no element {elem!r}", did_you_mean(elem, elements)
            )
        out[elements.index(elem)] = v
    return tuple(out)


def _check_range(
    model: Model, name: str, value: Value, loc: _Locator, path: tuple[str | int, ...]
) -> None:
    const = model.constants[name]
    lo, hi = const.min, const.max
    for x in value if isinstance(value, tuple) else (value,):
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            bound = (
                f"below the minimum {lo:g}"
                if lo is not None and x < lo
                else f"above the maximum {hi:g}"
            )
            rng = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
            loc.fail(path, f"{x:g} is {bound} of {name!r}", f"allowed range {rng}")


def _style_values(
    style: str | CustomStyle, model: Model, loc: _Locator, path: tuple[str | int, ...]
) -> dict[str, Value]:
    group = model.presets.get(STYLE_GROUP)
    if not group:
        loc.fail(path, f"model {model.name!r} has no management-style presets", "remove style")
    assert group is not None
    levers = sorted({name for preset in group.values() for name in preset.values})
    preset_name = style if isinstance(style, str) else style.based_on
    values: dict[str, Value] = {}
    if preset_name is not None:
        if preset_name not in group:
            sub = path if isinstance(style, str) else (*path, "based_on")
            loc.fail(
                sub,
                f"unknown style {preset_name!r}",
                did_you_mean(preset_name, group) or "one of " + ", ".join(group),
            )
        values.update({k: _as_value(v) for k, v in group[preset_name].values.items()})
    if isinstance(style, CustomStyle):
        for lever, v in style.values.items():
            if lever not in levers:
                loc.fail(
                    (*path, lever),
                    f"unknown style lever {lever!r}",
                    did_you_mean(lever, levers) or "levers: " + ", ".join(levers),
                )
            values[lever] = v
    return values


def _initial_value_constants(model: Model) -> set[str]:
    """Constants named in stocks' initial equations and in no other equation."""

    def names(eq: Any) -> set[str]:
        texts = eq.values() if isinstance(eq, Mapping) else [eq]
        return {n for text in texts for n in _IDENT.findall(str(text))}

    in_initial = set().union(*(names(s.initial) for s in model.stocks.values()))
    equations = [f.equation for f in model.flows.values()]
    equations += [a.equation for a in model.auxiliaries.values()]
    elsewhere = set().union(*(names(eq) for eq in equations))
    return (in_initial - elsewhere) & set(model.constants)


def _targets(policy: Step | Ramp | PiecewiseLinear) -> list[float]:
    if isinstance(policy, PiecewiseLinear):
        return [v for _, v in policy.points]
    return [policy.to]


def _check_goal(
    goal: Goal,
    model: Model,
    variables: tuple[str, ...],
    time: TimeSettings,
    loc: _Locator,
    path: tuple[str | int, ...],
) -> None:
    match = _ELEMENT.match(goal.variable)
    name = match.group(1) if match else goal.variable
    if name not in variables:
        kind = "a constant, not a variable" if name in model.constants else None
        loc.fail(
            (*path, "variable"),
            f"{name!r} is {kind}" if kind else f"unknown variable {name!r}",
            did_you_mean(name, variables) or f"see `simdyn show {model.name}`",
        )
    assert time.start is not None
    assert time.stop is not None
    if not time.start <= goal.time <= time.stop:
        bound = "stop" if goal.time > time.stop else "start"
        loc.fail(
            (*path, "time"),
            f"goal time {goal.time:g} is outside the run ({time.start:g} to {time.stop:g})",
            f"run up to the goal (--set {bound}={goal.time:g}), or leave the goal out "
            f"(--set goals.{path[-1]}.enabled=false)",
        )
