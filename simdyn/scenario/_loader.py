"""Scenario files: read, follow ``extends``, merge variants and overrides, build objects.

Precedence, lowest first: the model's defaults < the scenario file (after the files it
``extends``) < the chosen variant < overrides (``--set``). Tables merge key by key; any other
value (a number, a string, an array) replaces the one below it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from simdyn._files import read_input_text
from simdyn._toml import KeyPath, Origin, dotted, locate, parse_toml
from simdyn.errors import ScenarioError
from simdyn.model.xmile_xml import XMILE_SUFFIXES
from simdyn.scenario._schema import (
    CustomStyle,
    Goal,
    ParamValue,
    PiecewiseLinear,
    Policy,
    Ramp,
    Scenario,
    StartFromRun,
    Step,
    StyleChange,
    TimeSettings,
)
from simdyn.scenario.reading import choices_hint, value_kind

__all__ = ["DEFAULT_SCENARIO", "ScenarioSet", "load_scenario", "parse_assignments"]

DEFAULT_SCENARIO = Path(__file__).with_name("default.toml")
"""The scenario ``simdyn run`` uses when it is given none: the article's step plan."""

_SCENARIO_KEYS = (
    "title",
    "description",
    "model",
    "seed",
    "style",
    "time",
    "params",
    "policies",
    "goals",
    "network",
    "report",
    "start_from",
)
# [sweep] is read by simdyn.sweep; a scenario run ignores it
_TOP_KEYS = ("extends", *_SCENARIO_KEYS, "variants", "sweep")
_TIME_KEYS = ("start", "stop", "dt", "method", "save_per")
_POLICY_KEYS: dict[str, tuple[str, ...]] = {
    "step": ("param", "at", "to", "until"),
    "ramp": ("param", "start", "end", "to"),
    "piecewise": ("param", "points"),
    "style": ("at", "to", "transition", "keep", "override"),
}
_GOAL_KEYS = ("variable", "time", "comparison", "value", "label", "relative_to", "enabled")
_OVERRIDE_SOURCE = "--set"
_T = TypeVar("_T")


@dataclass
class _Doc:
    """A TOML document and, for every key path, the file, line and path it was written at."""

    data: dict[str, Any]
    origins: dict[KeyPath, Origin] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> tuple[str | None, int | None, str]:
        return locate(self.origins, path)


@dataclass(frozen=True)
class ScenarioSet:
    """A scenario file after loading: the base scenario and its variants.

    Attributes
    ----------
    path
        The file (``None`` for text given directly).
    text
        The file's text.
    base
        The scenario as written, without any variant.
    variants
        Each variant, merged over the base, in file order.
    """

    path: Path | None
    text: str
    base: Scenario
    variants: Mapping[str, Scenario]

    def select(self, names: Sequence[str] | None = None) -> tuple[Scenario, ...]:
        """The scenarios to run: the base and every variant, or only the ``names`` given.

        ``"base"`` names the base scenario.
        """
        if names is None:
            return (self.base, *self.variants.values())
        chosen = []
        for name in names:
            if name == "base":
                chosen.append(self.base)
            elif name in self.variants:
                chosen.append(self.variants[name])
            else:
                raise ScenarioError(
                    f"no variant named {name!r}",
                    file=str(self.path) if self.path else None,
                    where="variants",
                    hint=choices_hint(name, ["base", *self.variants]),
                )
        return tuple(chosen)


def load_scenario(
    source: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    text: str | None = None,
) -> ScenarioSet:
    """Read a scenario file, following ``extends`` and merging variants and overrides.

    Parameters
    ----------
    source
        The scenario file. With ``text`` given, only its name and folder are used (to name
        the file in errors and to resolve relative paths).
    overrides
        Values that win over the file and every variant, as nested tables or dotted keys
        (``{"params.demand": 1.2, "time": {"stop": 24}}``); see :func:`parse_assignments`.
    text
        The scenario's text, if it is not to be read from ``source``.

    Returns
    -------
    ScenarioSet
        The base scenario and its variants, each checked as far as possible without the model.

    Raises
    ------
    ScenarioError
        For any mistake in the file, located as ``file:line: key: what (hint)``.

    Examples
    --------
    >>> doc = 'model = "teacup"\\n[time]\\nstop = 10\\n[variants.long.time]\\nstop = 30\\n'
    >>> s = load_scenario("demo.toml", text=doc, overrides={"seed": 1})
    >>> s.base.time.stop, s.variants["long"].time.stop, s.variants["long"].seed
    (10.0, 30.0, 1)
    """
    path = Path(source)
    doc, own_text = _read(path, text=text, stack=())
    override_doc = _override_doc(overrides or {})
    variants_raw = doc.data.pop("variants", {})
    doc.data.pop("sweep", None)
    base_doc = _merge(doc, override_doc)
    base = _build(base_doc, name=path.stem, text=own_text, source=str(path))
    variants: dict[str, Scenario] = {}
    if not isinstance(variants_raw, dict):
        _fail(doc, ("variants",), "must be a table of named variants", "[variants.NAME]")
    for name, body in variants_raw.items():
        vpath: KeyPath = ("variants", name)
        if not isinstance(body, dict):
            _fail(doc, vpath, "a variant must be a table", f"[variants.{name}]")
        _check_keys(doc, vpath, body, _SCENARIO_KEYS)
        overlay = _Doc(
            dict(body),
            {
                key[2:]: origin
                for key, origin in doc.origins.items()
                if key[:2] == vpath and len(key) > 2
            },
        )
        merged = _merge(_merge(_Doc(doc.data, doc.origins), overlay), override_doc)
        variants[name] = _build(merged, name=name, text=own_text, source=str(path))
    for k, vname in enumerate(base.report_uncertainty):
        if vname not in variants:
            _fail(
                doc,
                ("report", "uncertainty", k),
                f"no variant named {vname!r}",
                choices_hint(vname, list(variants)),
            )
    return ScenarioSet(
        path=None if text is not None and not path.exists() else path,
        text=own_text,
        base=base,
        variants=variants,
    )


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """Turn ``key=value`` strings (from ``--set``) into an overrides mapping.

    Values are read as TOML values (``1.5``, ``true``, ``"text"``, ``[1, 2]``, ``{a = 1}``);
    anything else is taken as a string. A key that is not a scenario key or a ``time`` key is a
    parameter: ``demand=1.2`` means ``params.demand=1.2``.

    Examples
    --------
    >>> parse_assignments(["demand=1.2", "stop=24", "style=facilitative", "time.dt=0.5"])
    {'params.demand': 1.2, 'time.stop': 24, 'style': 'facilitative', 'time.dt': 0.5}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(
                f"{item!r} is not key=value", file=_OVERRIDE_SOURCE, hint="e.g. --set demand=1.2"
            )
        try:
            value: Any = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        head = _splitdotted(key)[0]
        if head in _TIME_KEYS:
            key = f"time.{key}"
        elif head not in _TOP_KEYS:
            key = f"params.{key}"
        out[key] = value
    return out


# -- reading and merging ---------------------------------------------------------------------


def _read(path: Path, *, text: str | None, stack: tuple[Path, ...]) -> tuple[_Doc, str]:
    file = str(path)
    if text is None:
        text = read_input_text(path, what="file", error=ScenarioError)
    data, lines = parse_toml(text, file=file, error=ScenarioError, hint="see docs/scenarios.md")
    origins: dict[KeyPath, Origin] = {(): Origin(file, None, ())}
    origins.update({key: Origin(file, line, key) for key, line in lines.items()})
    doc = _Doc(data, origins)
    if isinstance(data.get("model"), dict):
        _fail(
            doc,
            ("model",),
            "this is a model file, not a scenario file (it has a [model] table)",
            f'a scenario names its model: model = "{path.name}"; '
            f"check the model with `simdyn validate {file}` or `simdyn show {file}`",
        )
    _check_keys(doc, (), data, _TOP_KEYS)
    extends = data.pop("extends", None)
    if extends is None:
        return doc, text
    if not isinstance(extends, str):
        _fail(doc, ("extends",), f"must be a file name, not {value_kind(extends)}", None)
    if not extends.strip() or "\x00" in extends:
        _fail(doc, ("extends",), "must be a file name (not empty, no NUL byte)", None)
    try:
        parent_path = (path.parent / extends).resolve()
        found = parent_path.is_file()
    except OSError as exc:
        _fail(doc, ("extends",), f"cannot use {extends[:80]!r}: {exc.strerror or exc}", None)
    chain = (*stack, path.resolve())
    if parent_path in chain:
        cycle = " -> ".join(p.name for p in (*chain[chain.index(parent_path) :], parent_path))
        _fail(doc, ("extends",), f"circular extends: {cycle}", "remove one of the links")
    if not found:
        _fail(doc, ("extends",), f"extends a file that does not exist: {extends[:200]}", None)
    parent, _ = _read(parent_path, text=None, stack=chain)
    return _merge(parent, doc), text


def _merge(low: _Doc, high: _Doc) -> _Doc:
    data = _merge_data(low.data, high.data)
    origins = dict(low.origins)
    for key, origin in high.origins.items():
        origins[key] = origin
    # a replaced non-table value drops the lower document's locations below it
    for key in [k for k in origins if k and k not in high.origins and _replaced(high.data, k)]:
        del origins[key]
    return _Doc(data, origins)


def _replaced(data: Mapping[str, Any], key: KeyPath) -> bool:
    node: Any = data
    for part in key[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
            if not isinstance(node, dict):
                return True
        else:
            return False
    return False


def _merge_data(low: Mapping[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_data(out[key], value)
        else:
            out[key] = value
    return out


def _override_doc(overrides: Mapping[str, Any]) -> _Doc:
    data: dict[str, Any] = {}
    origins: dict[KeyPath, Origin] = {}
    for key, value in overrides.items():
        parts = _splitdotted(key)
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ScenarioError("conflicting overrides", file=_OVERRIDE_SOURCE, where=key)
        node[parts[-1]] = value
        origins[parts] = Origin(_OVERRIDE_SOURCE, None, parts)
    _check_keys(_Doc(data, origins), (), data, _SCENARIO_KEYS)
    return _Doc(data, origins)


def _splitdotted(key: str) -> tuple[str, ...]:
    """Split ``a.b[c.d].e`` on dots outside brackets."""
    return tuple(p for p in re.split(r"\.(?![^\[]*\])", key) if p)


# -- building scenario objects ---------------------------------------------------------------


def _start_from(doc: _Doc) -> str | StartFromRun | None:
    """``start_from = "directive"`` or ``start_from = { run = "base", time = 24 }``."""
    raw = doc.data.get("start_from")
    if raw is None or isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        _fail(
            doc,
            ("start_from",),
            f"must be a style name or a table, not {value_kind(raw)}",
            'start_from = "directive" or start_from = { run = "base", time = 24 }',
        )
    _table(doc, ("start_from",), ("run", "time"))
    run = _get(doc, ("start_from", "run"), str, required=True)
    time = _get(doc, ("start_from", "time"), float)
    return StartFromRun(run=run, time=time)


def _build(doc: _Doc, *, name: str, text: str, source: str) -> Scenario:
    d = doc.data
    model = _get(doc, ("model",), str, required=True)
    model_file, _, _ = doc.locate(("model",))
    if model.lower().endswith((".toml", *XMILE_SUFFIXES)) or "/" in model or os.sep in model:
        base_dir = (
            Path(model_file).parent if model_file and model_file != _OVERRIDE_SOURCE else Path()
        )
        model = str((base_dir / model).resolve())
    time_raw = _table(doc, ("time",), _TIME_KEYS)
    time = _make(
        doc,
        ("time",),
        TimeSettings,
        start=_get(doc, ("time", "start"), float),
        stop=_get(doc, ("time", "stop"), float),
        dt=_get(doc, ("time", "dt"), float),
        method=_get(doc, ("time", "method"), str),
        save_per=_get(doc, ("time", "save_per"), float),
    )
    del time_raw
    params = {key: _param_value(doc, ("params", key)) for key in _table(doc, ("params",), None)}
    policies: dict[str, Policy] = {}
    for key in _table(doc, ("policies",), None):
        policy = _policy(doc, ("policies", key))
        if policy is not None:
            policies[key] = policy
    goals: dict[str, Goal] = {}
    for key in _table(doc, ("goals",), None):
        goal = _goal(doc, ("goals", key))
        if goal is not None:
            goals[key] = goal
    network = d.get("network")
    if network is not None and not isinstance(network, dict):
        _fail(doc, ("network",), f"must be a table, not {value_kind(network)}", "[network]")
    _table(doc, ("report",), ("variables", "value_per_unit", "uncertainty"))
    uncertainty = _get(doc, ("report", "uncertainty"), list) or []
    for k, v in enumerate(uncertainty):
        if not isinstance(v, str):
            _fail(
                doc,
                ("report", "uncertainty", k),
                f"expected a variant name, not {value_kind(v)}",
                None,
            )
    value_per_unit = _get(doc, ("report", "value_per_unit"), float)
    if value_per_unit is not None and not value_per_unit > 0:
        _fail(doc, ("report", "value_per_unit"), "must be a positive number (USD per unit)", None)
    report_vars = _get(doc, ("report", "variables"), list) or []
    for k, v in enumerate(report_vars):
        if not isinstance(v, str):
            _fail(
                doc,
                ("report", "variables", k),
                f"expected a variable name, not {value_kind(v)}",
                None,
            )
    return _make(
        doc,
        (),
        Scenario,
        model=model,
        start_from=_start_from(doc),
        name=name,
        title=_get(doc, ("title",), str) or "",
        description=_get(doc, ("description",), str) or "",
        time=time,
        seed=_get(doc, ("seed",), int),
        params=params,
        style=_style(doc, ("style",)),
        policies=policies,
        goals=goals,
        network=network,
        report_variables=tuple(report_vars),
        report_value_per_unit=value_per_unit,
        report_uncertainty=tuple(uncertainty),
        source=source,
        text=text,
        origins=doc.origins,
    )


def _style(doc: _Doc, path: KeyPath) -> str | CustomStyle | None:
    raw = _value(doc, path)
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        _fail(
            doc, path, f"expected a preset name or a table of levers, not {value_kind(raw)}", None
        )
    based_on = _get(doc, (*path, "based_on"), str)
    values = {k: _get(doc, (*path, k), float, required=True) for k in raw if k != "based_on"}
    return _make(doc, path, CustomStyle, values=values, based_on=based_on)


def _param_value(doc: _Doc, path: KeyPath) -> ParamValue:
    raw = _value(doc, path)
    if isinstance(raw, list):
        return tuple(_get(doc, (*path, k), float, required=True) for k in range(len(raw)))
    if isinstance(raw, dict):
        return {k: _get(doc, (*path, k), float, required=True) for k in raw}
    value = _get(doc, path, float)
    if value is None:
        _fail(doc, path, "expected a number, a list or a table of numbers", None)
    return float(value)


def _policy(doc: _Doc, path: KeyPath) -> Policy | None:
    raw = _value(doc, path)
    if not isinstance(raw, dict):
        _fail(doc, path, f"a policy must be a table, not {value_kind(raw)}", f"[{dotted(path)}]")
    kind = _get(doc, (*path, "kind"), str, required=True)
    if kind not in _POLICY_KEYS:
        _fail(
            doc, (*path, "kind"), f"unknown policy kind {kind!r}", choices_hint(kind, _POLICY_KEYS)
        )
    _check_keys(doc, path, raw, ("kind", "label", "enabled", *_POLICY_KEYS[kind]))
    if _get(doc, (*path, "enabled"), bool) is False:
        return None
    label = _get(doc, (*path, "label"), str) or str(path[-1])

    def num(key: str, required: bool = True) -> Any:
        return _get(doc, (*path, key), float, required=required)

    if kind == "style":
        return _make(
            doc,
            path,
            StyleChange,
            at=num("at"),
            to=_style(doc, (*path, "to")) or _missing(doc, (*path, "to")),
            transition=num("transition", required=False) or 0.0,
            keep=_names(doc, (*path, "keep")),
            override=_names(doc, (*path, "override")),
            label=label,
        )
    param = _get(doc, (*path, "param"), str, required=True)
    if kind == "step":
        return _make(
            doc, path, Step, param=param, at=num("at"), to=num("to"),
            until=num("until", required=False), label=label,
        )  # fmt: skip
    if kind == "ramp":
        return _make(
            doc, path, Ramp, param=param, start=num("start"), end=num("end"), to=num("to"),
            label=label,
        )  # fmt: skip
    points_raw = _get(doc, (*path, "points"), list, required=True)
    points = []
    for k, point in enumerate(points_raw):
        if not (isinstance(point, list) and len(point) == 2):
            _fail(doc, (*path, "points", k), "each point must be [time, value]", "e.g. [6, 4.0]")
        points.append(
            (
                _get(doc, (*path, "points", k, 0), float, required=True),
                _get(doc, (*path, "points", k, 1), float, required=True),
            )
        )
    return _make(doc, path, PiecewiseLinear, param=param, points=tuple(points), label=label)


def _names(doc: _Doc, path: KeyPath) -> tuple[str, ...]:
    raw = _get(doc, path, list) or []
    return tuple(_get(doc, (*path, k), str, required=True) for k in range(len(raw)))


def _goal(doc: _Doc, path: KeyPath) -> Goal | None:
    raw = _value(doc, path)
    if not isinstance(raw, dict):
        _fail(doc, path, f"a goal must be a table, not {value_kind(raw)}", f"[{dotted(path)}]")
    _check_keys(doc, path, raw, _GOAL_KEYS)
    if _get(doc, (*path, "enabled"), bool) is False:
        return None
    relative = _get(doc, (*path, "relative_to"), str)
    if relative not in (None, "start"):
        _fail(doc, (*path, "relative_to"), f"unknown reference {relative!r}", "only 'start'")
    return _make(
        doc,
        path,
        Goal,
        variable=_get(doc, (*path, "variable"), str, required=True),
        time=_get(doc, (*path, "time"), float, required=True),
        comparison=_get(doc, (*path, "comparison"), str) or ">=",
        value=_get(doc, (*path, "value"), float, required=True),
        label=_get(doc, (*path, "label"), str) or str(path[-1]),
        relative_to="start" if relative == "start" else None,
    )


# -- small typed accessors that fail with a located message ----------------------------------


def _value(doc: _Doc, path: KeyPath) -> Any:
    node: Any = doc.data
    for part in path:
        if isinstance(part, int):
            if not (isinstance(node, list) and part < len(node)):
                return None
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _get(doc: _Doc, path: KeyPath, kind: type, *, required: bool = False) -> Any:
    value = _value(doc, path)
    if value is None:
        if required:
            _missing(doc, path)
        return None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(doc, path, f"expected a number, not {value_kind(value)}", None)
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(doc, path, f"expected a whole number, not {value_kind(value)}", None)
        return value
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        expected = {str: "a string", bool: "true or false", list: "a list"}.get(kind, kind.__name__)
        _fail(doc, path, f"expected {expected}, not {value_kind(value)}", None)
    return value


def _table(doc: _Doc, path: KeyPath, known: Sequence[str] | None) -> dict[str, Any]:
    value = _value(doc, path)
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(doc, path, f"expected a table, not {value_kind(value)}", f"[{dotted(path)}]")
    if known is not None:
        _check_keys(doc, path, value, known)
    return dict(value)


def _check_keys(doc: _Doc, path: KeyPath, table: Mapping[str, Any], known: Sequence[str]) -> None:
    for key in table:
        if key not in known:
            _fail(doc, (*path, key), "unknown key", choices_hint(key, known))


def _make(doc: _Doc, path: KeyPath, cls: Callable[..., _T], **kwargs: Any) -> _T:
    try:
        return cls(**kwargs)
    except ScenarioError as exc:
        sub: KeyPath = path
        if exc.where:
            sub = (*path, *_where_path(exc.where))
        file, line, where = doc.locate(sub)
        raise ScenarioError(exc.what, file=file, line=line, where=where, hint=exc.hint) from None


def _where_path(where: str) -> KeyPath:
    parts: list[str | int] = []
    for piece in _splitdotted(where):
        match = re.fullmatch(r"(.*)\[(\d+)\]", piece)
        if match:
            parts += [match.group(1), int(match.group(2))]
        else:
            parts.append(piece)
    return tuple(parts)


def _missing(doc: _Doc, path: KeyPath) -> Any:
    file, line, _ = doc.locate(path[:-1])
    where = dotted(path[:-1]) if path[:-1] else None
    raise ScenarioError(f"missing required key {path[-1]!r}", file=file, line=line, where=where)


def _fail(doc: _Doc, path: KeyPath, what: str, hint: str | None) -> Any:
    file, line, where = doc.locate(path)
    raise ScenarioError(what, file=file, line=line, where=where or None, hint=hint)
