"""Sweep benchmark: wall time and peak memory of `learning_org` sweeps, serial and on 2 dask
workers, and the per-experiment cost of EMA Workbench's SequentialEvaluator against a sweep.

Run on demand, not as a test::

    python benchmarks/bench_sweep.py [--rows 1000000] [--small 100000] [--ema 1000] [--repeat 1]

Each measurement runs in a fresh process; peak memory is the largest summed RSS of that
process and its children (the dask workers), sampled every 0.1 s with psutil. Prints a table
and writes ``benchmarks/RESULTS-sweep.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
range = [0.003, 0.008]
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


def measure_sweep(n: int, chunk: int, workers: int | None) -> dict[str, float]:
    """One sweep in a fresh ``simdyn sweep`` process: wall time and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_scenario(Path(tmp), n, chunk)
        cmd = [str(Path(sys.executable).with_name("simdyn")), "sweep", str(path), "-q"]
        cmd += ["--out", str(Path(tmp) / "s.zarr")]
        if workers:
            cmd += ["--workers", str(workers)]
        began = time.perf_counter()
        proc = subprocess.Popen(cmd)
        stop, peak = threading.Event(), []
        watcher = threading.Thread(target=_peak_rss, args=(proc, stop, peak))
        watcher.start()
        proc.wait()
        wall = time.perf_counter() - began
        stop.set()
        watcher.join()
        if proc.returncode:
            raise SystemExit(f"sweep failed: {' '.join(cmd)}")
    return {"rows": n, "wall_s": wall, "peak_mb": peak[0] / 1e6, "workers": workers or 0}


EMA_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import simdyn
from ema_workbench import Model, RealParameter, ScalarOutcome, SequentialEvaluator, ema_logging
from ema_workbench import __version__ as ema_version

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
    return {"engagement_5y": float(ds.engagement.values[-1, 0]),
            "mean_quit_rate": float(ds.annual_quit_rate.values[:, 0].mean()),
            "output_3y": float(ds.output.values[36, 0])}

em = Model("learningorg", function=run)
em.uncertainties = [RealParameter("engagement_quit_sensitivity", 0.6, 2.0),
                    RealParameter("outside_market", 0.7, 1.5),
                    RealParameter("learning_rate_per_hour", 0.003, 0.008),
                    RealParameter("delegation", 0.2, 0.8)]
em.outcomes = [ScalarOutcome("engagement_5y"), ScalarOutcome("mean_quit_rate"),
               ScalarOutcome("output_3y")]
n = int(sys.argv[1])
run(1.2, 1.0, 0.0055, 0.4)  # compile the model once, outside the timing
began = time.perf_counter()
with SequentialEvaluator(em) as ev:
    experiments, outcomes = ev.perform_experiments(scenarios=n)
wall = time.perf_counter() - began
print(json.dumps({"n": n, "wall_s": wall, "ema_version": ema_version}))
"""


def measure_ema(n: int) -> dict[str, Any]:
    """``n`` experiments through EMA Workbench's SequentialEvaluator, one simulate per run."""
    out = subprocess.run(
        [sys.executable, "-c", EMA_SCRIPT, str(n)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="the large sweep")
    ap.add_argument("--small", type=int, default=100_000, help="the memory comparison sweep")
    ap.add_argument("--chunk", type=int, default=8192)
    ap.add_argument("--ema", type=int, default=1000, help="experiments through EMA Workbench")
    args = ap.parse_args()
    import distributed
    import numpy
    import zarr

    import simdyn

    rows: list[dict[str, Any]] = []
    for n in (args.small, args.rows):
        for workers in (None, 2):
            r = measure_sweep(n, args.chunk, workers)
            rows.append(r)
            print(json.dumps(r), flush=True)
    ema = measure_ema(args.ema)
    print(json.dumps(ema), flush=True)
    sweep_small = measure_sweep(args.ema, args.chunk, None)
    print(json.dumps(sweep_small), flush=True)
    big_serial = next(r for r in rows if r["rows"] == args.rows and not r["workers"])
    big_dask = next(r for r in rows if r["rows"] == args.rows and r["workers"])
    per_row = big_serial["wall_s"] / args.rows
    lines = [
        "# Sweep benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, zarr {zarr.__version__}, dask.distributed "
        f"{distributed.__version__}, simdyn {simdyn.__version__}, "
        f"EMA Workbench {ema['ema_version']}.",
        "",
        f"`learning_org`, 60 months at dt 0.125 (Euler), 4 uncertainties, 3 scalar outcomes and "
        f"3 series kept yearly, chunks of {args.chunk}.",
        "",
        "| scenarios | workers | wall time (s) | per scenario (µs) | peak RSS, all processes (MB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:,} | {r['workers'] or 'in-process'} | {r['wall_s']:.1f} | "
            f"{1e6 * r['wall_s'] / r['rows']:.0f} | {r['peak_mb']:.0f} |"
        )
    eff = big_serial["wall_s"] / (2 * big_dask["wall_s"])
    ema_per = ema["wall_s"] / ema["n"]
    lines += [
        "",
        f"Parallel efficiency on 2 workers at {args.rows:,}: {eff:.2f} (serial / (2 × parallel)).",
        f"Serial time extrapolated to 10⁶ scenarios: {per_row * 1e6 / 60:.1f} min.",
        "",
        f"EMA Workbench SequentialEvaluator, {ema['n']:,} experiments (one `simulate` per "
        f"experiment): {ema['wall_s']:.1f} s, {1e3 * ema_per:.1f} ms per experiment. "
        f"`simdyn sweep` of the same {args.ema:,} scenarios (a fresh process, model compile "
        f"included): {sweep_small['wall_s']:.1f} s; at {args.rows:,}: "
        f"{1e6 * per_row:.0f} µs per scenario. Per-experiment cost ratio: "
        f"{ema_per / per_row:.0f}× (at scale), {ema_per * args.ema / sweep_small['wall_s']:.0f}× "
        f"(same {args.ema:,} scenarios).",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
