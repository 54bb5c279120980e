"""The sweep store: one zarr group laid out up front for the whole design.

Every array has the scenario (row) dimension first, cut into zarr chunks of exactly one sweep
chunk, so a chunk's results are one region that one worker writes on its own: writing it twice
gives the same bytes, and no two workers touch the same file. ``chunk_done`` (one zarr chunk
per sweep chunk) is the manifest: a chunk is marked done only after all its arrays are written,
so an interrupted sweep resumes by running the chunks not marked. The group's attributes hold
the sweep definition, the scenario text and the simdyn version. ``xarray.open_zarr(STORE)``
opens it; :func:`export_parquet` and :func:`export_netcdf` write the usual single files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import zarr

import simdyn
from simdyn._files import check_output_target
from simdyn.errors import SimdynError
from simdyn.sweep.outcomes import keep_times
from simdyn.sweep.plan import SweepPlan
from simdyn.sweep.spec import Sweep

__all__ = [
    "FORMAT",
    "check_store_target",
    "create_store",
    "definition",
    "done_chunks",
    "export_netcdf",
    "export_parquet",
    "open_store",
    "read_table",
    "write_chunk",
]

FORMAT = "simdyn-sweep-1"
_RESERVED = ("policy", "sample", "unit", "status", "chunk_done", "keep_time")


def definition(sweep: Sweep) -> str:
    """The sweep definition as canonical JSON (what a resumed sweep must match)."""
    data = dataclasses.asdict(sweep)
    data.pop("origins")
    data.pop("text")
    data["scenario"] = Path(sweep.scenario).name
    return json.dumps(data, sort_keys=True, default=str)


def check_store_target(out: Path, *, resume: bool) -> None:
    """Refuse an unsafe store target, by the shared rule of :func:`simdyn._files.check_output_target`.

    A sweep store carries its own mark (``zarr.json`` with this module's format) instead of
    simdyn's output-folder marker, so an existing store passes the shared rule here; it is
    never replaced, only resumed (``resume``).
    """
    is_store = (
        not out.is_symlink()
        and out.is_dir()
        and (out / "zarr.json").is_file()
        and _format(out) == FORMAT
    )
    if not is_store:
        check_output_target(out, label="sweep store")
    if is_store and not resume:
        raise SimdynError(
            "a sweep store is already there",
            file=str(out),
            hint="pass --resume to finish it, or choose another --out",
        )
    if not is_store and resume:
        raise SimdynError("no sweep store to resume", file=str(out), hint="drop --resume")


def _format(path: Path) -> str | None:
    try:
        return str(zarr.open_group(path, mode="r").attrs.get("format"))
    except Exception:
        return None


def _layout(plan: SweepPlan) -> dict[str, tuple[tuple[str, ...], str, Any, dict[str, Any]]]:
    """Every array: ``name -> (dims, dtype, fill value, attributes)``."""
    sw = plan.sweep
    out: dict[str, tuple[tuple[str, ...], str, Any, dict[str, Any]]] = {
        "policy": (("scenario",), "int32", -1, {"doc": "policy index (levers' combination)"}),
        "sample": (("scenario",), "int64", -1, {"doc": "row of the uncertainty sample"}),
        "status": (("scenario",), "int8", -1, {"doc": "0 ok, 1 the run failed, -1 not run"}),
    }
    for u in sw.uncertainties:
        out[u.name] = (("scenario",), "float64", np.nan, {"role": "uncertainty", "param": u.param})
    for lv in sw.levers:
        attrs: dict[str, Any] = {"role": "lever", "param": lv.param}
        if lv.categorical:
            attrs["categories"] = list(lv.values)
            out[lv.name] = (("scenario",), "int16", -1, attrs)
        else:
            out[lv.name] = (("scenario",), "float64", np.nan, attrs)
    if sw.uncertainties:
        names = [u.name for u in sw.uncertainties]
        out["unit"] = (("scenario", "input"), "float64", np.nan, {"inputs": names})
    for o in sw.outcomes:
        out[o.name] = (
            ("scenario",),
            "float64",
            np.nan,
            {"role": "outcome", "label": o.label, "sense": o.sense},
        )
    for g, goal in plan.scenario.goals.items():
        meta = {"role": "goal", "goal": g, "label": goal.label}
        out[f"goal_{g}_met"] = (("scenario",), "int8", -1, meta)
        out[f"goal_{g}_margin"] = (("scenario",), "float64", np.nan, meta)
    for var in sw.keep:
        out[f"series_{var}"] = (("scenario", "keep_time"), "float64", np.nan, {"role": "series"})
    taken: dict[str, str] = {}
    for name in out:
        if name in taken:
            sw.fail(("outcomes", name), f"the name {name!r} is used twice")
        taken[name] = name
    for o in sw.outcomes:
        if o.name in _RESERVED or o.name in {u.name for u in sw.uncertainties}:
            sw.fail(("outcomes", o.name), f"the name {o.name!r} is taken", "rename the outcome")
    return out


def _times(plan: SweepPlan) -> np.ndarray:
    t = plan.plan.time
    assert t.start is not None
    assert t.stop is not None
    every = plan.sweep.keep_every or (t.stop - t.start) / 10
    return keep_times(t.start, t.stop, every)


def create_store(plan: SweepPlan, out: Path, chunk: int) -> Path:
    """Lay out the store for the whole design (atomically: it appears complete or not at all).

    Raises
    ------
    SimdynError
        When the design does not fit on the disk.
    """
    n = plan.design.n_rows
    layout = _layout(plan)
    ktimes = _times(plan)
    width = {"keep_time": len(ktimes), "input": len(plan.sweep.uncertainties)}
    row_bytes = sum(
        np.dtype(dt).itemsize * int(np.prod([width.get(d, 1) for d in dims]))
        for dims, dt, _, _ in layout.values()
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out.parent).free
    if n * row_bytes > 0.9 * free:
        plan.sweep.fail(
            ("design", "n"),
            f"the design is too large for the disk: {n:,} rows need up to "
            f"{n * row_bytes / 1e9:.3g} GB, {free / 1e9:.3g} GB free",
            "use a smaller n, fewer kept series, or another --out",
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        group = zarr.open_group(tmp, mode="w", zarr_format=3)
        for name, (dims, dtype, fill, attrs) in layout.items():
            shape = tuple(n if d == "scenario" else width[d] for d in dims)
            chunks = tuple(chunk if d == "scenario" else width[d] for d in dims)
            group.create_array(
                name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill,
                dimension_names=list(dims), attributes=attrs,
            )  # fmt: skip
        group.create_array(
            "keep_time", data=ktimes, chunks=(len(ktimes),), dimension_names=["keep_time"]
        )
        n_chunks = -(-n // chunk)
        group.create_array(
            "chunk_done", shape=(n_chunks,), chunks=(1,), dtype="int8", fill_value=0,
            dimension_names=["chunk"], attributes={"doc": "1 when the chunk is written"},
        )  # fmt: skip
        group.attrs.update(_attrs(plan, chunk))
        with warnings.catch_warnings():  # consolidated metadata is a zarr-python extension
            warnings.simplefilter("ignore", UserWarning)
            zarr.consolidate_metadata(tmp)
        os.rename(tmp, out) if not out.exists() else _replace_empty(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace_empty(tmp: Path, out: Path) -> None:
    out.rmdir()  # an empty folder (checked by check_store_target)
    os.rename(tmp, out)


def _attrs(plan: SweepPlan, chunk: int) -> dict[str, Any]:
    sw = plan.sweep
    d = plan.design
    t = plan.plan.time
    policies = [[str(v) for v in col] for col in d.policy_values(np.arange(d.n_policies))]
    return {
        "format": FORMAT,
        "simdyn_version": simdyn.__version__,
        "sweep": definition(sw),
        "scenario_file": str(sw.scenario),
        "scenario_text": sw.text or "",
        "model": plan.model.name,
        "time_units": plan.model.time_units,
        "n_rows": d.n_rows,
        "n_samples": d.n_samples,
        "n_policies": d.n_policies,
        "chunk": chunk,
        "design": sw.design.kind,
        "design_n": sw.design.n,
        "second_order": sw.design.second_order,
        "levels": sw.design.levels,
        "seed": sw.seed,
        "uncertainties": [u.name for u in sw.uncertainties],
        "levers": [lv.name for lv in sw.levers],
        "policy_labels": [
            ", ".join(f"{lv.name}={col[p]}" for lv, col in zip(sw.levers, policies, strict=True))
            or "base"
            for p in range(d.n_policies)
        ],
        "outcomes": [o.name for o in sw.outcomes],
        "goals": {
            g: {"label": goal.label, "variable": goal.variable, "time": goal.time}
            for g, goal in plan.scenario.goals.items()
        },
        "keep": list(sw.keep),
        "time": {"start": t.start, "stop": t.stop, "dt": t.dt, "method": t.method},
    }


def open_store(path: str | os.PathLike[str]) -> zarr.Group:
    """Open a sweep store for reading (a one-line error if it is not one)."""
    p = Path(path)
    if not (p / "zarr.json").is_file() or _format(p) != FORMAT:
        raise SimdynError("not a sweep store", file=str(p), hint="make one with `simdyn sweep`")
    return zarr.open_group(p, mode="r")


def done_chunks(path: Path) -> np.ndarray:
    """The manifest: 1 for every finished chunk."""
    arr: Any = zarr.open_group(path, mode="r")["chunk_done"]
    return np.asarray(arr[:])


def write_chunk(path: Path, index: int, lo: int, arrays: Mapping[str, np.ndarray]) -> None:
    """Write one chunk's region of every array, then mark the chunk done."""
    group: Any = zarr.open_group(path, mode="r+")
    for name, values in arrays.items():
        group[name][lo : lo + len(values)] = values
    group["chunk_done"][index] = 1


def read_table(path: Path, *, columns: list[str] | None = None) -> Iterator[dict[str, np.ndarray]]:
    """The scalar arrays (inputs, outcomes, goals), one store chunk at a time."""
    group: Any = open_store(path)
    n, chunk = int(group.attrs["n_rows"]), int(group.attrs["chunk"])
    names = columns or [k for k, a in group.arrays() if a.metadata.dimension_names == ("scenario",)]
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        yield {name: np.asarray(group[name][lo:hi]) for name in names}


def export_parquet(path: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write the experiments and outcomes table as Parquet, chunk by chunk (atomically).

    Categorical levers are written as their names; ``scenario`` is the row index.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = Path(path)
    group = open_store(src)
    cats = {k: a.attrs["categories"] for k, a in group.arrays() if "categories" in a.attrs}
    out = Path(target)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    writer = None
    try:
        lo = 0
        for cols in read_table(src):
            n = len(next(iter(cols.values())))
            data: dict[str, Any] = {"scenario": np.arange(lo, lo + n)}
            for k, v in cols.items():
                data[k] = np.asarray(cats[k], dtype=object)[v] if k in cats else v
            table = pa.table(data)
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            lo += n
        if writer is not None:
            writer.close()
        os.replace(tmp, out)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return out


def export_netcdf(path: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write the whole store as one netCDF file (for small sweeps: it is loaded in memory)."""
    import xarray as xr

    from simdyn.io import write_netcdf

    open_store(path)
    ds = xr.open_zarr(path).load()
    out = Path(target)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        write_netcdf(ds, tmp)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
