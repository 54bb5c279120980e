"""Run one model file (TOML or XMILE) at its own settings and tabulate the result.

This is what ``simdyn simulate`` does: every stock, flow, auxiliary and constant becomes a
column named as in the model file (XMILE names as written, elements as ``name[element]``),
after a first ``Time`` column; the run's time settings are reported as Vensim's control
variables ``INITIAL TIME``, ``FINAL TIME``, ``TIME STEP`` and ``SAVEPER`` unless the model defines
variables of those names.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simdyn.errors import ModelError
from simdyn.model import Model, load_model
from simdyn.model.xmile_expr import canonical
from simdyn.simulate import simulate

__all__ = [
    "parse_sets",
    "result_frame",
    "scenario_frames",
    "simulate_model_file",
    "write_frame_csv",
    "write_outputs",
]

_CONTROLS = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


def _resolve(model: Model, name: str) -> str:
    """The identifier of ``name`` (an identifier, or an XMILE name in any spelling)."""
    base, bracket, rest = name.partition("[")
    if base in model.spec.constants:
        return name
    want = canonical(base)
    for ident, label in model.spec.labels.items():
        if ident in model.spec.constants and canonical(label) == want:
            return ident + bracket + rest
    for ident in model.spec.constants:
        if canonical(ident) == want:
            return ident + bracket + rest
    raise ModelError(
        f"{name!r} is not a constant of {model.name!r}",
        where="--set",
        hint="constants: " + ", ".join(model.spec.labels.get(c, c) for c in model.spec.constants),
    )


def parse_sets(model: Model, sets: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` (or ``NAME=v1,v2,...`` for one scenario per value) to ``params``."""
    params: dict[str, Any] = {}
    for item in sets:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise ModelError(f"{item!r} is not NAME=VALUE", where="--set")
        try:
            numbers = [float(v) for v in value.split(",")]
        except ValueError:
            raise ModelError(f"{value!r} is not a number (or numbers separated by ',')", where=f"--set {name}") from None  # fmt: skip
        params[_resolve(model, name.strip())] = numbers[0] if len(numbers) == 1 else numbers
    return params


def simulate_model_file(
    path: str | Path,
    *,
    method: str | None = None,
    sets: Sequence[str] = (),
    scenarios: int = 1,
    seed: int | None = None,
) -> tuple[Model, xr.Dataset]:
    """Load ``path`` and run it at its own time settings (``method`` overrides the model's)."""
    model = load_model(path)
    params = parse_sets(model, sets)
    if scenarios > 1:
        lengths = {len(v) for v in params.values() if isinstance(v, list)}
        if lengths and lengths != {scenarios}:
            raise ModelError(f"--scenarios {scenarios} and --set lists of {sorted(lengths)} values disagree")  # fmt: skip
        if not lengths:
            first = next(iter(model.spec.constants), None)
            if first is None:
                raise ModelError("--scenarios needs a model with at least one constant")
            value = model.spec.constants[first].value
            params[first] = [value] * scenarios if isinstance(value, float) else np.repeat(np.asarray(value)[..., None], scenarios, axis=-1)  # fmt: skip
    ds = simulate(model, params=params, method=method, seed=seed)
    return model, ds


def _element_labels(model: Model, dims: Sequence[str]) -> list[str]:
    labels = model.spec.labels
    per_dim = [[labels.get(e, e) for e in model.spec.dimensions[d]] for d in dims]
    return [",".join(combo) for combo in itertools.product(*per_dim)]


def _columns(model: Model, name: str, values: np.ndarray[Any, Any], dims: Sequence[str]) -> dict[str, np.ndarray[Any, Any]]:  # fmt: skip
    label = model.spec.labels.get(name, name)
    if not dims:
        return {label: values.reshape(len(values), -1)[:, 0] if values.ndim > 1 else values}
    flat = values.reshape(values.shape[0], -1)
    return {f"{label}[{el}]": flat[:, k] for k, el in enumerate(_element_labels(model, dims))}


def _declared_dims(model: Model, name: str) -> tuple[str, ...]:
    for table in (model.spec.stocks, model.spec.flows, model.spec.auxiliaries):
        if name in table:
            return tuple(table[name].dims)
    return ()


def result_frame(model: Model, ds: xr.Dataset, scenario: int = 0) -> pd.DataFrame:
    """One scenario of ``ds`` as a table: ``Time``, then one column per variable (element)."""
    times = np.asarray(ds["time"].values, dtype=float)
    cols: dict[str, Any] = {"Time": times}
    labels = model.spec.labels
    for name in model.variables:
        if name not in ds.data_vars or (labels and name not in labels):
            continue  # an XMILE model reports the variables of its file
        da = ds[name].isel(scenario=scenario)
        extra = [str(d) for d in da.dims if d != "time"]
        declared = [d for d in _declared_dims(model, name) if d in extra]
        if len(declared) == len(extra):
            extra = declared  # elements named in the variable's own dimension order
        cols.update(_columns(model, name, np.asarray(da.transpose("time", *extra).values), extra))
    for name, c in model.spec.constants.items():
        if labels and name not in labels:
            continue
        value: Any = c.value
        if name in ds.variables and "scenario" in ds[name].dims:
            value = ds[name].isel(scenario=scenario).values
        arr = np.broadcast_to(np.asarray(value, dtype=float).reshape(1, -1), (len(times), max(1, np.size(value))))  # fmt: skip
        cols.update(_columns(model, name, arr, c.dims))
    present = {canonical(k) for k in cols}
    t = ds.attrs
    controls = (t.get("start"), t.get("stop"), t.get("dt"), t.get("save_per") or t.get("dt"))
    for label, value in zip(_CONTROLS, controls, strict=True):
        if canonical(label) not in present and value is not None:
            cols[label] = np.full(len(times), float(value))
    return pd.DataFrame(cols)


def write_frame_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV atomically (a temporary file renamed over ``path``)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            frame.to_csv(f, index=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_outputs(
    model: Model, ds: xr.Dataset, *, csv: str | Path | None = None, out: str | Path | None = None
) -> None:
    """Write ``ds``: a CSV table (``scenario`` column added for several scenarios) and/or a folder
    with ``results.nc`` and ``timeseries.csv``; with neither, the table goes to stdout."""
    frames = scenario_frames(model, ds)
    if len(frames) == 1:
        frame = frames[0]
    else:
        frame = pd.concat([f.assign(scenario=k) for k, f in frames.items()], ignore_index=True)
        frame.insert(1, "scenario", frame.pop("scenario"))
    if csv is not None:
        write_frame_csv(frame, csv)
    if out is not None:
        from simdyn.io import atomic_directory, write_netcdf

        with atomic_directory(out) as tmp:
            write_netcdf(ds, tmp / "results.nc")
            write_frame_csv(frame, tmp / "timeseries.csv")
    if csv is None and out is None:
        print(frame.to_csv(index=False), end="")


def scenario_frames(model: Model, ds: xr.Dataset) -> Mapping[int, pd.DataFrame]:
    """:func:`result_frame` of every scenario."""
    return {k: result_frame(model, ds, k) for k in range(ds.sizes.get("scenario", 1))}
