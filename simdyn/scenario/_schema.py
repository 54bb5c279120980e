"""Scenario objects: frozen dataclasses that check their own fields when they are built.

The checks here need nothing but the values themselves (types, signs, ordering). Checks that
need the model (does the parameter exist, is the value inside its range) live in
:mod:`simdyn.scenario._check`. A failing check raises :class:`~simdyn.errors.ScenarioError`
whose ``where`` names the field, relative to the object; the loader prefixes the path in the
file and adds the line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from simdyn._toml import KeyPath, Origin, locate
from simdyn.errors import ScenarioError
from simdyn.integrate import FIXED_METHODS, SCIPY_METHODS

__all__ = [
    "COMPARISONS",
    "FIXED_STEP_METHODS",
    "METHODS",
    "CustomStyle",
    "Goal",
    "ParamValue",
    "PiecewiseLinear",
    "Policy",
    "Ramp",
    "Scenario",
    "StartFromRun",
    "Step",
    "StyleChange",
    "TimeSettings",
]

FIXED_STEP_METHODS = tuple(FIXED_METHODS)
METHODS = (*FIXED_STEP_METHODS, *SCIPY_METHODS)

COMPARISONS: dict[str, str] = {
    ">=": "at least",
    "<=": "at most",
    ">": "more than",
    "<": "less than",
}

ParamValue: TypeAlias = float | tuple[float, ...] | Mapping[str, float]
"""A parameter value: one number, one per element (list), or per element by name (table)."""


def _finite(value: float, where: str) -> float:
    if not math.isfinite(value):
        raise ScenarioError(f"{value:g} is not a finite number", where=where)
    return value


@dataclass(frozen=True)
class TimeSettings:
    """The time grid of a run; ``None`` fields fall back to the model's ``[time]`` table.

    Examples
    --------
    >>> TimeSettings(start=0, stop=60, dt=0.25).stop
    60
    >>> TimeSettings(start=10, stop=5)
    Traceback (most recent call last):
    ...
    simdyn.errors.ScenarioError: stop: stop (5) must be after start (10)
    """

    start: float | None = None
    stop: float | None = None
    dt: float | None = None
    method: str | None = None
    save_per: float | None = None

    def __post_init__(self) -> None:
        for name in ("start", "stop", "dt", "save_per"):
            value = getattr(self, name)
            if value is not None:
                _finite(value, name)
        if self.dt is not None and self.dt <= 0:
            raise ScenarioError(f"dt must be positive, not {self.dt:g}", where="dt")
        if self.save_per is not None and self.save_per <= 0:
            raise ScenarioError(
                f"save_per must be positive, not {self.save_per:g}", where="save_per"
            )
        if self.start is not None and self.stop is not None and self.stop <= self.start:
            raise ScenarioError(
                f"stop ({self.stop:g}) must be after start ({self.start:g})", where="stop"
            )
        if self.dt is not None and self.save_per is not None:
            ratio = self.save_per / self.dt
            if not math.isfinite(ratio) or ratio > 1e15:
                raise ScenarioError(
                    f"save_per ({self.save_per:g}) is {ratio:.3g} times dt ({self.dt:g})",
                    where="save_per",
                    hint="save_per can be at most the length of the run",
                )
            if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
                raise ScenarioError(
                    f"save_per ({self.save_per:g}) is not a whole multiple of dt ({self.dt:g})",
                    where="save_per",
                    hint=f"try save_per = {max(round(ratio), 1) * self.dt:g}",
                )
        if self.method is not None and self.method not in METHODS:
            raise ScenarioError(
                f"unknown integration method {self.method!r}",
                where="method",
                hint="one of " + ", ".join(METHODS),
            )

    def arguments(self) -> dict[str, Any]:
        """The settings as :func:`simdyn.simulate` keywords (``None``: the model's).

        Examples
        --------
        >>> TimeSettings(start=0, stop=60, dt=0.25).arguments()["stop"]
        60
        """
        return {
            "start": self.start,
            "stop": self.stop,
            "dt": self.dt,
            "save_per": self.save_per,
            "method": self.method,
        }


@dataclass(frozen=True)
class Step:
    """Set ``param`` to ``to`` at time ``at`` (and back to its base value at ``until``).

    Examples
    --------
    >>> Step("hiring_rate", at=12, to=0, until=18).equation(2.0)
    '2.0 + (-2.0) * (STEP(1, 12.0) - STEP(1, 18.0))'
    """

    param: str
    at: float
    to: float
    until: float | None = None
    label: str = ""
    kind: Literal["step"] = field(default="step", init=False)

    def __post_init__(self) -> None:
        _finite(self.at, "at")
        _finite(self.to, "to")
        if self.until is not None and _finite(self.until, "until") <= self.at:
            raise ScenarioError(f"until ({self.until}) must be after at ({self.at})", where="until")

    def equation(self, base: float) -> str:
        """The equation of ``param`` over time, given its value before the policy."""
        switch = f"STEP(1, {_num(self.at)})"
        if self.until is not None:
            switch = f"({switch} - STEP(1, {_num(self.until)}))"
        return f"{_num(base)} + {_num(self.to - base)} * {switch}"

    def value_at(self, base: float, t: float) -> float:
        """The scheduled value at time ``t`` (for plots and tables)."""
        on = t >= self.at and (self.until is None or t < self.until)
        return self.to if on else base


@dataclass(frozen=True)
class Ramp:
    """Move ``param`` linearly from its base value (at ``start``) to ``to`` (at ``end``).

    Examples
    --------
    >>> Ramp("delegation", start=6, end=18, to=0.7).equation(0.2)
    '0.2 + 0.041666666666666664 * RAMP(1, 6.0, 18.0)'
    """

    param: str
    start: float
    end: float
    to: float
    label: str = ""
    kind: Literal["ramp"] = field(default="ramp", init=False)

    def __post_init__(self) -> None:
        _finite(self.start, "start")
        _finite(self.to, "to")
        if _finite(self.end, "end") <= self.start:
            raise ScenarioError(
                f"end ({self.end}) must be after start ({self.start})",
                where="end",
                hint="use kind = 'step' for an immediate change",
            )

    def equation(self, base: float) -> str:
        """The equation of ``param`` over time, given its value before the policy."""
        slope = (self.to - base) / (self.end - self.start)
        return f"{_num(base)} + {_num(slope)} * RAMP(1, {_num(self.start)}, {_num(self.end)})"

    def value_at(self, base: float, t: float) -> float:
        """The scheduled value at time ``t`` (for plots and tables)."""
        frac = min(max((t - self.start) / (self.end - self.start), 0.0), 1.0)
        return base + (self.to - base) * frac


@dataclass(frozen=True)
class PiecewiseLinear:
    """Give ``param`` the values ``points`` ``[(t, value), ...]``, linear in between.

    Before the first point the value is the first value, after the last the last value. Two
    points at the same time make a jump.

    Examples
    --------
    >>> PiecewiseLinear("hours", points=((0, 2), (6, 2), (12, 8))).equation(0.0)
    '2.0 + 1.0 * RAMP(1, 6.0, 12.0)'
    """

    param: str
    points: tuple[tuple[float, float], ...]
    label: str = ""
    kind: Literal["piecewise"] = field(default="piecewise", init=False)

    def __post_init__(self) -> None:
        if len(self.points) < 1:
            raise ScenarioError("needs at least one [time, value] point", where="points")
        for k, (t, v) in enumerate(self.points):
            _finite(t, f"points[{k}]")
            _finite(v, f"points[{k}]")
            if k and t < self.points[k - 1][0]:
                raise ScenarioError(
                    f"times must not decrease ({t} comes after {self.points[k - 1][0]})",
                    where=f"points[{k}]",
                )

    def equation(self, base: float) -> str:
        """The equation of ``param`` over time (``base`` is not used: the points say it all)."""
        terms = [_num(self.points[0][1])]
        for (t0, v0), (t1, v1) in zip(self.points, self.points[1:], strict=False):
            if v1 == v0:
                continue
            if t1 == t0:
                terms.append(f"{_num(v1 - v0)} * STEP(1, {_num(t0)})")
            else:
                slope = (v1 - v0) / (t1 - t0)
                terms.append(f"{_num(slope)} * RAMP(1, {_num(t0)}, {_num(t1)})")
        return " + ".join(terms)

    def value_at(self, base: float, t: float) -> float:
        """The scheduled value at time ``t`` (for plots and tables)."""
        value = self.points[0][1]
        for (t0, v0), (t1, v1) in zip(self.points, self.points[1:], strict=False):
            if t >= t1:
                value = v1
            elif t > t0:
                value = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        return value


@dataclass(frozen=True)
class CustomStyle:
    """A management style given lever by lever, optionally starting from a preset.

    Examples
    --------
    >>> CustomStyle(values={"delegation": 0.5}, based_on="transactional").describe()
    'transactional with delegation = 0.5'
    """

    values: Mapping[str, float]
    based_on: str | None = None

    def __post_init__(self) -> None:
        for name, value in self.values.items():
            _finite(value, name)
        if not self.values and self.based_on is None:
            raise ScenarioError(
                "a custom style needs lever values or based_on",
                hint="for example style = { based_on = 'transactional', delegation = 0.5 }",
            )

    def describe(self) -> str:
        """A short human-readable description."""
        levers = ", ".join(f"{k} = {v:g}" for k, v in self.values.items())
        if self.based_on is None:
            return f"custom ({levers})"
        return f"{self.based_on} with {levers}" if levers else self.based_on


Style: TypeAlias = str | CustomStyle


@dataclass(frozen=True)
class StyleChange:
    """Change management style at ``at``; every lever ramps to its new value over ``transition``.

    Preset values that only set initial values of stocks are not levers and do not change;
    nor do the constants named in ``keep`` (for example a demand calibration a preset carries),
    nor constants the scenario sets in ``params`` (the user set them on purpose) unless they
    are named in ``override``.

    Examples
    --------
    >>> StyleChange(at=6, to="facilitative", transition=12).end
    18.0
    """

    at: float
    to: Style
    transition: float = 0.0
    keep: tuple[str, ...] = ()
    override: tuple[str, ...] = ()
    label: str = ""
    kind: Literal["style"] = field(default="style", init=False)

    def __post_init__(self) -> None:
        _finite(self.at, "at")
        if _finite(self.transition, "transition") < 0:
            raise ScenarioError(
                f"transition must be zero or positive, not {self.transition}", where="transition"
            )

    @property
    def end(self) -> float:
        """The time at which the new style is fully in place."""
        return float(self.at + self.transition)

    def lever_policy(self, lever: str, to: float) -> Step | Ramp:
        """The schedule of one lever: a ramp over the transition, or a step if it is zero."""
        if self.transition == 0:
            return Step(lever, at=self.at, to=to, label=self.label)
        return Ramp(lever, start=self.at, end=self.end, to=to, label=self.label)


Policy: TypeAlias = Step | Ramp | PiecewiseLinear | StyleChange


@dataclass(frozen=True)
class Goal:
    """A target for one variable at one time: ``variable(time) <comparison> value``.

    With ``relative_to = "start"`` the value is compared with ``variable(time) /
    variable(start)`` (so ``value = 1.1`` means "10 % above where it started").

    Examples
    --------
    >>> goal = Goal("engagement", time=12, comparison=">=", value=0.5, label="year 1")
    >>> goal.check(0.56)
    (True, 0.06000000000000005)
    """

    variable: str
    time: float
    comparison: str
    value: float
    label: str = ""
    relative_to: Literal["start"] | None = None

    def __post_init__(self) -> None:
        _finite(self.time, "time")
        _finite(self.value, "value")
        if self.comparison not in COMPARISONS:
            raise ScenarioError(
                f"unknown comparison {self.comparison!r}",
                where="comparison",
                hint="one of " + ", ".join(repr(c) for c in COMPARISONS),
            )

    def check(self, actual: float) -> tuple[bool, float]:
        """Return (met, margin); the margin is positive on the good side of the target."""
        margin = actual - self.value if self.comparison in (">=", ">") else self.value - actual
        met = margin > 0 if self.comparison in (">", "<") else margin >= 0
        return bool(met and math.isfinite(actual)), margin


@dataclass(frozen=True)
class StartFromRun:
    """Start from the stocks of another run of the same file (``"base"`` or a variant) at
    ``time`` (default: that run's start)."""

    run: str
    time: float | None = None


@dataclass(frozen=True)
class Scenario:
    """One fully merged scenario: what to run, how, which policies, which goals.

    Build scenarios with :func:`simdyn.scenario.load_scenario`; the constructor checks the
    fields that need no model.

    Parameters
    ----------
    model
        A built-in model name or an absolute path to a model file.
    name
        The scenario's name: the file's stem for the base, the variant's name for a variant.
    time
        The time grid (``None`` fields use the model's defaults).
    seed
        Random seed passed to :func:`simdyn.simulate`.
    params
        Constant values, by name; ``name[element]`` sets one element.
    style
        A management-style preset name, a :class:`CustomStyle`, or ``None`` (model defaults).
    policies
        Named schedules applied over time.
    goals
        Named targets evaluated after the run.
    network
        The ``[network]`` table, passed on to the network layer.
    report
        The ``[report]`` table (``variables``: what to plot first; ``value_per_unit``: the
        value of one unit of output in the cost-benefit panel).
    start_from
        Start from one organisation's state: a style preset's name (its steady state), or a
        :class:`StartFromRun`; ``None`` starts from the model's initial values.
    source
        The file the scenario came from.
    text
        The scenario file's text (embedded in the results).
    """

    model: str
    name: str = "base"
    title: str = ""
    description: str = ""
    time: TimeSettings = field(default_factory=TimeSettings)
    seed: int | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    style: Style | None = None
    policies: Mapping[str, Policy] = field(default_factory=dict)
    goals: Mapping[str, Goal] = field(default_factory=dict)
    network: Mapping[str, Any] | None = None
    report_variables: tuple[str, ...] = ()
    report_value_per_unit: float | None = None
    report_uncertainty: tuple[str, ...] = ()
    """Variants over uncertain values: the report draws them as a band around the base run."""
    start_from: str | StartFromRun | None = None
    source: str = "<string>"
    text: str = ""
    origins: Mapping[KeyPath, Origin] = field(default_factory=dict, repr=False, compare=False)

    def locate(self, path: KeyPath) -> tuple[str | None, int | None, str]:
        """Return ``(file, line, dotted key)`` of a key path in the scenario's source files."""
        return locate(self.origins, path)

    def __post_init__(self) -> None:
        if not self.model:
            raise ScenarioError("the model name is empty", where="model")
        if self.seed is not None and self.seed < 0:
            raise ScenarioError(f"seed must be zero or positive, not {self.seed}", where="seed")
        scheduled: dict[str, str] = {}
        for name, policy in self.policies.items():
            if isinstance(policy, StyleChange):
                continue
            if policy.param in scheduled:
                raise ScenarioError(
                    f"{policy.param!r} is already scheduled by policy {scheduled[policy.param]!r}",
                    where=f"policies.{name}.param",
                    hint="combine both into one piecewise policy",
                )
            scheduled[policy.param] = name
        style_changes = [n for n, p in self.policies.items() if isinstance(p, StyleChange)]
        if len(style_changes) > 1:
            raise ScenarioError(
                "more than one style change: " + ", ".join(style_changes),
                where=f"policies.{style_changes[1]}",
                hint="keep one style change per scenario, or use piecewise policies per lever",
            )


def _num(x: float) -> str:
    text = repr(float(x))
    return f"({text})" if text.startswith("-") else text
