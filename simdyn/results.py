"""Saved arrays → the ``xarray.Dataset`` of the result schema (docs/api-contract.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from simdyn._types import FloatArray
from simdyn.integrate import Status
from simdyn.model.compiled import CompiledModel
from simdyn.model.model import Model
from simdyn.model.params import Params
from simdyn.model.timegrid import TimeGrid

__all__ = ["to_dataset"]


def to_dataset(
    model: Model,
    cm: CompiledModel,
    grid: TimeGrid,
    method: str,
    out: Mapping[str, FloatArray],
    p: Params,
    status: Status,
    n: int,
) -> xr.Dataset:
    """The result of a run: saved variables ``(time, *dims, scenario)``, status, inputs."""
    from simdyn import __version__

    data_vars: dict[str, Any] = {}
    for nm, arr in out.items():
        info = cm.variables[nm]
        data_vars[nm] = xr.Variable(
            ("time", *info.dims, "scenario"),
            arr,
            attrs={"units": info.units, "doc": info.doc, "kind": info.kind},
        )
    data_vars.update(_status(cm, status))
    attrs = {
        "simdyn_version": __version__,
        "model": model.name,
        "method": method,
        "dt": grid.dt,
        "start": grid.start,
        "stop": grid.stop,
        "save_per": grid.dt * grid.save_every,
        "time_units": model.time_units,
    }
    if status.message:
        attrs["solver_message"] = status.message
    return xr.Dataset(data_vars, coords=_coords(model, cm, grid, out, p, n), attrs=attrs)


def _status(cm: CompiledModel, status: Status) -> dict[str, xr.Variable]:
    failed = np.flatnonzero(~status.ok)  # name the failed scenarios only
    names = [
        cm.readable(status.fail_variable[k] or cm.row_owner(int(status.fail_row[k])))
        for k in failed
    ]
    failed_var = np.full(status.ok.shape, "", dtype=f"<U{max(map(len, names), default=1)}")
    failed_var[failed] = names
    out = {
        "status": xr.Variable(
            ("scenario",),
            (~status.ok).astype(np.int8),
            attrs={"doc": "0 = ok, 1 = a stock or saved variable went non-finite"},
        ),
        "failed_variable": xr.Variable(("scenario",), failed_var),
        "failed_time": xr.Variable(("scenario",), status.fail_time),
    }
    if status.steps is not None:
        out["steps"] = xr.Variable(
            ("scenario",), status.steps, attrs={"doc": "accepted steps of each scenario"}
        )
    return out


def _coords(
    model: Model,
    cm: CompiledModel,
    grid: TimeGrid,
    out: Mapping[str, FloatArray],
    p: Params,
    n: int,
) -> dict[str, Any]:
    """Time, scenario, the saved variables' dimensions and the inputs set per scenario."""
    coords: dict[str, Any] = {"time": grid.times, "scenario": np.arange(n)}
    used_dims = {d for nm in out for d in cm.variables[nm].dims}
    for d in cm.dim_order:
        if d in used_dims:
            coords[d] = list(cm.elements[d])
    for key, arr in p.given.items():
        name = key.partition("[")[0]
        c = model.constants[name]
        if key != name or not c.dims:
            coords[key] = ("scenario", np.broadcast_to(np.asarray(arr).reshape(-1), (n,)).copy())
        else:
            dims = tuple(d for d in cm.dim_order if d in c.dims)
            full = np.broadcast_to(arr, (*arr.shape[:-1], n)).copy()
            coords[key] = ((*dims, "scenario"), full)
            for d in dims:
                coords.setdefault(d, list(cm.elements[d]))
    for group, names in p.preset_names.items():
        coords[f"preset_{group}"] = ("scenario", np.array(np.broadcast_to(np.array(names), (n,))))
    return coords
