"""Run scenario files: load, plan against the model, simulate, evaluate goals, combine."""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import xarray as xr

import simdyn
from simdyn.errors import ScenarioError, SimdynError
from simdyn.model import Model
from simdyn.model.units import UnitIssue
from simdyn.network import org_graph, read_edgelist_csv, read_graphml
from simdyn.scenario._goals import GOAL_COLUMNS, evaluate_goals
from simdyn.scenario._loader import ScenarioSet, load_scenario
from simdyn.scenario._plan import RunPlan, plan_run
from simdyn.scenario._schema import Scenario, StartFromRun
from simdyn.scenario._start import started

__all__ = [
    "Progress",
    "Run",
    "ScenarioResult",
    "build_network",
    "compare_scenarios",
    "flat_params",
    "run_scenario",
    "scenario_model",
    "unit_issues",
]

Progress = Callable[[int, int, str], None]
"""A progress callback: ``progress(done, total, label)``, called before each run and at the end."""


@dataclass(frozen=True)
class Run:
    """One simulated scenario: its plan, its results and its goals."""

    name: str
    plan: RunPlan
    dataset: xr.Dataset
    goals: pd.DataFrame
    graph: nx.Graph[Any] | None = None

    @property
    def scenario(self) -> Scenario:
        """The scenario that was run."""
        return self.plan.scenario


@dataclass(frozen=True)
class ScenarioResult:
    """The runs of one or more scenario files, side by side.

    Attributes
    ----------
    runs
        One :class:`Run` per scenario or variant, in order.
    dataset
        All runs in one :class:`xarray.Dataset`, one entry of ``scenario`` per run, with the
        run names as the ``variant`` coordinate and the management style as ``style``.
    goals
        Every goal of every run (see :func:`simdyn.scenario.evaluate_goals`).
    """

    runs: tuple[Run, ...]
    dataset: xr.Dataset
    goals: pd.DataFrame
    texts: Mapping[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        """The run names."""
        return tuple(r.name for r in self.runs)


def run_scenario(
    source: str | os.PathLike[str] | ScenarioSet,
    *,
    overrides: Mapping[str, Any] | None = None,
    variants: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ScenarioResult:
    """Run a scenario file: its base scenario and its variants.

    Parameters
    ----------
    source
        A scenario file, or one already loaded with :func:`load_scenario`.
    overrides
        Values that win over the file and its variants (see :func:`parse_assignments`).
    variants
        Names of the variants to run (``"base"`` for the base scenario); default: all.
    progress
        Called as ``progress(done, total, label)`` before each run and once at the end.

    Returns
    -------
    ScenarioResult

    Raises
    ------
    ScenarioError
        For a mistake in the scenario, located at ``file:line``.
    """
    return compare_scenarios([source], overrides=overrides, variants=variants, progress=progress)


def compare_scenarios(
    sources: Sequence[str | os.PathLike[str] | ScenarioSet],
    *,
    overrides: Mapping[str, Any] | None = None,
    variants: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ScenarioResult:
    """Run several scenario files (each with its variants) and put the results side by side.

    Runs are named by variant; when several files are compared, by ``file/variant``.
    See :func:`run_scenario` for the parameters.
    """
    if not sources:
        raise ScenarioError("no scenario to run")
    sets = [
        s if isinstance(s, ScenarioSet) else load_scenario(s, overrides=overrides) for s in sources
    ]
    chosen = [(sset, sc) for sset in sets for sc in sset.select(variants)]
    plans = _plan_all([sc for _, sc in chosen])
    many_files = len(sets) > 1
    names = [
        f"{_stem(sset)}/{sc.name}" if many_files and sc is not sset.base else sc.name
        for sset, sc in chosen
    ]
    if len(set(names)) != len(names):
        names = [f"{k}:{n}" for k, n in enumerate(names)]
    runs: list[Run] = []
    done: dict[int, xr.Dataset] = {}
    for k, (name, plan) in enumerate(zip(names, plans, strict=True)):
        if progress is not None:
            progress(k, len(plans), name)
        graph = build_network(plan.scenario) if plan.scenario.network is not None else None
        start = _start_argument(chosen[k][0], plan, done)
        ds = simulate_plan(plan, graph, start_from=start)
        done[id(plan.scenario)] = ds
        goals = evaluate_goals(ds, plan.scenario.goals, scenario=name)
        runs.append(Run(name, plan, ds, goals, graph))
    if progress is not None:
        progress(len(plans), len(plans), "done")
    texts = {str(sset.path or sset.base.source): sset.text for sset in sets}
    return ScenarioResult(
        runs=tuple(runs),
        dataset=combine_runs(runs, texts),
        goals=pd.concat([r.goals for r in runs], ignore_index=True)
        if runs
        else pd.DataFrame(columns=list(GOAL_COLUMNS)),
        texts=texts,
    )


def unit_issues(sset: ScenarioSet) -> list[UnitIssue]:
    """The unit inconsistencies of the models a scenario file's runs use (each model once)."""
    seen: dict[str, None] = {}
    for sc in sset.select():
        seen.setdefault(sc.model, None)
    return [issue for name in seen for issue in scenario_model(_first(sset, name)).unit_issues()]


def _first(sset: ScenarioSet, model: str) -> Scenario:
    return next(sc for sc in sset.select() if sc.model == model)


def validate_scenario(
    source: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    strict_units: bool = False,
) -> ScenarioSet:
    """Load a scenario file and check every scenario in it against its model, without running.

    The model is compiled too (equations, dimensions, loops), and in network mode the graph is
    built or read.

    With ``strict_units`` a unit inconsistency of a model (see :func:`unit_issues`) is an
    error too.

    Returns
    -------
    ScenarioSet
        The loaded scenarios.

    Raises
    ------
    ScenarioError
        For the first mistake found, located at ``file:line``.
    """
    sset = load_scenario(source, overrides=overrides)
    if strict_units:
        issues = unit_issues(sset)
        if issues:
            raise issues[0].error()
    for plan in _plan_all(list(sset.select())):
        sc = plan.scenario
        if isinstance(sc.start_from, StartFromRun):
            _start_source(sset, plan, sc.start_from)
        graph = build_network(sc) if sc.network is not None else None
        try:  # equations, dimensions and dependency order are checked when compiling
            plan.model.compile(list(graph) if graph is not None else None)
        except SimdynError as exc:
            if exc.file is not None:
                raise
            file, line, where = sc.locate(("model",))
            raise ScenarioError(
                exc.what, file=file, line=line, where=where, hint=exc.hint
            ) from None
    return sset


def _start_argument(
    sset: ScenarioSet, plan: RunPlan, done: Mapping[int, xr.Dataset]
) -> xr.Dataset | None:
    """The state of another run a planned scenario starts from (``None``: the plan's start).

    That run's results are simulated here if it was not run.
    """
    start = plan.scenario.start_from
    if not isinstance(start, StartFromRun):
        return None
    source, source_plan, t = _start_source(sset, plan, start)
    ds = done.get(id(source))
    if ds is None:
        graph = build_network(source) if source.network is not None else None
        ds = simulate_plan(source_plan, graph)
    return ds.interp(time=[t])


def _start_source(
    sset: ScenarioSet, plan: RunPlan, start: StartFromRun
) -> tuple[Scenario, RunPlan, float]:
    """The run a scenario starts from, its plan and the time; checked without running."""
    sc = plan.scenario
    file, line, where = sc.locate(("start_from", "run"))
    names = ["base", *sset.variants]
    if start.run not in names:
        raise ScenarioError(
            f"no run named {start.run!r} to start from",
            file=file,
            line=line,
            where=where,
            hint=_choices_hint(start.run, names),
        )
    source = sset.base if start.run == "base" else sset.variants[start.run]
    if source is sc:
        raise ScenarioError("a run cannot start from itself", file=file, line=line, where=where)
    if isinstance(source.start_from, StartFromRun):
        raise ScenarioError(
            f"run {start.run!r} itself starts from another run",
            file=file,
            line=line,
            where=where,
            hint="start both from the same run, or from a style",
        )
    source_plan = _plan_all([source])[0]
    tt = source_plan.time
    assert tt.start is not None
    assert tt.stop is not None
    t = tt.start if start.time is None else start.time
    if not tt.start <= t <= tt.stop:
        file, line, where = sc.locate(("start_from", "time"))
        raise ScenarioError(
            f"time {t:g} is outside run {start.run!r} ({tt.start:g} to {tt.stop:g})",
            file=file,
            line=line,
            where=where,
        )
    return source, source_plan, float(t)


def _choices_hint(word: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(names), n=1)
    return f"did you mean {close[0]!r}?" if close else "one of " + ", ".join(names)


def simulate_plan(
    plan: RunPlan, graph: nx.Graph[Any] | None = None, *, start_from: xr.Dataset | None = None
) -> xr.Dataset:
    """Run one planned scenario with :func:`simdyn.simulate` (on ``graph`` in network mode).

    A ``start_from`` style of the scenario is part of the run (see
    :func:`simdyn.scenario.started`); a start from another run's state is passed as
    ``start_from`` (one time of that run's results, see :func:`simdyn.simulate`).
    """
    sc = plan.scenario
    model, start_params = started(plan, graph)
    params: dict[str, Any] = {**start_params, **flat_params(plan)}
    if graph is not None and sc.network is not None:
        params.update(_node_params(sc, graph))
    try:
        ds = simdyn.simulate(
            model,
            params=params,
            **plan.time.arguments(),
            save=list(plan.save),
            network=graph,
            seed=sc.seed,
            start_from=start_from,
        )
    except SimdynError as exc:
        raise _located(exc, sc) from None
    if start_params:
        ds.attrs["start_from"] = f"style {sc.start_from}"
    return ds


def _located(exc: SimdynError, sc: Scenario) -> SimdynError:
    """Point an error of :func:`simdyn.simulate` (``where="params.x"``) at the scenario file."""
    if exc.file is not None:
        return exc
    key = exc.where or ""
    head, _, rest = key.partition(".")
    path: tuple[str, ...] = (head, rest.partition("[")[0]) if head == "params" and rest else ()
    if not path and key in ("start", "stop", "dt", "save_per", "method"):
        path = ("time", key)
    file, line, where = sc.locate(path) if path else (sc.source, None, key)
    return exc.located(file=file or sc.source, line=line, where=where or None)


def combine_runs(runs: Sequence[Run], texts: Mapping[str, str]) -> xr.Dataset:
    """Put single-scenario results side by side along ``scenario``."""
    parts = []
    for k, run in enumerate(runs):
        ds = run.dataset
        drop = [c for c in ds.coords if c != "scenario" and ds[c].dims == ("scenario",)]
        ds = ds.drop_vars(drop).assign_coords(scenario=[k])
        ds = ds.assign_coords(
            variant=("scenario", [run.name]),
            style=("scenario", [run.plan.style or "model default"]),
        )
        parts.append(ds)
    combined = xr.concat(parts, dim="scenario", join="outer", combine_attrs="drop_conflicts")
    combined.attrs["simdyn_version"] = simdyn.__version__
    combined.attrs["scenario_text"] = "\n".join(
        f"# ---- {path} ----\n{text}" for path, text in texts.items()
    )
    combined.attrs["scenario_files"] = "\n".join(texts)
    return combined


def _plan_all(scenarios: Sequence[Scenario]) -> list[RunPlan]:
    models: dict[str, Model] = {}
    plans = []
    for sc in scenarios:
        if sc.model not in models:
            models[sc.model] = scenario_model(sc)
        plans.append(plan_run(sc, models[sc.model]))
    return plans


def scenario_model(sc: Scenario) -> Model:
    """The model a scenario names, loaded; a failure to load it is located at its ``model`` key."""
    try:
        return simdyn.load_model(sc.model)
    except SimdynError as exc:
        if exc.file is not None:
            raise
        file, line, where = sc.locate(("model",))
        hint = exc.hint
        if hint is None:
            hint = "built-in models: " + ", ".join(simdyn.list_models())
        raise ScenarioError(exc.what, file=file, line=line, where=where, hint=hint) from None


def flat_params(plan: RunPlan) -> dict[str, float]:
    """A plan's parameters for :func:`simdyn.simulate`: dimensioned constants element by element."""
    out: dict[str, float] = {}
    for name, value in plan.params.items():
        if isinstance(value, tuple):
            dim = plan.model.constants[name].dims[0]
            for element, v in zip(plan.model.dimensions[dim], value, strict=True):
                out[f"{name}[{element}]"] = v
        else:
            out[name] = value
    return out


_FILE_KEYS = ("file", "nodes")


def build_network(sc: Scenario) -> nx.Graph[Any]:
    """The org graph of a scenario's ``[network]`` table.

    ``file`` (an edge-list CSV or a ``.graphml`` file, relative to the scenario file) with an
    optional ``nodes`` table loads a graph; otherwise the keys are
    :func:`simdyn.network.org_graph`'s settings, drawn with the scenario's ``seed``.
    ``node_params`` (handled by the run) maps per-person constants to node attributes.
    """
    assert sc.network is not None
    table = {k: v for k, v in sc.network.items() if k != "node_params"}
    if "file" in table or "nodes" in table:
        return _read_graph(sc, table)
    accepted = set(inspect.signature(org_graph).parameters) - {"seed"}
    for key in table:
        if key not in accepted:
            file, line, where = sc.locate(("network", key))
            close = difflib.get_close_matches(key, sorted(accepted | set(_FILE_KEYS)), n=1)
            raise ScenarioError(
                "unknown network setting",
                file=file,
                line=line,
                where=where,
                hint=f"did you mean {close[0]!r}?"
                if close
                else "one of " + ", ".join(sorted(accepted | {*_FILE_KEYS, "node_params"})),
            )
    try:
        return org_graph(**table, seed=sc.seed)
    except SimdynError as exc:
        file, line, where = sc.locate(("network", exc.where or ""))
        raise ScenarioError(exc.what, file=file, line=line, where=where, hint=exc.hint) from None
    except TypeError as exc:
        file, line, where = sc.locate(("network",))
        raise ScenarioError(
            f"bad network setting: {exc}", file=file, line=line, where=where
        ) from None


def _read_graph(sc: Scenario, table: Mapping[str, Any]) -> nx.Graph[Any]:
    extra = [k for k in table if k not in _FILE_KEYS]
    if extra:
        file, line, where = sc.locate(("network", extra[0]))
        raise ScenarioError(
            "generator settings cannot be combined with a graph file",
            file=file,
            line=line,
            where=where,
            hint="keep either 'file' (and 'nodes') or the org_graph settings",
        )
    paths: dict[str, Path] = {}
    for key in _FILE_KEYS:
        if key in table:
            file, line, where = sc.locate(("network", key))
            if not isinstance(table[key], str):
                raise ScenarioError("must be a file path (text)", file=file, line=line, where=where)
            base = Path(file).parent if file else Path.cwd()
            paths[key] = base / table[key]
    if "file" not in paths:
        file, line, where = sc.locate(("network", "nodes"))
        raise ScenarioError(
            "'nodes' needs 'file' (the edge list)", file=file, line=line, where=where
        )
    if paths["file"].suffix.lower() == ".graphml":
        if "nodes" in paths:
            file, line, where = sc.locate(("network", "nodes"))
            raise ScenarioError(
                "a GraphML file carries its own node attributes", file=file, line=line, where=where
            )
        return read_graphml(paths["file"])
    return read_edgelist_csv(paths["file"], nodes_path=paths.get("nodes"))


def _node_params(sc: Scenario, graph: nx.Graph[Any]) -> dict[str, Any]:
    """Per-person constants taken from node attributes (``[network] node_params``)."""
    assert sc.network is not None
    mapping = sc.network.get("node_params", {})
    file, line, where = sc.locate(("network", "node_params"))
    if not isinstance(mapping, Mapping):
        raise ScenarioError(
            'must be a table: constant = "node attribute"', file=file, line=line, where=where
        )
    out: dict[str, Any] = {}
    for constant, attribute in mapping.items():
        file, line, where = sc.locate(("network", "node_params", constant))
        values = []
        for node in graph:
            value = graph.nodes[node].get(attribute)
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    value = None
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ScenarioError(
                    f"node {node!r} has no numeric attribute {attribute!r}",
                    file=file,
                    line=line,
                    where=where,
                    hint="every node needs it (a column of the nodes table)",
                )
            values.append(float(value))
        out[constant] = np.asarray(values)
    return out


def _stem(sset: ScenarioSet) -> str:
    return sset.path.stem if sset.path is not None else sset.base.name
