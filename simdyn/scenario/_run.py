"""Run scenario files: load, plan against the model, simulate, evaluate goals, combine."""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import xarray as xr

import simdyn
from simdyn.errors import ScenarioError, SimdynError
from simdyn.scenario._goals import GOAL_COLUMNS, evaluate_goals
from simdyn.scenario._loader import ScenarioSet, load_scenario
from simdyn.scenario._plan import RunPlan, plan_run
from simdyn.scenario._schema import Scenario

__all__ = ["Progress", "Run", "ScenarioResult", "compare_scenarios", "run_scenario"]

Progress = Callable[[int, int, str], None]
"""A progress callback: ``progress(done, total, label)``, called before each run and at the end."""


@dataclass(frozen=True)
class Run:
    """One simulated scenario: its plan, its results and its goals."""

    name: str
    plan: RunPlan
    dataset: xr.Dataset
    goals: pd.DataFrame

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
    for k, (name, plan) in enumerate(zip(names, plans, strict=True)):
        if progress is not None:
            progress(k, len(plans), name)
        ds = simulate_plan(plan)
        runs.append(Run(name, plan, ds, evaluate_goals(ds, plan.scenario.goals, scenario=name)))
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


def validate_scenario(
    source: str | os.PathLike[str], *, overrides: Mapping[str, Any] | None = None
) -> ScenarioSet:
    """Load a scenario file and check every scenario in it against its model, without running.

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
    _plan_all(list(sset.select()))
    return sset


def simulate_plan(plan: RunPlan) -> xr.Dataset:
    """Run one planned scenario with :func:`simdyn.simulate`."""
    sc = plan.scenario
    t = plan.time
    network = None if sc.network is None else _build_network(sc)
    return simdyn.simulate(
        plan.model,
        params=_flat_params(plan),
        start=t.start,
        stop=t.stop,
        dt=t.dt,
        save_per=t.save_per,
        method=t.method,
        save=list(plan.save),
        network=network,
        seed=sc.seed,
    )


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
    models: dict[str, Any] = {}
    plans = []
    for sc in scenarios:
        if sc.model not in models:
            models[sc.model] = _load_model(sc)
        plans.append(plan_run(sc, models[sc.model]))
    return plans


def _load_model(sc: Scenario) -> Any:
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


def _flat_params(plan: RunPlan) -> dict[str, float]:
    """Parameters for ``simulate``: dimensioned constants element by element."""
    out: dict[str, float] = {}
    for name, value in plan.params.items():
        if isinstance(value, tuple):
            dim = plan.model.constants[name].dims[0]
            for element, v in zip(plan.model.dimensions[dim], value, strict=True):
                out[f"{name}[{element}]"] = v
        else:
            out[name] = value
    return out


def _build_network(sc: Scenario) -> Any:
    from simdyn.network.graphs import org_graph as builder

    assert sc.network is not None
    accepted = set(inspect.signature(builder).parameters) - {"seed"}
    for key in sc.network:
        if key not in accepted:
            file, line, where = sc.locate(("network", key))
            close = difflib.get_close_matches(key, sorted(accepted), n=1)
            raise ScenarioError(
                "unknown network setting",
                file=file,
                line=line,
                where=where,
                hint=f"did you mean {close[0]!r}?"
                if close
                else "one of " + ", ".join(sorted(accepted)),
            )
    try:
        return builder(**dict(sc.network), seed=sc.seed)
    except SimdynError as exc:
        file, line, where = sc.locate(("network", exc.where or ""))
        raise ScenarioError(exc.what, file=file, line=line, where=where, hint=exc.hint) from None


def _stem(sset: ScenarioSet) -> str:
    return sset.path.stem if sset.path is not None else sset.base.name
