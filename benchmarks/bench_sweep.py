"""Sweep benchmark: wall time and peak memory of `learning_org` sweeps, serial and on 2 dask
workers, and the per-experiment cost of EMA Workbench's SequentialEvaluator against a sweep.

Run on demand, not as a test::

    python benchmarks/bench_sweep.py                      # everything: 10^5 and 10^6, EMA
    python benchmarks/bench_sweep.py --rows 100000 --serial-only --no-ema
    python benchmarks/bench_sweep.py --ema-only --experiments 1000 --repeat 3

The scaling part runs one ``simdyn sweep`` per size (``--rows``), in-process and on 2 dask
workers (``--serial-only`` / ``--dask-only`` for one of the two); peak memory is the largest
summed RSS of that process and its children (the dask workers), sampled every 0.1 s with
psutil. The EMA part runs the same experiments (``--experiments``, drawn by the sweep's design)
through EMA Workbench's ``SequentialEvaluator``, one ``simdyn.simulate`` per experiment, and
through one ``simdyn sweep``, alternately, ``--repeat`` times, checks that both give the same
outcomes, and reports medians. Every measurement runs in a fresh process. Prints JSON lines
and a markdown summary; ``--write`` puts the summary in ``benchmarks/RESULTS-sweep.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-sweep.md"
SCENARIO = """model = "learning_org"
seed = 1
style = "transactional"
[time]
start = 0
stop = 60
dt = 0.125
method = "euler"
save_per = 1
[sweep]
seed = 3
chunk = {chunk}
[sweep.design]
kind = "montecarlo"
n = {n}
[sweep.uncertainties.quit_sensitivity]
param = "engagement_quit_sensitivity"
range = [0.6, 2.0]
[sweep.uncertainties.outside_market]
range = [0.7, 1.5]
[sweep.uncertainties.learning_rate]
param = "learning_rate_per_hour"
range = [0.006, 0.016]
[sweep.uncertainties.delegation]
range = [0.2, 0.8]
[sweep.outcomes.engagement_5y]
variable = "engagement"
time = 60
[sweep.outcomes.mean_quit_rate]
variable = "annual_quit_rate"
stat = "mean"
[sweep.outcomes.output_3y]
variable = "output"
time = 36
[sweep.keep]
variables = ["engagement", "average_skill", "headcount"]
every = 12
"""


def _write_scenario(folder: Path, n: int, chunk: int) -> Path:
    path = folder / "bench_sweep.toml"
    path.write_text(SCENARIO.format(n=n, chunk=chunk))
    return path


def _peak_rss(proc: Any, stop: threading.Event, out: list[int]) -> None:
    import psutil

    p = psutil.Process(proc.pid)
    peak = 0
    while not stop.is_set():
        try:
            procs = [p, *p.children(recursive=True)]
            peak = max(peak, sum(c.memory_info().rss for c in procs if c.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    out.append(peak)


def measure_sweep(
    n: int, chunk: int, workers: int | None, keep: Path | None = None, threads: int | None = None
) -> dict[str, float]:
    """One sweep in a fresh ``simdyn sweep`` process: wall time and peak RSS.

    ``keep``: the store to write (kept); default a temporary one. ``threads``: the compiled
    kernels' thread count in the process (``NUMBA_NUM_THREADS``; default: every core).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_scenario(Path(tmp), n, chunk)
        cmd = [str(Path(sys.executable).with_name("simdyn")), "sweep", str(path), "-q"]
        cmd += ["--out", str(keep or Path(tmp) / "s.zarr")]
        if workers:
            cmd += ["--workers", str(workers)]
        began = time.perf_counter()
        env = {**os.environ, **({"NUMBA_NUM_THREADS": str(threads)} if threads else {})}
        proc = subprocess.Popen(cmd, env=env)
        stop, peak = threading.Event(), []
        watcher = threading.Thread(target=_peak_rss, args=(proc, stop, peak))
        watcher.start()
        proc.wait()
        wall = time.perf_counter() - began
        stop.set()
        watcher.join()
        if proc.returncode:
            raise SystemExit(f"sweep failed: {' '.join(cmd)}")
    return {
        "rows": n,
        "wall_s": wall,
        "peak_mb": peak[0] / 1e6,
        "workers": workers or 0,
        "threads": threads or 0,
    }


EMA_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import simdyn
from ema_workbench import Model, RealParameter, Scenario, ScalarOutcome, SequentialEvaluator
from ema_workbench import __version__ as ema_version

NAMES = ["engagement_quit_sensitivity", "outside_market", "learning_rate_per_hour", "delegation"]
model = simdyn.load_model("learning_org")

def run(engagement_quit_sensitivity, outside_market, learning_rate_per_hour, delegation):
    ds = simdyn.simulate(
        model, presets={"style": "transactional"},
        params={"engagement_quit_sensitivity": engagement_quit_sensitivity,
                "outside_market": outside_market,
                "learning_rate_per_hour": learning_rate_per_hour, "delegation": delegation},
        start=0, stop=60, dt=0.125, save_per=1, method="euler",
        save=["engagement", "annual_quit_rate", "output"],
    )
    q = ds.annual_quit_rate.values[:, 0]  # the time mean, as the sweep's stat = "mean"
    return {"engagement_5y": float(ds.engagement.values[-1, 0]),
            "mean_quit_rate": float(((q[1:] + q[:-1]) * 0.5).sum() / (q.size - 1)),
            "output_3y": float(ds.output.values[36, 0])}

em = Model("learningorg", function=run)
em.uncertainties = [RealParameter("engagement_quit_sensitivity", 0.6, 2.0),
                    RealParameter("outside_market", 0.7, 1.5),
                    RealParameter("learning_rate_per_hour", 0.006, 0.016),
                    RealParameter("delegation", 0.2, 0.8)]
em.outcomes = [ScalarOutcome("engagement_5y"), ScalarOutcome("mean_quit_rate"),
               ScalarOutcome("output_3y")]
design = np.load(sys.argv[1])
scenarios = [Scenario(k, **dict(zip(NAMES, map(float, row)))) for k, row in enumerate(design)]
run(1.2, 1.0, 0.011, 0.4)  # compile the model once, outside the timing
began = time.perf_counter()
with SequentialEvaluator(em) as ev:
    experiments, outcomes = ev.perform_experiments(scenarios=scenarios)
wall = time.perf_counter() - began
np.save(sys.argv[2], np.column_stack([outcomes["engagement_5y"], outcomes["mean_quit_rate"],
                                      outcomes["output_3y"]]))
print(json.dumps({"n": len(scenarios), "wall_s": wall, "ema_version": ema_version}))
"""
OUTCOMES = ("engagement_5y", "mean_quit_rate", "output_3y")


def measure_ema(n: int, chunk: int) -> dict[str, Any]:
    """The same ``n`` experiments through EMA Workbench and through one ``simdyn sweep``.

    The experiments are the sweep design's rows; EMA's ``SequentialEvaluator`` runs each as
    one ``simdyn.simulate`` call (model compiled once beforehand, outside its timing); the sweep
    is a fresh ``simdyn sweep`` process (start, model compile and store included). Raises if
    the two give different outcomes.
    """
    import numpy as np
    import xarray as xr

    from simdyn.sweep import load_sweep
    from simdyn.sweep.plan import plan_sweep

    with tempfile.TemporaryDirectory() as tmp:
        path = _write_scenario(Path(tmp), n, chunk)
        design = plan_sweep(load_sweep(path)).design.rows(0, n).values
        np.save(Path(tmp) / "design.npy", design)
        out = subprocess.run(
            [sys.executable, "-c", EMA_SCRIPT, f"{tmp}/design.npy", f"{tmp}/ema.npy"],
            capture_output=True,
            text=True,
            check=True,
        )
        ema = dict(json.loads(out.stdout.strip().splitlines()[-1]))
        sweep = measure_sweep(n, chunk, None, keep=Path(tmp) / "s.zarr")
        ds = xr.open_zarr(Path(tmp) / "s.zarr")
        mine = np.column_stack([ds[o].values for o in OUTCOMES])
        theirs = np.load(Path(tmp) / "ema.npy")
        gap = float(np.max(np.abs(mine - theirs) / np.maximum(np.abs(theirs), 1e-300)))
        if gap > 1e-9:
            raise SystemExit(f"EMA and simdyn sweep outcomes differ (relative {gap:.2g})")
    return {"n": n, "ema_s": ema["wall_s"], "sweep_s": sweep["wall_s"], "max_rel_gap": gap,
            "ema_version": ema["ema_version"]}  # fmt: skip


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _versions() -> str:
    import distributed
    import numpy
    import zarr

    import simdyn

    try:
        import ema_workbench

        ema = f", EMA Workbench {ema_workbench.__version__}"
    except ImportError:
        ema = ""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, zarr {zarr.__version__}, dask.distributed "
        f"{distributed.__version__}, simdyn {simdyn.__version__}{ema}"
    )


#: how a scaling sweep runs: (label, dask workers, kernel threads in the sweep process)
MODES = {
    "serial": ("in-process, one thread", None, 1),
    "threads": ("in-process, kernels on every core", None, None),
    "dask": ("2 dask workers, one thread each", 2, None),
}


def scaling(sizes: list[int], chunk: int, modes: list[str], repeat: int) -> list[str]:
    """Wall time and peak memory of each sweep size in each mode (:data:`MODES`)."""
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for mode in modes:
            label, workers, threads = MODES[mode]
            runs = [measure_sweep(n, chunk, workers, threads=threads) for _ in range(repeat)]
            for r in runs:
                print(json.dumps(r), flush=True)
            wall = _median([r["wall_s"] for r in runs])
            peak = max(r["peak_mb"] for r in runs)
            rows.append({"rows": n, "mode": mode, "label": label, "wall_s": wall, "peak_mb": peak})
    lines = [
        f"`learning_org`, 60 months at dt 0.125 (Euler), 4 uncertainties, 3 scalar outcomes and "
        f"3 series kept yearly, chunks of {chunk}; median of {repeat} run(s).",
        "",
        "| scenarios | how | wall time (s) | per scenario (µs) | peak RSS, all processes (MB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:,} | {r['label']} | {r['wall_s']:.1f} | "
            f"{1e6 * r['wall_s'] / r['rows']:.0f} | {r['peak_mb']:.0f} |"
        )
    for n in sizes:
        by_mode = {r["mode"]: r["wall_s"] for r in rows if r["rows"] == n}
        if "serial" in by_mode and "dask" in by_mode:
            eff = by_mode["serial"] / (2 * by_mode["dask"])
            lines += ["", f"Parallel efficiency on 2 workers at {n:,}: {eff:.2f}."]
    return lines


def ema_comparison(n: int, chunk: int, repeat: int) -> list[str]:
    """EMA Workbench vs ``simdyn sweep`` on the same ``n`` experiments, ``repeat`` times."""
    runs = []
    for _ in range(repeat):
        r = measure_ema(n, chunk)
        print(json.dumps(r), flush=True)
        runs.append(r)
    ema = _median([r["ema_s"] for r in runs])
    sweep = _median([r["sweep_s"] for r in runs])
    return [
        f"The same {n:,} experiments (the sweep design's rows), {repeat} alternating run(s) "
        "each, medians:",
        "",
        "| | wall time (s) | per experiment (ms) |",
        "| --- | --- | --- |",
        f"| EMA Workbench {runs[0]['ema_version']} `SequentialEvaluator`, one `simulate` per "
        f"experiment (model compiled beforehand) | {ema:.1f} | {1e3 * ema / n:.2f} |",
        f"| `simdyn sweep` (fresh process: start, compile and store included) | {sweep:.1f} | "
        f"{1e3 * sweep / n:.2f} |",
        "",
        f"Per-experiment cost ratio: {ema / sweep:.1f}×. Runs: EMA "
        + ", ".join(f"{r['ema_s']:.1f}" for r in runs)
        + " s; sweep "
        + ", ".join(f"{r['sweep_s']:.1f}" for r in runs)
        + f" s. Outcomes agree to {max(r['max_rel_gap'] for r in runs):.1g} (relative).",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000],
                    help="sizes of the scaling sweeps")  # fmt: skip
    ap.add_argument("--chunk", type=int, default=8192)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--serial-only", action="store_true", help="scaling: in-process only")
    mode.add_argument("--dask-only", action="store_true", help="scaling: 2 dask workers only")
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--ema-only", action="store_true", help="only the EMA comparison")
    part.add_argument("--no-ema", action="store_true", help="skip the EMA comparison")
    ap.add_argument("--experiments", type=int, default=1000, help="EMA comparison size")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement (median)")
    ap.add_argument("--write", action="store_true", help=f"write the summary to {RESULTS.name}")
    args = ap.parse_args()
    modes = (
        ["serial", "threads"] if args.serial_only else ["dask"] if args.dask_only else list(MODES)
    )
    lines = ["# Sweep benchmark", "", f"Machine: {_versions()}.", ""]
    if not args.ema_only:
        lines += [*scaling(args.rows, args.chunk, modes, args.repeat), ""]
    if not args.no_ema:
        lines += [*ema_comparison(args.experiments, args.chunk, args.repeat), ""]
    print("\n".join(lines))
    if args.write:
        RESULTS.write_text("\n".join(lines))
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
