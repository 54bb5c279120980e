"""The numpy backend against the hand-written numba kernel, side by side (SIR, workforce20).

Run on demand, not as a test::

    python benchmarks/bench_numpy.py [--sizes 1000,10000,100000] [--repeats 5] [--threads 1,2]

For each model, method and size, the numpy backend (at each thread count of ``--threads``) and
the hand-written kernel (``benchmarks/handwritten.py``, ``prange`` over every core) run in
turn, ``--repeats`` rounds; each figure is the median of its rounds. Prints a Markdown table
with "numpy vs hand" = hand-written time / numpy time (1.0 = as fast as the hand kernel);
``benchmarks/RESULTS-numpy.md`` holds runs of it, before and after the numpy backend's
work-array, SAFEDIV, MIN/MAX and thread-pool changes.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_backends as bb  # noqa: E402

import simdyn  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default="sir,workforce20")
    ap.add_argument("--methods", default="euler,rk4")
    args = ap.parse_args()
    threaded = "threads" in inspect.signature(simdyn.simulate).parameters
    counts = [int(t) for t in args.threads.split(",")] if threaded else [1]
    print(f"load average at start: {os.getloadavg()[0]:.1f}; threads parameter: {threaded}")
    cols = " | ".join(f"numpy {t}T s | vs hand" for t in counts)
    print(f"| model | method | scenarios | hand s | {cols} |")
    print("| --- | --- | ---: | ---: |" + " ---: | ---: |" * len(counts))
    for key in args.models.split(","):
        model = simdyn.load_model(bb.MODELS[key][0])
        bb.run_hand(model, key, 2, "euler")  # compile
        for method in args.methods.split(","):
            for n in (int(s) for s in args.sizes.split(",")):
                times: dict[str, list[float]] = {"hand": [], **{str(t): [] for t in counts}}
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    bb.run_hand(model, key, n, method)
                    times["hand"].append(time.perf_counter() - t0)
                    for t in counts:
                        extra = {"threads": t} if threaded else {}
                        save = list(bb.hand_names(key))
                        t0 = time.perf_counter()
                        simdyn.simulate(
                            model,
                            params=bb.varied(key, n),
                            method=method,
                            backend="numpy",
                            save=save,
                            **extra,
                        )
                        times[str(t)].append(time.perf_counter() - t0)
                hand = statistics.median(times["hand"])
                cells = []
                for t in counts:
                    med = statistics.median(times[str(t)])
                    cells.append(f"{med:.4f} | {hand / med:.2f}")
                print(
                    f"| {key} | {method} | {n:,} | {hand:.4f} | {' | '.join(cells)} |", flush=True
                )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
