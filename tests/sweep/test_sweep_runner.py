"""The runner and the store: the same bytes whatever the chunking, the workers or the order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr

import simdyn
from simdyn.scenario import run_scenario
from simdyn.sweep import export_netcdf, export_parquet, load_sweep, run_sweep
from simdyn.sweep.executors import DaskExecutor
from simdyn.sweep.plan import plan_sweep
from simdyn.sweep.runner import ChunkJob, run_chunk
from simdyn.sweep.store import create_store, done_chunks

pytest.importorskip("distributed")


def _arrays(store: Path) -> dict[str, np.ndarray]:
    group = zarr.open_group(store, mode="r")
    return {name: np.asarray(arr[...]) for name, arr in group.arrays()}


def _same(a: Path, b: Path) -> None:
    x, y = _arrays(a), _arrays(b)
    assert x.keys() == y.keys()
    for name in x:
        assert x[name].tobytes() == y[name].tobytes(), name


def test_results_depend_on_nothing_but_the_sweep(data: Path, tmp_path: Path) -> None:
    sw = load_sweep(data / "blinker_sweep.toml", overrides={"sweep.design.n": 30})
    run_sweep(sw, tmp_path / "a.zarr", chunk=16)
    run_sweep(sw, tmp_path / "b.zarr", chunk=7)
    _same_values = _arrays(tmp_path / "a.zarr"), _arrays(tmp_path / "b.zarr")
    for name, values in _same_values[0].items():
        if name != "chunk_done":
            assert values.tobytes() == _same_values[1][name].tobytes(), name
    # completion order: chunks run last-first into a fresh store
    plan = plan_sweep(sw)
    store = create_store(plan, tmp_path / "c.zarr", 16)
    job = ChunkJob(sw, str(store), 16, plan.design.n_rows)
    for index in reversed(range(len(done_chunks(store)))):
        run_chunk(job, index)
    _same(tmp_path / "a.zarr", store)
    # two dask workers
    run_sweep(sw, tmp_path / "d.zarr", workers=2, chunk=16)
    _same(tmp_path / "a.zarr", tmp_path / "d.zarr")
    # the random events matter: runs of the same sample and policy differ by their stream
    ds = xr.open_zarr(tmp_path / "a.zarr")
    assert int(ds.status.sum()) == 0
    assert np.unique(ds.final_level.values).size > 10


def _styles_sweep(tmp_path: Path) -> Path:
    text = (Path(__file__).parent / "data" / "styles_sweep.toml").read_text()
    path = tmp_path / "styles_sweep.toml"
    path.write_text(text.replace("SCENARIOS", str(Path(__file__).parents[2] / "scenarios")))
    return path


def test_rows_equal_single_scenario_runs(tmp_path: Path) -> None:
    path = _styles_sweep(tmp_path)
    run_sweep(load_sweep(path), tmp_path / "s.zarr")
    ds = xr.open_zarr(tmp_path / "s.zarr")
    labels = ds.attrs["policy_labels"]
    for row in (0, 5, 16, ds.sizes["scenario"] - 1):
        lever = dict(item.split("=") for item in labels[int(ds.policy[row])].split(", "))
        overrides = {
            "style": lever["start"],
            "policies.change.to": lever["target"],
            "policies.change.transition": float(lever["transition"]),
            "params.demand_multiplier": float(ds.demand[row]),
        }
        single = run_scenario(path, overrides=overrides, variants=["base"])
        eng = float(single.dataset.engagement.sel(time=36).values[0])
        assert eng == float(ds.engagement_3y[row]), row
        goals = single.goals.set_index("goal")
        assert bool(goals.loc["quits", "met"]) == bool(ds.goal_quits_met[row])
        assert float(goals.loc["quits", "margin"]) == float(ds.goal_quits_margin[row])


def test_every_row_starts_from_the_scenarios_start_from_style(tmp_path: Path) -> None:
    """styles.toml starts from the directive organisation: so does every row of its sweep,
    whatever its start style (a lever) and its demand (an uncertainty)."""
    at_start = {
        f"sweep.outcomes.{var}_0.{key}": value
        for var in ("engagement", "backlog", "average_skill")
        for key, value in (("variable", var), ("time", 0.0))
    }
    sw = load_sweep(_styles_sweep(tmp_path), overrides=at_start)
    run_sweep(sw, tmp_path / "s.zarr")
    ds = xr.open_zarr(tmp_path / "s.zarr")
    directive = simdyn.simulate(
        "learning_org", presets={"style": "directive"}, stop=1, dt=0.125, method="euler"
    ).isel(time=0, scenario=0)
    for var in ("engagement", "backlog", "average_skill"):
        np.testing.assert_array_equal(ds[f"{var}_0"].values, float(directive[var]), err_msg=var)


def test_killed_dask_worker_loses_and_duplicates_nothing(data: Path, tmp_path: Path) -> None:
    sw = load_sweep(data / "blinker_sweep.toml", overrides={"sweep.design.n": 200})
    run_sweep(sw, tmp_path / "ref.zarr", chunk=10)
    plan = plan_sweep(sw)
    store = create_store(plan, tmp_path / "k.zarr", 10)
    n_chunks = len(done_chunks(store))
    job = ChunkJob(sw, str(store), 10, plan.design.n_rows)
    finished: list[int] = []
    with DaskExecutor(n=2) as ex:
        pids = list(ex.client.run(os.getpid).values())

        def kill_one() -> None:
            while len(finished) < n_chunks // 4:
                time.sleep(0.01)
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        killer.start()
        ex.run(run_chunk, job, list(range(n_chunks)), finished.append)
        killer.join()
        assert sum(finished) == plan.design.n_rows
    ds = xr.open_zarr(store)
    assert ds.chunk_done.values.all()
    rows = ds.policy.values * plan.design.n_samples + ds.sample.values
    assert np.array_equal(rows, np.arange(plan.design.n_rows))  # 0 lost, 0 duplicated
    _same(tmp_path / "ref.zarr", store)


def _worker_env(name: str) -> str | None:
    return os.environ.get(name)


def test_local_workers_run_their_kernels_on_one_thread_each() -> None:
    with DaskExecutor(n=2) as ex:
        threads = ex.client.run(_worker_env, "NUMBA_NUM_THREADS")
    assert list(threads.values()) == ["1", "1"]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie has exited, only its reaping is left to its adopter."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:200]
    except OSError:
        return str(pid)


def _alive_after(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        alive = [p for p in pids if _running(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def test_sigkilled_sweep_leaves_no_worker_and_resumes(data: Path, tmp_path: Path) -> None:
    args = ["--set", "sweep.design.n=300", "--chunk", "10"]
    store = tmp_path / "killed.zarr"
    cmd = [str(Path(sys.executable).with_name("simdyn")), "sweep", str(data / "blinker_sweep.toml")]
    proc = subprocess.Popen([*cmd, "--out", str(store), "--workers", "2", "-q", *args])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if (store / "chunk_done").exists() and done_chunks(store).sum() >= 3:
            break
        time.sleep(0.05)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert workers
    done = done_chunks(store)
    assert 3 <= done.sum() < done.size
    alive = _alive_after(workers, 30)
    assert not alive, f"processes left behind: {[_cmdline(p) for p in alive]}"
    sw = load_sweep(data / "blinker_sweep.toml", overrides={"sweep.design.n": 300})
    resumed = run_sweep(sw, store, resume=True)
    assert resumed.chunks_run == done.size - done.sum()
    run_sweep(sw, tmp_path / "whole.zarr", chunk=10)
    _same(tmp_path / "whole.zarr", store)


def test_store_opens_and_exports(data: Path, tmp_path: Path) -> None:
    sw = load_sweep(data / "blinker_sweep.toml")
    run_sweep(sw, tmp_path / "e.zarr")
    ds = xr.open_zarr(tmp_path / "e.zarr")
    assert ds.attrs["format"] == "simdyn-sweep-1"
    assert ds.series_level.dims == ("scenario", "keep_time")
    assert list(ds.keep_time.values) == [0.0, 5.0, 10.0, 15.0, 20.0]
    table = pd.read_parquet(export_parquet(tmp_path / "e.zarr", tmp_path / "e.parquet"))
    assert len(table) == ds.sizes["scenario"]
    assert np.array_equal(table["final_level"].to_numpy(), ds.final_level.values, equal_nan=True)
    assert set(table["boost_to"]) == {1.5, 3.0}
    nc = xr.open_dataset(export_netcdf(tmp_path / "e.zarr", tmp_path / "e.nc"))
    assert np.array_equal(nc.peak.values, ds.peak.values, equal_nan=True)
    nc.close()
