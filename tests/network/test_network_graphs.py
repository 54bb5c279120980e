"""Org graph builders, reference graphs, operators' edge cases and analysis helpers."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import networkx as nx
import numpy as np
import pytest

from simdyn.errors import NetworkError
from simdyn.network import (
    EDGE_KINDS,
    GraphOperators,
    adjacency_matrix,
    adoption_share,
    averaging_matrix,
    caveman_with_bridges,
    gini,
    org_graph,
    random_regular,
    ring_lattice,
    run_contagion,
    sample_spans,
    team_codes,
    teams_reached,
    threshold_step,
    time_to_share,
    watts_strogatz,
)


def test_spans_have_median_five_to_six_and_a_long_tail() -> None:
    spans = sample_spans(20_000, seed=0)
    assert 5 <= np.median(spans) <= 6
    assert np.quantile(spans, 0.99) >= 2 * np.median(spans)
    assert spans.min() >= 1


def test_org_graph_structure() -> None:
    G = org_graph(
        40, bridge_width=3, shortcut_prob=0.05, n_communities=4, skill=(0.2, 0.8), seed=11
    )
    assert nx.is_connected(G)
    teams: dict[int, list[int]] = {}
    for v, t in G.nodes(data="team"):
        teams.setdefault(t, []).append(v)
    assert len(teams) == 40
    sizes = [len(m) for m in teams.values()]
    assert 5 <= np.median(sizes) - 1 <= 7  # members per manager
    for members in teams.values():
        roles = Counter(G.nodes[v]["role"] for v in members)
        assert roles["manager"] == 1
        for u, v in itertools.combinations(members, 2):
            assert G.edges[u, v] == {"kind": "team", "strength": 1.0}
    kinds = Counter(kind for *_, kind in G.edges(data="kind"))
    assert set(kinds) == set(EDGE_KINDS)
    assert kinds["hierarchy"] == 39  # a tree over 40 managers
    hierarchy = nx.Graph([(u, v) for u, v, k in G.edges(data="kind") if k == "hierarchy"])
    assert nx.is_tree(hierarchy)
    assert all(G.nodes[v]["role"] == "manager" for v in hierarchy)
    for _, _, data in G.edges(data=True):
        if data["kind"] == "cross":
            assert 0.1 <= data["strength"] <= 0.3
    assert all(0.2 <= s <= 0.8 for _, s in G.nodes(data="skill"))


@pytest.mark.parametrize("width", [1, 2, 4])
def test_org_graph_bridge_width_is_exact(width: int) -> None:
    G = org_graph(15, bridge_width=width, bridge_pairs="parent", seed=width)
    cross = Counter(
        frozenset((G.nodes[u]["team"], G.nodes[v]["team"]))
        for u, v, k in G.edges(data="kind")
        if k == "cross"
    )
    assert len(cross) == 14  # each non-root team to its parent team
    assert set(cross.values()) == {width}


def test_org_graph_is_reproducible_and_seed_dependent() -> None:
    a = org_graph(10, shortcut_prob=0.1, seed=5)
    b = org_graph(10, shortcut_prob=0.1, seed=5)
    c = org_graph(10, shortcut_prob=0.1, seed=6)
    assert nx.utils.graphs_equal(a, b)
    assert not nx.utils.graphs_equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"n_teams": 0}, "n_teams"),
        ({"bridge_width": -1}, "bridge_width"),
        ({"shortcut_prob": 1.5}, "shortcut_prob"),
        ({"weak_strength": (0.3, 0.1)}, "weak_strength"),
        ({"bridge_pairs": "cousins"}, "bridge_pairs"),
        ({"n_teams": 3, "n_communities": 1, "community_size": 5}, "community_size"),
        ({"bridge_width": 10_000}, "bridge_width"),
    ],
)
def test_org_graph_rejects_bad_arguments(kwargs: dict[str, Any], where: str) -> None:
    with pytest.raises(NetworkError) as info:
        org_graph(**{"seed": 0, **kwargs})
    assert info.value.where == where
    assert info.value.hint


def test_reference_graphs() -> None:
    lat = ring_lattice(30, 6)
    rr = random_regular(30, 6, seed=1)
    assert {d for _, d in lat.degree} == {d for _, d in rr.degree} == {6}
    assert nx.average_clustering(lat) > nx.average_clustering(rr)
    assert nx.utils.graphs_equal(watts_strogatz(30, 6, 0.0, seed=1), lat)
    assert nx.utils.graphs_equal(random_regular(30, 6, seed=1), rr)
    with pytest.raises(NetworkError, match="even"):
        ring_lattice(10, 3)
    with pytest.raises(NetworkError, match="no 3-regular"):
        random_regular(7, 3)
    with pytest.raises(NetworkError, match="bridge_width"):
        caveman_with_bridges(3, 4, bridge_width=4)


def test_operators_reject_unsupported_graphs() -> None:
    with pytest.raises(NetworkError, match="undirected"):
        adjacency_matrix(nx.DiGraph([(0, 1)]))
    with pytest.raises(NetworkError, match="self-loop"):
        adjacency_matrix(nx.Graph([(0, 0), (0, 1)]))
    with pytest.raises(NetworkError, match="invalid weight -1"):
        adjacency_matrix(nx.Graph([(0, 1, {"strength": -1})]))
    with pytest.raises(NetworkError, match="non-numeric"):
        adjacency_matrix(nx.Graph([(0, 1, {"strength": "strong"})]))
    with pytest.raises(NetworkError, match="not in the graph"):
        adjacency_matrix(nx.path_graph(2), nodelist=[0, 5])
    with pytest.raises(NetworkError, match="missing"):
        adjacency_matrix(nx.path_graph(3), nodelist=[0, 1])
    with pytest.raises(NetworkError, match="twice"):
        adjacency_matrix(nx.path_graph(2), nodelist=[0, 0])


def test_nodelist_orders_rows_and_weight_none_ignores_strength() -> None:
    G = nx.Graph([("a", "b", {"strength": 0.5}), ("b", "c", {"strength": 2.0})])
    A = adjacency_matrix(G, nodelist=["c", "b", "a"]).toarray()
    assert A[0, 1] == 2.0
    assert A[1, 2] == 0.5
    assert adjacency_matrix(G, weight=None).toarray().max() == 1.0
    W = averaging_matrix(G, nodelist=["c", "b", "a"]).toarray()
    np.testing.assert_allclose(W[1], [0.8, 0.0, 0.2])


def test_counts_use_wider_integers_for_high_degree() -> None:
    G = nx.star_graph(300)
    ops = GraphOperators.from_graph(G)
    assert ops.counts.dtype == np.uint16
    X = np.zeros((301, 1), dtype=bool)
    X[1:, 0] = True
    assert threshold_step(ops.counts, X, threshold=300)[0, 0]
    assert not threshold_step(ops.counts, X, threshold=301)[0, 0]


def test_kernel_argument_errors() -> None:
    ops = GraphOperators.from_graph(nx.path_graph(3))
    X = np.zeros((3, 2), dtype=bool)
    with pytest.raises(NetworkError, match="boolean"):
        threshold_step(ops.counts, X.astype(int), threshold=1)
    with pytest.raises(NetworkError, match="expected \\(3, n_scenarios\\)"):
        threshold_step(ops.counts, X[:2], threshold=1)
    with pytest.raises(NetworkError, match="threshold has shape"):
        threshold_step(ops.counts, X, threshold=np.ones(4))
    with pytest.raises(NetworkError, match="probability"):
        run_contagion(ops, X, rule="simple", p=1.5, n_steps=3)
    with pytest.raises(NetworkError, match="unknown rule"):
        run_contagion(ops, X, rule="sir", n_steps=3)  # type: ignore[arg-type]
    with pytest.raises(NetworkError, match="needs n_scenarios"):
        run_contagion(ops, X[:, 0], rule="threshold", threshold=1, n_steps=3)


def test_analysis_helpers() -> None:
    G = caveman_with_bridges(4, 5, bridge_width=3, landing="shared")
    ops = GraphOperators.from_graph(G)
    codes, labels = team_codes(G, nodelist=ops.nodelist)
    assert labels == (0, 1, 2, 3)
    x0 = np.zeros((20, 2), dtype=bool)
    x0[:5, 0] = True  # team 0 adopts in scenario 0; nobody in scenario 1
    res = run_contagion(ops, x0, rule="threshold", threshold=2, n_steps=30)
    np.testing.assert_array_equal(adoption_share(res.final), [1.0, 0.0])
    np.testing.assert_array_equal(teams_reached(res.final, codes), [1.0, 0.0])
    t50 = time_to_share(res.counts, 20)
    assert t50[0] == np.argmax(res.counts[:, 0] >= 10)
    assert np.isnan(t50[1])
    S = np.array([[1.0, 0.0, 2.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(gini(S), [0.0, 0.0, 0.75])
    rng = np.random.default_rng(0)
    incomes = rng.random((50, 3))
    mad = np.abs(incomes[:, None, :] - incomes[None, :, :]).mean(axis=(0, 1))
    np.testing.assert_allclose(gini(incomes), mad / (2 * incomes.mean(axis=0)))
