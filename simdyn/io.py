"""Write results to disk, atomically.

:func:`atomic_directory` builds an output folder under a temporary name next to the target
and renames it into place only when everything in it has been written, so a reader never
sees half a result: an existing target is replaced only after the new folder is complete,
and a failed write leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simdyn._files import (
    MARKER,
    atomic_file,
    check_output_file,
    check_output_target,
    is_simdyn_folder,
)
from simdyn.errors import SimdynError

__all__ = [
    "MARKER",
    "atomic_directory",
    "atomic_file",
    "check_output_file",
    "check_output_target",
    "dataset_to_frame",
    "neutralise_cells",
    "write_csv",
    "write_netcdf",
]

_TMP = ".tmp-"
_OLD = ".old-"


def _manifest(writer: str, run_id: str, files: Sequence[str] = ()) -> str:
    from simdyn import __version__

    return json.dumps(
        {
            "simdyn": __version__,
            "run_id": run_id,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "writer": writer,
            "files": sorted(files),
        },
        indent=2,
    )


@contextlib.contextmanager
def atomic_directory(
    target: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    writer: str = "simdyn",
    label: str = "output folder",
) -> Iterator[Path]:
    """Yield a fresh temporary folder that becomes ``target`` when the block ends without error.

    ``target`` is first checked with :func:`check_output_target` (so only a new folder, an
    empty one or one simdyn wrote before is ever replaced, and never the working directory,
    a folder holding one of ``inputs``, a file, a device or a link). The temporary folder is a
    sibling of ``target`` (``.NAME.tmp-PID-XXXX``), so the final rename stays on one file
    system; it holds the marker :data:`MARKER` (simdyn version, run id, time, ``writer``) from
    the start. If the block raises, the temporary folder is removed and ``target`` is
    untouched. Leftovers of a process that was killed outright (whose PID no longer runs) are
    removed the next time the same target is written, but only when they are real folders of
    this user that are empty or carry the marker.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_directory(out, writer="doctest") as tmp:
    ...     _ = (tmp / "a.txt").write_text("done")
    >>> (out / "a.txt").read_text(), is_simdyn_folder(out)
    ('done', True)
    """
    target = check_output_target(target, inputs=inputs, label=label)
    run_id = uuid.uuid4().hex
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(target)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{target.name}{_TMP}{os.getpid()}-", dir=target.parent)
        )
    except OSError as exc:
        raise SimdynError(
            f"cannot create the {label} ({exc.strerror or exc})",
            file=str(target),
            hint="choose a folder you can write to, e.g. --out runs/NAME",
        ) from None
    try:
        (tmp / MARKER).write_text(_manifest(writer, run_id), encoding="utf-8")
        tmp.chmod(0o777 & ~_umask())
        yield tmp
        files = [p.name for p in tmp.iterdir() if p.name != MARKER]
        (tmp / MARKER).write_text(_manifest(writer, run_id, files), encoding="utf-8")
        _replace(tmp, target, inputs, label)
    except OSError as exc:  # disk full, permissions: name the folder being written
        shutil.rmtree(tmp, ignore_errors=True)
        raise SimdynError(
            f"cannot write the {label}: {exc.strerror or exc}",
            file=str(target),
            hint="check the free space and permissions there",
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace(tmp: Path, target: Path, inputs: Iterable[str | os.PathLike[str]], label: str) -> None:
    """Rename ``tmp`` to ``target``, moving an existing (checked again) ``target`` aside first."""
    if not os.path.lexists(target):
        os.rename(tmp, target)
        return
    check_output_target(target, inputs=inputs, label=label)  # it may have changed meanwhile
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}{_OLD}{os.getpid()}-", dir=target.parent))
    os.rename(target, old / target.name)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale(target: Path) -> None:
    pattern = re.compile(rf"^\.{re.escape(target.name)}(?:{_TMP}|{_OLD})(\d+)-")
    for sibling in target.parent.iterdir():
        match = pattern.match(sibling.name)
        if match and not _alive(int(match.group(1))) and _is_leftover(sibling, target.name):
            shutil.rmtree(sibling, ignore_errors=True)


def _is_leftover(folder: Path, name: str) -> bool:
    """A stale sibling is removed only if it is simdyn's own: a real folder of this user that
    is empty, carries the marker, or holds only the old ``name`` folder carrying it."""
    try:
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            return False
        entries = os.listdir(folder)
    except OSError:
        return False
    if not entries or is_simdyn_folder(folder):
        return True
    return entries == [name] and is_simdyn_folder(folder / name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_netcdf(dataset: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` as netCDF-4, turning attributes netCDF cannot hold into text.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ds = xr.Dataset({"x": ("time", [1.0, 2.0])}, coords={"time": [0.0, 1.0]}, attrs={"ok": True})
    >>> p = write_netcdf(ds, pathlib.Path(tempfile.mkdtemp()) / "r.nc")
    >>> xr.open_dataset(p).attrs["ok"]
    'True'
    """
    clean = dataset.copy()
    clean.attrs = {k: _attr(v) for k, v in dataset.attrs.items() if v is not None}
    for name in clean.variables:
        clean[name].attrs = {k: _attr(v) for k, v in dataset[name].attrs.items() if v is not None}
    path = Path(path)
    clean.to_netcdf(path, engine="netcdf4")
    return path


def _attr(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float | np.number):
        return str(value)
    return value


def dataset_to_frame(dataset: xr.Dataset) -> pd.DataFrame:
    """Flatten a result to one row per (run, time) and one column per variable (element).

    A variable with model dimensions becomes one column per element, named
    ``name[element]`` (``name[e1,e2]`` for two dimensions). The first columns are ``variant``
    (or ``scenario``) and ``time``.

    Examples
    --------
    >>> ds = xr.Dataset(
    ...     {"x": (("time", "scenario"), [[1.0], [2.0]])},
    ...     coords={"time": [0.0, 1.0], "scenario": [0]},
    ... )
    >>> dataset_to_frame(ds).to_dict("list")
    {'scenario': [0, 0], 'time': [0.0, 1.0], 'x': [1.0, 2.0]}
    """
    label = "variant" if "variant" in dataset.coords else "scenario"
    times = np.asarray(dataset["time"].values)
    runs = list(dataset[label].values) if label in dataset.coords else [0]
    columns: dict[str, Any] = {
        label: np.repeat(np.asarray(runs), len(times)),
        "time": np.tile(times, len(runs)),
    }
    for name in dataset.data_vars:
        da = dataset[name]
        if "time" not in da.dims or "scenario" not in da.dims:
            continue
        extra = [d for d in da.dims if d not in ("time", "scenario")]
        da = da.transpose("scenario", "time", *extra)
        values = np.asarray(da.values)
        if not extra:
            columns[str(name)] = values.reshape(-1)
            continue
        flat = values.reshape(values.shape[0] * values.shape[1], -1)
        labels = pd.MultiIndex.from_product([list(dataset[d].values) for d in extra])
        for k, element in enumerate(labels):
            key = ",".join(str(e) for e in element)
            columns[f"{name}[{key}]"] = flat[:, k]
    return pd.DataFrame(columns)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells (and column names) that a spreadsheet would run as a formula.

    A text cell starting with ``= + - @``, a tab or a carriage return gets a leading ``'``
    (the OWASP advice against CSV injection); numbers are left as they are.

    Examples
    --------
    >>> neutralise_cells(pd.DataFrame({"variant": ["=HYPERLINK(1)", "ok"], "x": [-1.0, 2.0]}))
              variant    x
    0  '=HYPERLINK(1) -1.0
    1              ok  2.0
    """

    def clean(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(clean)
    out.columns = [clean(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as CSV without its index, with formula-like text neutralised.

    See :func:`neutralise_cells`.
    """
    path = Path(path)
    neutralise_cells(frame).to_csv(path, index=False)
    return path
