"""Output folders: complete files, netCDF round trip, and no partial folder after a failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import xarray as xr

import simdyn
from simdyn.io import atomic_directory, dataset_to_frame
from simdyn.report import OUTPUT_FILES, write_run
from simdyn.scenario import run_scenario


def _siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


def test_write_run_files_and_netcdf_attrs(mini_scenario: Path, tmp_path: Path) -> None:
    result = run_scenario(mini_scenario)
    out = tmp_path / "out"
    report = write_run(result, out)
    assert report == out / "report.html"
    for name in OUTPUT_FILES:
        assert (out / name).stat().st_size > 0
    assert (out / "timeseries.png").read_bytes()[:4] == b"\x89PNG"
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["simdyn_version"] == simdyn.__version__
        assert "[policies.leadership]" in ds.attrs["scenario_text"]
        assert list(ds["variant"].values) == ["mini", "facil"]
        xr.testing.assert_allclose(ds["skill"].load(), result.dataset["skill"])
    frame = dataset_to_frame(result.dataset)
    assert "hires" in frame.columns
    assert len(frame) == 2 * result.dataset.sizes["time"]


def _simdyn_folder(target: Path) -> None:
    with atomic_directory(target) as tmp:
        (tmp / "old.txt").write_text("old")


def test_failure_in_the_writer_leaves_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _simdyn_folder(target)

    def write() -> None:
        with atomic_directory(target) as tmp:
            (tmp / "new.txt").write_text("half")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write()
    assert sorted(os.listdir(target)) == ["old.txt", "simdyn-run.json"]
    assert _siblings(target) == []


def test_existing_folder_is_replaced_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _simdyn_folder(target)
    with atomic_directory(target) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").exists()
    assert sorted(os.listdir(target)) == ["new.txt", "simdyn-run.json"]
    assert _siblings(target) == []


def test_killed_writer_leaves_no_output_and_its_leftovers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "out"
    started = tmp_path / "started"
    script = textwrap.dedent(
        f"""
        import time, pathlib
        from simdyn.io import atomic_directory
        with atomic_directory({str(target)!r}) as tmp:
            (tmp / "part.txt").write_text("half")
            pathlib.Path({str(started)!r}).write_text("x")
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert time.monotonic() < deadline, "writer did not start"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not target.exists()
    # the dead writer's temporary folder is cleaned up by the next write to the same target
    with atomic_directory(target) as tmp:
        (tmp / "ok.txt").write_text("ok")
    assert sorted(os.listdir(target)) == ["ok.txt", "simdyn-run.json"]
    assert _siblings(target) == ["started"]
