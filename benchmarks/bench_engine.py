"""Engine benchmark: batched throughput, batch-vs-loop ratio, peak memory (and PySD, if present).

Run on demand, not as a test::

    python benchmarks/bench_engine.py [--quick] [--pysd PATH_TO_PYSD_PYTHON]

Prints a table and writes ``benchmarks/RESULTS-engine.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import simdyn

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-engine.md"
#: ≥ 20 variables: the built-in learning-organization model (17 stocks, 31 flows, 47 auxiliaries).
BIG = "learning_org"
#: a constant of each model to vary per scenario
VARIED = {"sir": ("contact_rate", 0.2, 0.8), BIG: ("delegation", 0.2, 0.8)}


def _params(model: str, n: int) -> dict[str, Any]:
    name, lo, hi = VARIED[model]
    return {name: np.linspace(lo, hi, n)} if n > 1 else {}


def _time(fn: Any, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def throughput(model_name: str, method: str, n: int, stop: float) -> dict[str, Any]:
    model = simdyn.load_model(model_name)
    dt = model.spec.time.dt
    save = [model.key_outputs[0]]
    kw = {"method": method, "stop": stop, "save": save, "save_per": stop}
    simdyn.simulate(model, params=_params(model_name, min(n, 2)), **kw)  # compile, warm up
    repeat = 3 if n <= 1000 else 1
    secs = _time(lambda: simdyn.simulate(model, params=_params(model_name, n), **kw), repeat)
    steps = round(stop / dt)
    return {
        "model": model_name,
        "method": method,
        "n": n,
        "seconds": secs,
        "steps": steps,
        "scenario_steps_per_s": n * steps / secs,
        "us_per_scenario_run": 1e6 * secs / n,
    }


def loop_ratio(
    model_name: str, method: str, n_batch: int, n_loop: int, stop: float
) -> dict[str, Any]:
    """Per-scenario cost of a batch of ``n_batch`` against a loop of single-scenario runs."""
    model = simdyn.load_model(model_name)
    save = [model.key_outputs[0]]
    kw = {"method": method, "stop": stop, "save": save}
    simdyn.simulate(model, **kw)
    name, lo, hi = VARIED[model_name]
    values = np.linspace(lo, hi, n_loop)

    def loop() -> None:
        for v in values:
            simdyn.simulate(model, params={name: v}, **kw)

    single = _time(loop, 1) / n_loop
    batch = _time(lambda: simdyn.simulate(model, params=_params(model_name, n_batch), **kw), 1)
    per = batch / n_batch
    return {
        "model": model_name,
        "method": method,
        "n_batch": n_batch,
        "single_run_ms": 1e3 * single,
        "batched_per_scenario_us": 1e6 * per,
        "ratio": single / per,
    }


MEMORY_SCRIPT = """
import json, resource, sys, time
import numpy as np
import simdyn
n = int(sys.argv[1])
model = simdyn.load_model({big!r})
save = list(model.key_outputs[:5])
while len(save) < 5:
    save.append(next(v for v in model.variables if v not in save))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
ds = simdyn.simulate(model, method="euler", start=0, stop=60, dt=0.125, save_per=1, save=save,
                     params={{{name!r}: np.linspace(0.2, 0.8, n)}})
secs = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"n": n, "saved": save, "times": ds.sizes["time"], "seconds": secs,
                  "peak_rss_mb": peak / 1024, "before_run_rss_mb": base / 1024,
                  "result_mb": ds.nbytes / 2**20}}))
"""


def peak_memory(n: int) -> dict[str, Any]:
    script = MEMORY_SCRIPT.format(big=BIG, name=VARIED[BIG][0])
    out = subprocess.run(
        [sys.executable, "-c", script, str(n)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


PYSD_SCRIPT = """
import json, sys, time
import pysd
model = pysd.read_xmile(sys.argv[1]) if sys.argv[1].endswith(".xmile") else pysd.read_vensim(sys.argv[1])
model.run()
best = float("inf")
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(20):
        model.run(params={"Characteristic Time": 10})
    best = min(best, (time.perf_counter() - t0) / 20)
print(json.dumps({"pysd_version": pysd.__version__, "per_run_s": best}))
"""

TEACUP_MDL = """{UTF-8}
Characteristic Time=
	10
	~	Minutes
	~		|

Heat Loss to Room=
	(Teacup Temperature - Room Temperature) / Characteristic Time
	~	Degrees Fahrenheit/Minute
	~		|

Room Temperature=
	70
	~	Degrees Fahrenheit
	~		|

Teacup Temperature= INTEG (
	-Heat Loss to Room,
		180)
	~	Degrees Fahrenheit
	~		|

FINAL TIME  = 30
	~	Minute
	~		|

INITIAL TIME  = 0
	~	Minute
	~		|

SAVEPER  = TIME STEP
	~	Minute
	~		|

TIME STEP  = 0.125
	~	Minute
	~		|
"""


def pysd_teacup(python: str) -> dict[str, Any] | None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        mdl = Path(tmp) / "teacup.mdl"
        mdl.write_text(TEACUP_MDL)
        try:
            out = subprocess.run(
                [python, "-c", PYSD_SCRIPT, str(mdl)],
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"PySD not measured: {exc}", file=sys.stderr)
            return None
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    model = simdyn.load_model("teacup")
    simdyn.simulate(model, method="euler")
    single = _time(lambda: simdyn.simulate(model, method="euler"), 20)
    n = 10_000
    taus = {"characteristic_time": np.linspace(5, 20, n)}
    secs = _time(lambda: simdyn.simulate(model, method="euler", params=taus), 1)
    result.update(
        simdyn_single_run_s=single,
        simdyn_batched_per_scenario_s=secs / n,
        pysd_over_simdyn_single=result["per_run_s"] / single,
        pysd_over_simdyn_batched=result["per_run_s"] / (secs / n),
    )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches, shorter runs")
    ap.add_argument("--pysd", default="/tmp/pysdvenv/bin/python", help="a Python with pysd")
    args = ap.parse_args()
    sizes = [1, 1_000, 10_000] if args.quick else [1, 1_000, 10_000, 100_000]
    stops = {"sir": 10.0 if args.quick else 20.0, BIG: 1.0 if args.quick else 3.0}

    rows = []
    for model in ("sir", BIG):
        for method in ("euler", "rk4"):
            for n in sizes:
                r = throughput(model, method, n, stops[model])
                rows.append(r)
                print(
                    f"{model:14s} {method:6s} n={n:>7,d}  {r['scenario_steps_per_s']:>14,.0f} "
                    f"scenario-steps/s  ({r['seconds']:.3f} s)",
                    flush=True,
                )
    ratios = [
        loop_ratio(m, meth, 10_000, 20, stops[m]) for m in ("sir", BIG) for meth in ("euler", "rk4")
    ]
    for r in ratios:
        print(
            f"{r['model']:14s} {r['method']:6s} single run {r['single_run_ms']:.2f} ms, batched "
            f"{r['batched_per_scenario_us']:.2f} µs/scenario: {r['ratio']:,.0f}x",
            flush=True,
        )
    mem = peak_memory(10_000 if args.quick else 100_000)
    print(
        f"peak RSS {mem['peak_rss_mb']:.0f} MB for {mem['n']:,d} scenarios ({mem['seconds']:.1f} s)"
    )
    pysd = pysd_teacup(args.pysd) if Path(args.pysd).exists() else None
    if pysd is not None:
        print(f"PySD {pysd['pysd_version']} teacup {1e3 * pysd['per_run_s']:.2f} ms/run")
    write_results(rows, ratios, mem, pysd, quick=args.quick)


def write_results(
    rows: list[dict[str, Any]],
    ratios: list[dict[str, Any]],
    mem: dict[str, Any],
    pysd: dict[str, Any] | None,
    *,
    quick: bool,
) -> None:
    lines = [
        "# Engine benchmark results",
        "",
        f"Written by `benchmarks/bench_engine.py{' --quick' if quick else ''}` on "
        f"{time.strftime('%Y-%m-%d')}: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, numpy {np.__version__}, simdyn {simdyn.__version__}. "
        "Default chunk size (8192 scenarios). Times are best of 3 for n ≤ 1,000, one run above.",
        "",
        "## Throughput (scenario-steps per second)",
        "",
        f"`sir`: 3 stocks, 2 flows. `{BIG}`: 17 stocks, 31 flows, 47 auxiliaries, 6-element "
        "dimension. Horizon per row: steps column; one saved time at the end.",
        "",
        "| model | method | scenarios | steps | seconds | scenario-steps/s | µs per scenario-run |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['method']} | {r['n']:,} | {r['steps']} | {r['seconds']:.3f} | "
            f"{r['scenario_steps_per_s']:,.0f} | {r['us_per_scenario_run']:,.1f} |"
        )
    lines += [
        "",
        "## Batched per-scenario cost against a loop of single-scenario runs",
        "",
        "Single: mean over 20 runs of one scenario each (compiled model cached). Batched: one run "
        "of 10,000 scenarios divided by 10,000. Target: ratio ≥ 300.",
        "",
        "| model | method | single run (ms) | batched (µs per scenario) | ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in ratios:
        lines.append(
            f"| {r['model']} | {r['method']} | {r['single_run_ms']:.2f} | "
            f"{r['batched_per_scenario_us']:.2f} | {r['ratio']:,.0f} |"
        )
    lines += [
        "",
        "## Peak memory",
        "",
        f"`{BIG}`, {mem['n']:,} scenarios, Euler, 60 months at dt = 0.125, saving "
        f"{len(mem['saved'])} variables ({', '.join(mem['saved'])}) once a month "
        f"({mem['times']} saved times), measured as `ru_maxrss` of a fresh process. "
        "Target: < 1 GB.",
        "",
        f"- peak RSS: **{mem['peak_rss_mb']:.0f} MB** (of which {mem['before_run_rss_mb']:.0f} MB "
        f"after imports and model load; result arrays {mem['result_mb']:.0f} MB)",
        f"- wall time: {mem['seconds']:.1f} s",
        "",
    ]
    if pysd is not None:
        lines += [
            "## PySD (teacup, Euler, 241 steps)",
            "",
            f"PySD {pysd['pysd_version']} in a separate virtual environment, best of 5 × 20 runs.",
            "",
            "| | seconds per run | PySD / this |",
            "| --- | ---: | ---: |",
            f"| PySD `model.run()` | {pysd['per_run_s']:.5f} | 1 |",
            f"| simdyn, one scenario | {pysd['simdyn_single_run_s']:.5f} | "
            f"{pysd['pysd_over_simdyn_single']:.1f} |",
            f"| simdyn, 10,000 scenarios batched, per scenario | "
            f"{pysd['simdyn_batched_per_scenario_s']:.7f} | {pysd['pysd_over_simdyn_batched']:,.0f} |",
            "",
        ]
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
