"""The ``[sweep]`` table of a scenario file and the :class:`Sweep` it describes.

The checks here need only the table itself (types, keys, ranges that are ranges, a design that
has rows). Checks against the model (does the constant exist, is the range inside its bounds,
is the outcome's variable one of the model's) are in :mod:`simdyn.sweep.plan`. Every mistake is
a :class:`~simdyn.errors.ScenarioError` located as ``file:line: sweep.key: what (hint)``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simdyn._files import read_input_text
from simdyn._toml import KeyPath, dotted, parse_toml
from simdyn.errors import ScenarioError
from simdyn.scenario.reading import choices_hint, value_kind

__all__ = [
    "DESIGNS",
    "DISTRIBUTIONS",
    "STATS",
    "Design",
    "Lever",
    "Outcome",
    "Sweep",
    "Uncertainty",
    "load_sweep",
    "split_overrides",
]

DESIGNS = ("factorial", "lhs", "sobol", "morris", "montecarlo")
DISTRIBUTIONS = ("uniform", "triangular", "normal", "discrete")
STATS = ("at", "final", "mean", "min", "max", "time_to")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE_KEYS = ("seed", "chunk", "design", "uncertainties", "levers", "outcomes", "keep")
_DESIGN_KEYS = ("kind", "n", "levels", "second_order")
_UNCERTAINTY_KEYS = ("param", "range", "dist", "mode", "mean", "sd", "values", "levels")
_LEVER_KEYS = ("param", "values", "range", "levels")
_OUTCOME_KEYS = ("variable", "stat", "time", "window", "level", "direction", "label", "sense")
_KEEP_KEYS = ("variables", "every")


@dataclass(frozen=True)
class Uncertainty:
    """An uncertain input: a constant (or element, or policy number) and its distribution.

    ``low``/``high`` bound a uniform or triangular distribution and truncate a normal one;
    ``values`` are the equally likely values of a discrete one.
    """

    name: str
    param: str
    dist: str = "uniform"
    low: float = math.nan
    high: float = math.nan
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    values: tuple[float, ...] = ()
    levels: int | None = None


@dataclass(frozen=True)
class Lever:
    """A policy choice: the values (numbers, or style names for a style) it takes."""

    name: str
    param: str
    values: tuple[float | str, ...]

    @property
    def categorical(self) -> bool:
        """True when the values are names (a style), not numbers."""
        return any(isinstance(v, str) for v in self.values)


@dataclass(frozen=True)
class Outcome:
    """A number computed from each run: a value at a time, a window statistic, a time to a level."""

    name: str
    variable: str
    stat: str = "final"
    time: float | None = None
    window: tuple[float, float] | None = None
    level: float | None = None
    direction: str = "above"
    label: str = ""
    sense: str = "max"
    """``"max"`` if more is better (regret and the worst cases use it), else ``"min"``."""


@dataclass(frozen=True)
class Design:
    """How the uncertainties are sampled; ``n`` means what SALib means by it (see docs)."""

    kind: str = "lhs"
    n: int = 100
    levels: int = 4
    second_order: bool = True


@dataclass(frozen=True)
class Sweep:
    """A sweep: a scenario, its uncertainties and levers, a design and the outcomes to keep.

    Parameters
    ----------
    scenario
        The scenario file whose base scenario is swept.
    uncertainties, levers, outcomes
        What varies across the uncertainty sample, which policies are crossed with it, and
        what is computed from each run (each scenario goal adds ``goal_<name>_met`` and
        ``goal_<name>_margin``).
    design
        The sampling design of the uncertainties.
    seed
        Seeds the design and every run's random stream (row ``k`` draws stream ``k``).
    chunk
        Scenarios per chunk: one vectorised simulation each, one region of the store each.
    keep, keep_every
        Variables kept as time series at a coarse interval (model time units).
    overrides
        ``--set`` values applied to the scenario.
    text
        The scenario file's text (kept in the store; ``None`` reads ``scenario``).
    """

    scenario: str
    uncertainties: tuple[Uncertainty, ...] = ()
    levers: tuple[Lever, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    design: Design = field(default_factory=Design)
    seed: int = 0
    chunk: int = 4096
    keep: tuple[str, ...] = ()
    keep_every: float | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    origins: Mapping[KeyPath, tuple[str, int | None]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def locate(self, path: KeyPath) -> tuple[str | None, int | None, str]:
        """``(file, line, dotted key)`` of a key path below ``[sweep]``."""
        full: KeyPath = ("sweep", *path)
        for cut in range(len(full), 0, -1):
            found = self.origins.get(full[:cut])
            if found is not None:
                return found[0], found[1], dotted(full)
        return self.scenario, None, dotted(full)

    def fail(self, path: KeyPath, what: str, hint: str | None = None) -> Any:
        """Raise a :class:`ScenarioError` located at ``sweep.<path>``."""
        file, line, where = self.locate(path)
        raise ScenarioError(what, file=file, line=line, where=where, hint=hint)

    @property
    def n_policies(self) -> int:
        """Number of policies: every combination of the levers' values."""
        return math.prod(len(lv.values) for lv in self.levers)


def split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``--set`` values into ``(scenario overrides, sweep overrides)``.

    Examples
    --------
    >>> split_overrides({"params.demand": 1.2, "sweep.design.n": 64})
    ({'params.demand': 1.2}, {'design.n': 64})
    """
    scen = {k: v for k, v in overrides.items() if not k.startswith("sweep.")}
    sweep = {k[len("sweep.") :]: v for k, v in overrides.items() if k.startswith("sweep.")}
    return scen, sweep


def load_sweep(
    source: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    text: str | None = None,
) -> Sweep:
    """Read the ``[sweep]`` table of a scenario file.

    Parameters
    ----------
    source
        The scenario file.
    overrides
        ``--set`` values: ``sweep.KEY`` ones change the sweep table (``sweep.design.n=64``),
        the others the scenario.
    text
        The file's text, if it is not to be read from ``source``.

    Raises
    ------
    ScenarioError
        For a missing or malformed ``[sweep]`` table, located at its line.

    Examples
    --------
    >>> doc = '''model = "teacup"
    ... [sweep.design]
    ... kind = "montecarlo"
    ... n = 8
    ... [sweep.uncertainties.characteristic_time]
    ... range = [5, 15]
    ... [sweep.outcomes.final_temperature]
    ... variable = "teacup_temperature"
    ... '''
    >>> sw = load_sweep("demo.toml", text=doc)
    >>> sw.design.kind, sw.uncertainties[0].high, sw.outcomes[0].stat
    ('montecarlo', 15.0, 'final')
    """
    path = Path(source)
    file = str(path)
    if text is None:  # read as the scenario loader reads it: regular text files, size limit
        text = read_input_text(path, what="file", error=ScenarioError)
    data, lines = parse_toml(text, file=file, error=ScenarioError, hint="see docs/sweeps.md")
    scen_over, sweep_over = split_overrides(overrides or {})
    origins: dict[KeyPath, tuple[str, int | None]] = {k: (file, v) for k, v in lines.items()}
    table = data.get("sweep")
    if table is None:
        raise ScenarioError(
            "this scenario has no [sweep] table",
            file=file,
            hint="add [sweep.design], [sweep.uncertainties.NAME] and [sweep.outcomes.NAME]; "
            "see docs/sweeps.md",
        )
    r = _Reader(file, origins)
    if not isinstance(table, dict):
        r.fail(("sweep",), f"must be a table, not {value_kind(table)}", "[sweep]")
    for key, value in sweep_over.items():
        _set_dotted(table, key, value, r)
    return _build(table, r, scenario=file, overrides=scen_over, text=text)


# -- building ------------------------------------------------------------------------------


def _build(
    table: dict[str, Any], r: _Reader, *, scenario: str, overrides: Mapping[str, Any], text: str
) -> Sweep:
    r.keys(("sweep",), table, _TABLE_KEYS)
    design = _design(r, table.get("design", {}))
    uncertainties = tuple(
        _uncertainty(r, name, body) for name, body in r.table(("sweep", "uncertainties"), table)
    )
    levers = tuple(_lever(r, name, body) for name, body in r.table(("sweep", "levers"), table))
    outcomes = tuple(
        _outcome(r, name, body) for name, body in r.table(("sweep", "outcomes"), table)
    )
    keep_raw = table.get("keep", {})
    if not isinstance(keep_raw, dict):
        r.fail(("sweep", "keep"), f"must be a table, not {value_kind(keep_raw)}", "[sweep.keep]")
    r.keys(("sweep", "keep"), keep_raw, _KEEP_KEYS)
    keep = tuple(r.names(("sweep", "keep", "variables"), keep_raw.get("variables", [])))
    every = r.number(("sweep", "keep", "every"), keep_raw.get("every"), positive=True)
    seed = r.integer(("sweep", "seed"), table.get("seed", 0), minimum=0)
    chunk = r.integer(("sweep", "chunk"), table.get("chunk", 4096), minimum=1)
    names = [u.name for u in uncertainties] + [lv.name for lv in levers]
    for group, items in (("uncertainties", uncertainties), ("levers", levers)):
        for item in items:
            if names.count(item.name) > 1:
                r.fail(("sweep", group, item.name), "the same name is an uncertainty and a lever")
    if not uncertainties and not levers:
        r.fail(
            ("sweep",),
            "the design is empty: no uncertainties and no levers",
            "add [sweep.uncertainties.NAME] or [sweep.levers.NAME]",
        )
    if design.kind in ("sobol", "morris") and len(uncertainties) < 2:
        r.fail(
            ("sweep", "design", "kind"),
            f"a {design.kind} design needs at least two uncertainties",
            "use kind = 'lhs' or 'montecarlo'",
        )
    if design.kind in ("sobol", "morris"):
        for u in uncertainties:
            if u.dist == "discrete":
                r.fail(
                    ("sweep", "uncertainties", u.name, "values"),
                    f"a {design.kind} design needs continuous uncertainties",
                    "give a range instead of values",
                )
    return Sweep(
        scenario=scenario,
        uncertainties=uncertainties,
        levers=levers,
        outcomes=outcomes,
        design=design,
        seed=seed,
        chunk=chunk,
        keep=keep,
        keep_every=every,
        overrides=dict(overrides),
        text=text,
        origins=r.origins,
    )


def _design(r: _Reader, raw: Any) -> Design:
    path: KeyPath = ("sweep", "design")
    if not isinstance(raw, dict):
        r.fail(path, f"must be a table, not {value_kind(raw)}", "[sweep.design]")
    r.keys(path, raw, _DESIGN_KEYS)
    kind = raw.get("kind", "lhs")
    if kind not in DESIGNS:
        r.fail((*path, "kind"), f"unknown design {kind!r}", choices_hint(str(kind), DESIGNS))
    n = r.integer((*path, "n"), raw.get("n", 100), minimum=0)
    if n == 0:
        r.fail((*path, "n"), "the design is empty (n = 0)", "n is the number of samples")
    if kind == "sobol" and n & (n - 1):
        r.fail(
            (*path, "n"),
            f"a Sobol design needs n a power of 2, not {n}",
            f"try n = {1 << max(n.bit_length() - 1, 0)}",
        )
    levels = r.integer((*path, "levels"), raw.get("levels", 4), minimum=2)
    if kind == "morris" and levels % 2:
        r.fail((*path, "levels"), f"Morris needs an even number of levels, not {levels}")
    second = raw.get("second_order", True)
    if not isinstance(second, bool):
        r.fail((*path, "second_order"), f"expected true or false, not {value_kind(second)}")
    return Design(kind=kind, n=n, levels=levels, second_order=second)


def _param(r: _Reader, path: KeyPath, body: Any, keys: Sequence[str], example: str) -> str:
    """Check the table of an uncertainty or a lever; return the parameter it sets."""
    name = str(path[-1])
    r.ident(path, name)
    if not isinstance(body, dict):
        r.fail(path, f"must be a table, not {value_kind(body)}", example)
    r.keys(path, body, keys)
    param: Any = body.get("param", name)
    if not isinstance(param, str):
        r.fail((*path, "param"), f"expected a parameter name, not {value_kind(param)}")
    return str(param)


def _uncertainty(r: _Reader, name: str, body: Any) -> Uncertainty:
    path: KeyPath = ("sweep", "uncertainties", name)
    param = _param(r, path, body, _UNCERTAINTY_KEYS, "range = [low, high]")
    if "values" in body:
        values = tuple(r.number((*path, "values", k), v) for k, v in enumerate(body["values"]))
        if not values:
            r.fail((*path, "values"), "the design is empty: no values")
        return Uncertainty(name, param, "discrete", min(values), max(values), values=values)
    dist = body.get("dist", "uniform")
    if dist not in DISTRIBUTIONS or dist == "discrete":
        r.fail(
            (*path, "dist"),
            f"unknown distribution {dist!r}",
            choices_hint(str(dist), DISTRIBUTIONS),
        )
    if "range" not in body:
        r.fail(path, "missing required key 'range'", "range = [low, high]")
    low, high = r.range((*path, "range"), body["range"])
    mode = r.number((*path, "mode"), body.get("mode"))
    mean = r.number((*path, "mean"), body.get("mean"))
    sd = r.number((*path, "sd"), body.get("sd"), positive=True)
    if dist == "triangular" and (mode is None or not low <= mode <= high):
        r.fail((*path, "mode"), "a triangular distribution needs a mode inside its range")
    if dist == "normal" and (mean is None or sd is None):
        r.fail(path, "a normal distribution needs mean and sd", "it is truncated to range")
    levels = body.get("levels")
    if levels is not None:
        levels = r.integer((*path, "levels"), levels, minimum=2)
    return Uncertainty(name, param, dist, low, high, mode, mean, sd, levels=levels)


def _lever(r: _Reader, name: str, body: Any) -> Lever:
    path: KeyPath = ("sweep", "levers", name)
    param = _param(r, path, body, _LEVER_KEYS, "values = [...]")
    if "values" in body:
        raw = body["values"]
        if not isinstance(raw, list) or not raw:
            r.fail((*path, "values"), "the design is empty: a lever needs a list of values")
        values: list[float | str] = []
        for k, v in enumerate(raw):
            values.append(v if isinstance(v, str) else r.number((*path, "values", k), v))
        return Lever(name, param, tuple(values))
    if "range" not in body:
        r.fail(path, "a lever needs values = [...] or range = [low, high] with levels")
    low, high = r.range((*path, "range"), body["range"])
    levels = r.integer((*path, "levels"), body.get("levels", 3), minimum=2)
    step = (high - low) / (levels - 1)
    return Lever(name, param, tuple(low + k * step for k in range(levels)))


def _outcome(r: _Reader, name: str, body: Any) -> Outcome:
    path: KeyPath = ("sweep", "outcomes", name)
    r.ident(path, name)
    if not isinstance(body, dict):
        r.fail(path, f"must be a table, not {value_kind(body)}", 'variable = "..."')
    r.keys(path, body, _OUTCOME_KEYS)
    variable = body.get("variable")
    if not isinstance(variable, str):
        r.fail(path, "missing required key 'variable'")
    stat = body.get("stat", "at" if "time" in body else "final")
    if stat not in STATS:
        r.fail((*path, "stat"), f"unknown statistic {stat!r}", choices_hint(str(stat), STATS))
    time = r.number((*path, "time"), body.get("time"))
    if stat == "at" and time is None:
        r.fail(path, "stat = 'at' needs a time")
    window = None
    if "window" in body:
        window = r.range((*path, "window"), body["window"])
    level = r.number((*path, "level"), body.get("level"))
    if stat == "time_to" and level is None:
        r.fail(path, "stat = 'time_to' needs a level")
    direction = body.get("direction", "above")
    if direction not in ("above", "below"):
        r.fail((*path, "direction"), f"unknown direction {direction!r}", "'above' or 'below'")
    label = body.get("label", "")
    sense = body.get("sense", "max")
    if sense not in ("max", "min"):
        r.fail((*path, "sense"), f"unknown sense {sense!r}", "'max' (more is better) or 'min'")
    return Outcome(name, variable, stat, time, window, level, direction, str(label), sense)


# -- typed accessors that fail with a located message -----------------------------------------


class _Reader:
    def __init__(self, file: str, origins: dict[KeyPath, tuple[str, int | None]]) -> None:
        self.file = file
        self.origins = origins

    def fail(self, path: KeyPath, what: str, hint: str | None = None) -> Any:
        for cut in range(len(path), 0, -1):
            found = self.origins.get(path[:cut])
            if found is not None:
                raise ScenarioError(
                    what, file=found[0], line=found[1], where=dotted(path), hint=hint
                )
        raise ScenarioError(what, file=self.file, where=dotted(path), hint=hint)

    def keys(self, path: KeyPath, table: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in table:
            if key not in known:
                self.fail((*path, key), "unknown key", choices_hint(key, known))

    def table(self, path: KeyPath, parent: Mapping[str, Any]) -> list[tuple[str, Any]]:
        raw = parent.get(str(path[-1]), {})
        if not isinstance(raw, dict):
            self.fail(path, f"must be a table, not {value_kind(raw)}", f"[{dotted(path)}.NAME]")
        return list(raw.items())

    def ident(self, path: KeyPath, name: str) -> None:
        if not _IDENT.match(name):
            self.fail(path, f"{name!r} is not a name", "letters, digits and _; set param = '...'")

    def number(self, path: KeyPath, value: Any, *, positive: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"expected a number, not {value_kind(value)}")
        if not math.isfinite(value):
            self.fail(path, f"{value} is not a finite number")
        if positive and value <= 0:
            self.fail(path, f"must be positive, not {value}")
        return float(value)

    def integer(self, path: KeyPath, value: Any, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected a whole number, not {value_kind(value)}")
        if value < minimum:
            self.fail(path, f"must be at least {minimum}, not {value}")
        return int(value)

    def range(self, path: KeyPath, value: Any) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(path, "expected [low, high]")
        low = self.number((*path, 0), value[0])
        high = self.number((*path, 1), value[1])
        if not low < high:
            self.fail(path, f"low ({low:g}) must be below high ({high:g})")
        return low, high

    def names(self, path: KeyPath, value: Any) -> list[str]:
        if not isinstance(value, list):
            self.fail(path, f"expected a list of variable names, not {value_kind(value)}")
        for k, v in enumerate(value):
            if not isinstance(v, str):
                self.fail((*path, k), f"expected a variable name, not {value_kind(v)}")
        return list(value)


def _set_dotted(table: dict[str, Any], key: str, value: Any, r: _Reader) -> None:
    parts = [p for p in re.split(r"\.(?![^\[]*\])", key) if p]
    node = table
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ScenarioError("conflicting overrides", file="--set", where=f"sweep.{key}")
    node[parts[-1]] = value
    r.origins[("sweep", *parts)] = ("--set", None)
