"""Reference behaviour modes R12–R14 of the network layer (design: model-science.md §5)."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest

from simdyn.network import (
    GraphOperators,
    averaging_matrix,
    caveman_with_bridges,
    connected_caveman,
    convergence_factor,
    influence_weights,
    neighbour_mean,
    random_regular,
    ring_lattice,
    run_contagion,
    team_codes,
    teams_reached,
    time_to_share,
    watts_strogatz,
)

N, K, TRIALS = 600, 6, 200


def neighbourhood_seeds(ops: GraphOperators, seed: int) -> np.ndarray[Any, Any]:
    """One random node and all its neighbours adopt, a different node per trial (column)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((ops.n_nodes, TRIALS), dtype=bool)
    X[rng.integers(ops.n_nodes, size=TRIALS), np.arange(TRIALS)] = True
    return np.asarray(X | ((ops.counts @ X.view(np.uint8)) > 0))


@pytest.fixture(scope="module")
def lattice() -> GraphOperators:
    return GraphOperators.from_graph(ring_lattice(N, K))


@pytest.fixture(scope="module")
def random_graph() -> GraphOperators:
    G = random_regular(N, K, seed=1)
    assert nx.is_connected(G)
    return GraphOperators.from_graph(G)


def test_r12_complex_contagion_needs_clustering(
    lattice: GraphOperators, random_graph: GraphOperators
) -> None:
    seed_size = K + 1
    on_lattice = run_contagion(
        lattice, neighbourhood_seeds(lattice, 0), rule="threshold", threshold=2, n_steps=500
    )
    on_random = run_contagion(
        random_graph,
        neighbourhood_seeds(random_graph, 0),
        rule="threshold",
        threshold=2,
        n_steps=500,
    )
    assert on_lattice.counts.shape == (501, TRIALS)
    # lattice: every trial reaches (near-)full adoption
    assert np.all(on_lattice.counts[-1] >= 0.95 * N)
    # degree-matched random graph: stays near the seed in (almost) every trial
    assert np.median(on_random.counts[-1]) <= 2 * seed_size
    assert np.mean(on_random.counts[-1] <= 3 * seed_size) >= 0.95


def test_r12_simple_contagion_is_faster_on_random_graph(
    lattice: GraphOperators, random_graph: GraphOperators
) -> None:
    kw: dict[str, Any] = {"rule": "simple", "p": 0.15, "n_steps": 500}
    t_lat = time_to_share(
        run_contagion(lattice, neighbourhood_seeds(lattice, 1), seed=2, **kw).counts, N
    )
    t_rnd = time_to_share(
        run_contagion(random_graph, neighbourhood_seeds(random_graph, 1), seed=2, **kw).counts, N
    )
    assert not np.isnan(t_lat).any()
    assert not np.isnan(t_rnd).any()
    assert np.median(t_rnd) * 3 < np.median(t_lat)


def test_r12_below_threshold_noise_reverses_the_ordering(
    lattice: GraphOperators, random_graph: GraphOperators
) -> None:
    # Eckles, Mossel, Rahimian & Sen: with a small chance of adopting with one adopting
    # neighbour, long ties speed the spread up again
    kw: dict[str, Any] = {
        "rule": "threshold",
        "threshold": 2,
        "below_threshold": 0.05,
        "n_steps": 500,
    }
    t_lat = time_to_share(
        run_contagion(lattice, neighbourhood_seeds(lattice, 3), seed=4, **kw).counts, N
    )
    t_rnd = time_to_share(
        run_contagion(random_graph, neighbourhood_seeds(random_graph, 3), seed=4, **kw).counts, N
    )
    assert not np.isnan(t_rnd).any()
    assert np.median(t_rnd) * 2 < np.median(t_lat)


def ties_into(G: nx.Graph[Any], team: int, other: int) -> int:
    """Largest number of ties any node of ``team`` has into ``other``."""
    return max(
        sum(1 for u in G[v] if G.nodes[u]["team"] == other) for v in G if G.nodes[v]["team"] == team
    )


@pytest.mark.parametrize("landing", ["distinct", "shared"])
@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_r13_wide_bridges(width: int, landing: Any) -> None:
    n_teams, size = 10, 8
    G = caveman_with_bridges(n_teams, size, bridge_width=width, landing=landing)
    ops = GraphOperators.from_graph(G)
    codes, _ = team_codes(G, nodelist=ops.nodelist)
    x0 = np.asarray(codes == 0)
    reinforced = ties_into(G, 1, 0) >= 2
    assert reinforced == (landing == "shared" and width >= 3)

    complex_run = run_contagion(ops, x0, rule="threshold", threshold=2, n_steps=200, n_scenarios=1)
    reached = teams_reached(complex_run.final, codes)[0]
    if reinforced:
        assert reached == 1.0
        assert complex_run.counts[-1, 0] == G.number_of_nodes()
    else:
        assert reached == 1 / n_teams
        assert complex_run.counts[-1, 0] == size

    simple_run = run_contagion(
        ops, x0, rule="simple", p=0.3, n_steps=2000, n_scenarios=TRIALS, seed=width
    )
    assert np.all(teams_reached(simple_run.final, codes) == 1.0)


def degroot_until(W: Any, x0: np.ndarray[Any, Any], n_steps: int) -> np.ndarray[Any, Any]:
    X = x0
    for _ in range(n_steps):
        X = neighbour_mean(W, X)
    return X


def test_r14_degroot_converges_to_influence_weighted_mean() -> None:
    G = watts_strogatz(200, 10, 0.1, seed=5)
    assert nx.is_connected(G)
    for u, v in G.edges:
        G.edges[u, v]["strength"] = 0.5 + (u * v) % 7 / 7
    W = averaging_matrix(G)
    pi = influence_weights(W)
    x0 = np.random.default_rng(0).random((200, 5))
    X = degroot_until(W, x0, 1000)
    np.testing.assert_allclose(X, np.broadcast_to(pi @ x0, X.shape), atol=1e-6)
    # for undirected graphs π is proportional to weighted degree
    s = np.asarray(GraphOperators.from_graph(G).strength)
    np.testing.assert_allclose(pi, s / s.sum(), atol=1e-10)


def test_r14_siloed_org_converges_more_slowly() -> None:
    silo = connected_caveman(20, 10)
    small_world = watts_strogatz(200, 10, 0.1, seed=6)
    assert nx.is_connected(small_world)
    W_silo, W_sw = averaging_matrix(silo), averaging_matrix(small_world)
    lam_silo, lam_sw = convergence_factor(W_silo), convergence_factor(W_sw)
    assert lam_silo > 0.99
    assert lam_sw < 0.95
    x0 = np.random.default_rng(1).random((200, 3))
    spread_silo = np.ptp(degroot_until(W_silo, x0, 100), axis=0)
    spread_sw = np.ptp(degroot_until(W_sw, x0, 100), axis=0)
    assert np.all(spread_silo > 100 * spread_sw)
