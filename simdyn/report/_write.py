"""Write a run's outputs to a folder, atomically."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simdyn.io import (
    atomic_directory,
    check_output_target,
    dataset_to_frame,
    write_csv,
    write_netcdf,
)
from simdyn.report._html import make_plots, render_html
from simdyn.scenario import ScenarioResult, ScenarioSet, compare_scenarios
from simdyn.scenario._run import Progress

__all__ = [
    "OUTPUT_FILES",
    "failed_runs",
    "failed_runs_in",
    "input_files",
    "report_scenarios",
    "write_run",
]

OUTPUT_FILES = ("simdyn-run.json", "results.nc", "timeseries.csv", "goals.csv", "report.html")
"""The files every output folder holds, besides one PNG per plot."""


def write_run(result: ScenarioResult, out: str | os.PathLike[str]) -> Path:
    """Write results, goals, plots and the HTML report of ``result`` into the folder ``out``.

    The folder is written under a temporary name and renamed into place when complete; an
    existing ``out`` is replaced only then, and only if simdyn wrote it (it carries
    ``simdyn-run.json``); the folder may not hold the run's scenario or model files (see
    :func:`simdyn.io.check_output_target`).

    Files: ``results.nc`` (every variable, with the scenario text and the simdyn version in
    its attributes), ``timeseries.csv``, ``goals.csv``, one ``.png`` per plot and
    ``report.html`` (self-contained).

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.
    """
    target = Path(out)
    with atomic_directory(target, inputs=input_files(result), writer="simdyn report") as tmp:
        write_netcdf(result.dataset, tmp / "results.nc")
        write_csv(dataset_to_frame(result.dataset), tmp / "timeseries.csv")
        write_csv(result.goals, tmp / "goals.csv")
        plots = make_plots(result)
        for plot in plots:
            (tmp / f"{plot.name}.png").write_bytes(plot.png)
        (tmp / "report.html").write_text(render_html(result, plots), encoding="utf-8")
    return target / "report.html"


def failed_runs(dataset: xr.Dataset) -> list[str]:
    """One line per run whose values went non-finite: ``run: variable is not finite at t = T``.

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"status": ("scenario", [0, 1]), "failed_variable": ("scenario", ["", "f"]),
    ...      "failed_time": ("scenario", [float("nan"), 2.0])},
    ...     coords={"variant": ("scenario", ["a", "b"])},
    ... )
    >>> failed_runs(ds)
    ['b: f is not finite at t = 2']
    """
    if "status" not in dataset:
        return []
    names = (
        [str(v) for v in dataset["variant"].values]
        if "variant" in dataset.coords
        else [str(k) for k in range(dataset.sizes.get("scenario", 1))]
    )
    lines = []
    for k in np.flatnonzero(np.asarray(dataset["status"].values).reshape(-1) != 0):
        var = str(np.asarray(dataset["failed_variable"].values).reshape(-1)[k])
        t = float(np.asarray(dataset["failed_time"].values).reshape(-1)[k])
        lines.append(f"{names[k]}: {var or 'a value'} is not finite at t = {t:g}")
    return lines


def failed_runs_in(folder: str | os.PathLike[str]) -> list[str]:
    """:func:`failed_runs` of the ``results.nc`` in an output folder (none: no lines)."""
    path = Path(folder) / "results.nc"
    if not path.is_file():
        return []
    with xr.open_dataset(path) as ds:
        return failed_runs(ds.load())


def input_files(result: ScenarioResult) -> list[str]:
    """The files a result was made from: scenario files (with ``extends``), model and graph files."""
    files: set[str] = set(result.texts)
    for run in result.runs:
        sc = run.scenario
        files.update(o.file for o in sc.origins.values())
        if os.path.isabs(sc.model):
            files.add(sc.model)
        for key in ("file", "nodes"):
            value = (sc.network or {}).get(key)
            if isinstance(value, str):
                files.add(str(Path(sc.source).parent / value))
    return sorted(f for f in files if not f.startswith("<"))


def report_scenarios(
    sources: Sequence[str | os.PathLike[str] | ScenarioSet],
    *,
    out: str | os.PathLike[str],
    overrides: Mapping[str, Any] | None = None,
    variants: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Run scenario files side by side and write their report folder.

    This is what ``simdyn run`` and ``simdyn compare`` do: :func:`simdyn.scenario.compare_scenarios`
    followed by :func:`write_run`.

    Parameters
    ----------
    sources
        Scenario files (each run with its variants).
    out
        The output folder.
    overrides
        Values that win over every file and variant (``--set``).
    variants
        Variant names to run (default: all, including the base scenario).
    progress
        ``progress(done, total, label)`` callback.

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.
    """
    early = [s for s in sources if not isinstance(s, ScenarioSet)]
    check_output_target(out, inputs=early)  # before the runs: refuse a bad --out at once
    result = compare_scenarios(sources, overrides=overrides, variants=variants, progress=progress)
    return write_run(result, out)
