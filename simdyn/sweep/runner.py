"""Run a sweep: cut the design into chunks, simulate each chunk as one batch, store it.

Row ``r`` of the design draws its random stream ``r`` from the sweep seed
(:func:`simdyn.simulate`'s ``scenario_offset``), so the stored bytes do not depend on the chunk
size, the number of workers or the order in which chunks finish. A chunk's worker writes its
own region of the store and marks it done; the caller only hears how many rows finished.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

import simdyn
from simdyn.errors import SimdynError
from simdyn.sweep.executors import make_executor
from simdyn.sweep.outcomes import compute_goals, compute_outcome, kept_series
from simdyn.sweep.plan import SweepPlan, plan_sweep
from simdyn.sweep.spec import Sweep
from simdyn.sweep.store import (
    check_store_target,
    create_store,
    definition,
    done_chunks,
    open_store,
    write_chunk,
)

__all__ = ["ChunkJob", "SweepRun", "compute_chunk", "run_chunk", "run_sweep"]

Progress = Callable[[int, int], None]
"""``progress(rows_done, rows_total)``, called once at the start and after every chunk."""

_PLANS: dict[str, SweepPlan] = {}


@dataclass(frozen=True)
class ChunkJob:
    """What a worker needs to run any chunk: the sweep (with its scenario text) and the store."""

    sweep: Sweep
    store: str
    chunk: int
    n_rows: int


@dataclass(frozen=True)
class SweepRun:
    """The outcome of :func:`run_sweep`."""

    store: Path
    n_rows: int
    rows_run: int
    chunks_run: int
    seconds: float


def _plan(sweep: Sweep) -> SweepPlan:
    key = definition(sweep) + (sweep.text or "")
    plan = _PLANS.get(key)
    if plan is None:
        _PLANS.clear()  # a worker keeps the plan (and its compiled model) of one sweep
        plan = _PLANS[key] = plan_sweep(sweep)
    return plan


def compute_chunk(plan: SweepPlan, lo: int, hi: int) -> dict[str, np.ndarray]:
    """Simulate design rows ``[lo, hi)`` as one batch and compute what the store keeps."""
    rows = plan.design.rows(lo, hi)
    ds = simdyn.simulate(
        plan.model,
        params=plan.params(rows),
        **plan.plan.time.arguments(),
        save=list(plan.save),
        chunk_size=hi - lo,
        seed=plan.sweep.seed,
        scenario_offset=lo,
    )
    if ds.sizes["scenario"] != hi - lo:  # every input shared: one run stands for all rows
        ds = ds.isel(scenario=np.zeros(hi - lo, dtype=np.int64))
    return _results(plan, rows, ds)


def _results(plan: SweepPlan, rows: object, ds: xr.Dataset) -> dict[str, np.ndarray]:
    from simdyn.sweep.designs import DesignRows

    assert isinstance(rows, DesignRows)
    sw = plan.sweep
    failed = np.asarray(ds["status"].values) != 0
    out: dict[str, np.ndarray] = {
        "policy": rows.policy.astype(np.int32),
        "sample": rows.sample,
        "status": np.asarray(ds["status"].values, dtype=np.int8),
    }
    for j, u in enumerate(sw.uncertainties):
        out[u.name] = rows.values[:, j]
    if sw.uncertainties:
        out["unit"] = rows.unit
    for lv, values in zip(sw.levers, plan.design.policy_values(rows.policy), strict=True):
        if lv.categorical:
            out[lv.name] = np.array([lv.values.index(v) for v in values], dtype=np.int16)
        else:
            out[lv.name] = values.astype(np.float64)
    with np.errstate(all="ignore"):
        for o in sw.outcomes:
            out[o.name] = np.where(failed, np.nan, compute_outcome(ds, o))
        for g, (met, margin) in compute_goals(ds, plan.scenario.goals).items():
            out[f"goal_{g}_met"] = np.where(failed, 0, met).astype(np.int8)
            out[f"goal_{g}_margin"] = np.where(failed, np.nan, margin)
        if sw.keep:
            from simdyn.sweep.store import _times

            times = _times(plan)
            for var in sw.keep:
                series = kept_series(ds, var, times)
                out[f"series_{var}"] = np.where(failed[:, None], np.nan, series)
    return out


def run_chunk(job: ChunkJob, index: int) -> tuple[int, int, float]:
    """Run chunk ``index`` and write it to the store; returns ``(index, rows, seconds)``.

    This is what a worker executes; it keeps the planned sweep between chunks.
    """
    began = time.perf_counter()
    plan = _plan(job.sweep)
    lo = index * job.chunk
    hi = min(job.n_rows, lo + job.chunk)
    write_chunk(Path(job.store), index, lo, compute_chunk(plan, lo, hi))
    return index, hi - lo, time.perf_counter() - began


def run_sweep(
    sweep: Sweep,
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    processes: bool = False,
    resume: bool = False,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> SweepRun:
    """Run ``sweep`` into the zarr store ``out``.

    Parameters
    ----------
    sweep
        The sweep (see :func:`simdyn.sweep.load_sweep`).
    out
        The store folder; it must not exist yet unless ``resume``.
    workers
        Worker processes on this machine: a dask ``LocalCluster`` (or, with ``processes``, a
        plain process pool). ``None``: run in this process.
    scheduler
        Address of a running dask scheduler (``tcp://host:8786``); the workers must see ``out``.
    processes
        Use a process pool instead of dask for ``workers``.
    resume
        Continue the store at ``out``: run only the chunks its manifest does not list.
    chunk
        Rows per chunk (default: the sweep's ``chunk``); a resumed store keeps its own.
    progress
        Called as ``progress(rows_done, rows_total)``.

    Returns
    -------
    SweepRun
    """
    began = time.perf_counter()
    plan = plan_sweep(sweep)
    path = Path(out)
    check_store_target(path, resume=resume)
    n = plan.design.n_rows
    if resume:
        attrs = open_store(path).attrs
        if attrs.get("sweep") != definition(sweep):
            raise SimdynError(
                "the store was made by a different sweep",
                file=str(path),
                hint="resume with the same scenario file and --set values, or choose another --out",
            )
        size = int(str(attrs["chunk"]))
    else:
        size = max(1, int(chunk or sweep.chunk))
        create_store(plan, path, size)
    done = done_chunks(path)
    todo = [int(i) for i in np.flatnonzero(done == 0)]
    rows_done = n - sum(min(n, (i + 1) * size) - i * size for i in todo)
    if progress is not None:
        progress(rows_done, n)
    job = ChunkJob(sweep=sweep, store=str(path.resolve()), chunk=size, n_rows=n)
    ran = 0

    def finished(rows: int) -> None:
        nonlocal rows_done, ran
        rows_done += rows
        ran += rows
        if progress is not None:
            progress(rows_done, n)

    with make_executor(workers=workers, scheduler=scheduler, processes=processes) as ex:
        ex.run(run_chunk, job, todo, finished)
    return SweepRun(path, n, ran, len(todo), time.perf_counter() - began)
