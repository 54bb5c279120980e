"""R15: the synchronous fractional-threshold kernel equals NDlib's ThresholdModel exactly.

NDlib's ``ThresholdModel.iteration`` updates every susceptible node ``u`` against the previous
step's statuses: ``u`` becomes infected when ``infected / len(neighbors) >= threshold[u]``
(Python float division, ``len(neighbors) > 0``); infection is permanent; iteration 0 reports the
initial state without updating.
"""

from __future__ import annotations

import numpy as np
import pytest

from simdyn.network import GraphOperators, initial_state, run_contagion, watts_strogatz

ndlib_threshold = pytest.importorskip("ndlib.models.epidemics")
ndlib_config = pytest.importorskip("ndlib.models.ModelConfig")

N_NODES, N_ITER, N_TRIALS = 2000, 30, 5


def ndlib_counts(G: object, infected: list[int], thresholds: np.ndarray) -> list[int]:
    model = ndlib_threshold.ThresholdModel(G)
    cfg = ndlib_config.Configuration()
    for node in G:  # type: ignore[attr-defined]
        cfg.add_node_configuration("threshold", node, float(thresholds[node]))
    cfg.add_model_initial_configuration("Infected", infected)
    model.set_initial_status(cfg)
    return [it["node_count"][1] for it in model.iteration_bunch(N_ITER + 1, node_status=False)]


@pytest.mark.ndlib
@pytest.mark.parametrize("heterogeneous", [False, True])
def test_r15_threshold_kernel_matches_ndlib(heterogeneous: bool) -> None:
    G = watts_strogatz(N_NODES, 6, 0.1, seed=42)
    ops = GraphOperators.from_graph(G, nodelist=range(N_NODES))
    rng = np.random.default_rng(7)
    if heterogeneous:
        thresholds = rng.uniform(0.1, 0.6, size=N_NODES)
    else:
        thresholds = np.full(N_NODES, 0.34)
    sets = [rng.choice(N_NODES, size=100, replace=False).tolist() for _ in range(N_TRIALS)]
    ours = run_contagion(
        ops,
        initial_state(ops.nodelist, sets),
        rule="threshold",
        threshold=thresholds,
        fractional=True,
        n_steps=N_ITER,
    )
    for k, infected in enumerate(sets):
        theirs = ndlib_counts(G, infected, thresholds)
        assert ours.counts[:, k].tolist() == theirs
    # the comparison is not trivial: adoption grows in every trial
    assert np.all(ours.counts[-1] > ours.counts[0])
