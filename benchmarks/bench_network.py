"""Benchmark simdyn's batched threshold kernel against NDlib and at scale.

Run with ``python benchmarks/bench_network.py``. Prints markdown tables:

1. Cost per trial-step of the synchronous fractional-threshold contagion on one 2,000-node
   Watts–Strogatz graph (k = 6, p = 0.1, threshold 0.34, 100 initial adopters): NDlib's
   ``ThresholdModel.iteration`` (one trial at a time) against ``simdyn.network.run_contagion``
   (all trials as columns of one array), measured in the same process, plus a check that both
   give the same adopter counts.
2. Time per step and peak memory for 100,000 nodes x 100 scenarios.
"""

from __future__ import annotations

import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from simdyn.network import (
    GraphOperators,
    initial_state,
    neighbour_mean,
    run_contagion,
    watts_strogatz,
)

N_SMALL, K_SMALL, THRESHOLD, N_SEEDED, STEPS = 2000, 6, 0.34, 100, 30


def best_of(repeats: int, fn: Callable[[], Any]) -> float:
    """Smallest wall time of ``repeats`` calls (seconds)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def ndlib_seconds_per_trial_step(G: Any, seed_sets: list[list[int]]) -> tuple[float, list[int]]:
    from ndlib.models import ModelConfig
    from ndlib.models.epidemics import ThresholdModel

    total = 0.0
    final = []
    for infected in seed_sets:
        model = ThresholdModel(G)
        cfg = ModelConfig.Configuration()
        for node in G:
            cfg.add_node_configuration("threshold", node, THRESHOLD)
        cfg.add_model_initial_configuration("Infected", infected)
        model.set_initial_status(cfg)
        model.iteration(node_status=False)  # iteration 0 only reports the initial state
        t0 = time.perf_counter()
        for _ in range(STEPS):
            out = model.iteration(node_status=False)
        total += time.perf_counter() - t0
        final.append(out["node_count"][1])
    return total / (len(seed_sets) * STEPS), final


def small_graph_comparison() -> list[str]:
    G = watts_strogatz(N_SMALL, K_SMALL, 0.1, seed=1)
    ops = GraphOperators.from_graph(G, nodelist=range(N_SMALL))
    rng = np.random.default_rng(2)
    n_trials = 1000
    sets = [rng.choice(N_SMALL, size=N_SEEDED, replace=False).tolist() for _ in range(n_trials)]
    x0 = initial_state(ops.nodelist, sets)

    def ours() -> Any:
        return run_contagion(
            ops,
            x0,
            rule="threshold",
            threshold=THRESHOLD,
            fractional=True,
            n_steps=STEPS,
            until_stable=False,
        )

    res = ours()
    t_ours = best_of(5, ours) / (n_trials * STEPS)
    n_ndlib = 10
    t_ndlib, final = ndlib_seconds_per_trial_step(G, sets[:n_ndlib])
    same = final == res.counts[-1, :n_ndlib].tolist()
    rows = [
        "| engine | trials | steps | time per trial-step | final adopters agree |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| NDlib ThresholdModel | {n_ndlib} | {STEPS} | {t_ndlib * 1e6:.1f} µs | |",
        f"| simdyn run_contagion (threshold, fractional) | {n_trials} | {STEPS} | "
        f"{t_ours * 1e6:.2f} µs | {'yes' if same else 'NO'} |",
        "",
        f"**Speed-up per trial-step: {t_ndlib / t_ours:.0f}×**",
    ]
    return rows


def large_graph_scaling() -> list[str]:
    n, m, k, steps = 100_000, 100, 10, 20
    t0 = time.perf_counter()
    G = watts_strogatz(n, k, 0.1, seed=3)
    t_graph = time.perf_counter() - t0
    t0 = time.perf_counter()
    ops = GraphOperators.from_graph(G, nodelist=range(n))
    t_ops = time.perf_counter() - t0
    del G
    rng = np.random.default_rng(4)
    x0 = np.zeros((n, m), dtype=bool)
    for j in range(m):
        x0[rng.choice(n, size=n // 50, replace=False), j] = True

    rows = [
        f"Graph: Watts–Strogatz n = {n:,}, k = {k}, p = 0.1 ({ops.counts.nnz:,} stored ties); "
        f"{m} scenarios; building the graph took {t_graph:.1f} s and all operators "
        f"{t_ops:.1f} s.",
        "",
        "| kernel | time per step | per node-scenario | peak traced memory |",
        "| --- | ---: | ---: | ---: |",
    ]
    cases: list[tuple[str, Callable[[], Any]]] = [
        (
            "threshold (fractional 0.3)",
            lambda: run_contagion(
                ops,
                x0,
                rule="threshold",
                threshold=0.3,
                fractional=True,
                n_steps=steps,
                until_stable=False,
            ),
        ),
        (
            "threshold (absolute 2) + below-threshold 0.05",
            lambda: run_contagion(
                ops,
                x0,
                rule="threshold",
                threshold=2,
                below_threshold=0.05,
                n_steps=steps,
                until_stable=False,
                seed=5,
            ),
        ),
        (
            "simple contagion p = 0.05",
            lambda: run_contagion(
                ops, x0, rule="simple", p=0.05, n_steps=steps, until_stable=False, seed=6
            ),
        ),
    ]
    X = rng.random((n, m))

    def degroot() -> None:
        Y = X
        for _ in range(steps):
            Y = neighbour_mean(ops.averaging, Y)

    cases.append(("DeGroot averaging (float64)", degroot))
    for name, fn in cases:
        t = best_of(2, fn)  # timed without tracemalloc, which slows allocation down
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append(
            f"| {name} | {t / steps * 1e3:.1f} ms | {t / steps / (n * m) * 1e9:.2f} ns | "
            f"{peak / 2**20:.0f} MiB |"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows += ["", f"Peak resident set size of the whole benchmark process: {rss:.0f} MiB."]
    return rows


def main() -> None:
    import numpy
    import scipy

    print(
        f"Python {sys.version.split()[0]}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
        f"{platform.machine()}, {platform.system()}"
    )
    print()
    print("## Threshold kernel vs NDlib (2,000-node Watts–Strogatz, k = 6, p = 0.1)")
    print()
    print("\n".join(small_graph_comparison()))
    print()
    print("## Scaling: 100,000 nodes x 100 scenarios")
    print()
    print("\n".join(large_graph_scaling()))


if __name__ == "__main__":
    main()
