"""Property tests: operators and kernels against the slow reference implementations."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdyn.network import (
    GraphOperators,
    friedkin_johnsen_step,
    knowledge_transfer_rate,
    laplacian_flux,
    neighbour_mean,
    run_contagion,
    simple_contagion_step,
    threshold_step,
)
from simdyn.network import _reference as ref
from simdyn.network.kernels import scenario_generators

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def graphs(draw: st.DrawFn, max_nodes: int = 10) -> nx.Graph[Any]:
    n = draw(st.integers(1, max_nodes))
    pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True) if pairs else st.just([]))
    G: nx.Graph[Any] = nx.Graph()
    G.add_nodes_from(range(n))
    for u, v in chosen:
        # zero ties are an edge case worth keeping; strengths near the float minimum are not (the
        # loop reference, which multiplies before dividing, loses them to underflow)
        w = draw(st.one_of(st.just(0.0), st.floats(1e-6, 3.0)))
        G.add_edge(u, v, strength=w)
    return G


def states(G: nx.Graph[Any], draw: st.DrawFn, m: int) -> np.ndarray[Any, Any]:
    n = G.number_of_nodes()
    values = draw(st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=n * m, max_size=n * m))
    return np.array(values, dtype=np.float64).reshape(n, m)


def bool_states(G: nx.Graph[Any], draw: st.DrawFn, m: int) -> np.ndarray[Any, Any]:
    n = G.number_of_nodes()
    values = draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))
    return np.array(values, dtype=bool).reshape(n, m)


@SETTINGS
@given(data=st.data())
def test_operators_equal_edge_loops(data: st.DataObject) -> None:
    G = data.draw(graphs())
    order = list(G.nodes)
    ops = GraphOperators.from_graph(G)
    np.testing.assert_allclose(ops.adjacency.toarray(), ref.adjacency_ref(G, order, "strength"))
    np.testing.assert_allclose(ops.averaging.toarray(), ref.averaging_ref(G, order, "strength"))
    np.testing.assert_allclose(ops.flux.toarray(), ref.flux_ref(G, order, "strength"))
    np.testing.assert_array_equal(ops.counts.toarray(), ref.adjacency_ref(G, order, None))


@SETTINGS
@given(data=st.data(), m=st.integers(1, 3))
def test_laplacian_flux_conserves_total(data: st.DataObject, m: int) -> None:
    G = data.draw(graphs())
    X = states(G, data.draw, m)
    ops = GraphOperators.from_graph(G)
    dX = laplacian_flux(ops.flux, X, rate=0.7)
    np.testing.assert_allclose(dX.sum(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(
        dX, ref.laplacian_flux_ref(G, list(G), X, "strength", 0.7), atol=1e-12
    )
    # an explicit Euler step conserves each scenario's total
    np.testing.assert_allclose((X + 0.01 * dX).sum(axis=0), X.sum(axis=0), atol=1e-9)


@SETTINGS
@given(data=st.data(), m=st.integers(1, 3))
def test_averaging_stays_within_inputs(data: st.DataObject, m: int) -> None:
    G = data.draw(graphs())
    X = states(G, data.draw, m)
    ops = GraphOperators.from_graph(G)
    Y = neighbour_mean(ops.averaging, X)
    assert np.all(X.min(axis=0) - 1e-12 <= Y)
    assert np.all(X.max(axis=0) + 1e-12 >= Y)
    np.testing.assert_allclose(Y, ref.neighbour_mean_ref(G, list(G), X, "strength"), atol=1e-12)


@SETTINGS
@given(data=st.data(), m=st.integers(1, 3), lam=st.floats(0.0, 1.0))
def test_friedkin_johnsen_matches_reference(data: st.DataObject, m: int, lam: float) -> None:
    G = data.draw(graphs())
    X = states(G, data.draw, m)
    X0 = states(G, data.draw, m)
    ops = GraphOperators.from_graph(G)
    got = friedkin_johnsen_step(ops.averaging, X, X0, susceptibility=lam)
    want = ref.friedkin_johnsen_step_ref(G, list(G), X, X0, lam, "strength")
    np.testing.assert_allclose(got, want, atol=1e-12)


@SETTINGS
@given(data=st.data(), m=st.integers(1, 3), kappa=st.floats(0.0, 2.0))
def test_knowledge_transfer_matches_reference(data: st.DataObject, m: int, kappa: float) -> None:
    G = data.draw(graphs())
    S = states(G, data.draw, m)
    ops = GraphOperators.from_graph(G)
    got = knowledge_transfer_rate(ops.adjacency, S, kappa=kappa)
    np.testing.assert_allclose(
        got, ref.knowledge_transfer_rate_ref(G, list(G), S, kappa, "strength"), atol=1e-12
    )
    assert np.all(got >= 0)
    # the best-skilled node of each scenario learns nothing
    best = S.argmax(axis=0)
    np.testing.assert_array_equal(got[best, np.arange(m)], 0.0)


@SETTINGS
@given(
    data=st.data(),
    m=st.integers(1, 4),
    theta=st.sampled_from([0, 1, 2, 3, 0.2, 0.34, 0.5, 2 / 3, 1.0]),
    noise=st.sampled_from([None, 0.3, [0.1, 0.4]]),
    seed=st.integers(0, 2**32),
)
def test_threshold_step_matches_reference(
    data: st.DataObject, m: int, theta: float, noise: Any, seed: int
) -> None:
    G = data.draw(graphs())
    X = bool_states(G, data.draw, m)
    ops = GraphOperators.from_graph(G)
    fractional = isinstance(theta, float) and theta <= 1
    degree = ops.degree if fractional else None
    got = threshold_step(
        ops.counts, X, threshold=theta, degree=degree, below_threshold=noise, seed=seed
    )
    want = ref.threshold_step_ref(
        G,
        list(G),
        X,
        threshold=theta,
        fractional=fractional,
        below_threshold=noise,
        gens=scenario_generators(seed, m),
    )
    np.testing.assert_array_equal(got, want)


@SETTINGS
@given(data=st.data(), m=st.integers(1, 4), p=st.floats(0.0, 1.0), seed=st.integers(0, 2**32))
def test_simple_contagion_step_matches_reference(
    data: st.DataObject, m: int, p: float, seed: int
) -> None:
    G = data.draw(graphs())
    X = bool_states(G, data.draw, m)
    active = X & bool_states(G, data.draw, m)
    ops = GraphOperators.from_graph(G)
    got = simple_contagion_step(ops.counts, X, p=p, active=active, seed=seed)
    want = ref.simple_contagion_step_ref(
        G, list(G), X, p=p, active=active, gens=scenario_generators(seed, m)
    )
    np.testing.assert_array_equal(got, want)


@SETTINGS
@given(data=st.data(), m=st.integers(1, 3), seed=st.integers(0, 2**32))
def test_per_edge_probabilities_match_reference(data: st.DataObject, m: int, seed: int) -> None:
    G = data.draw(graphs())
    for u, v in G.edges:
        G.edges[u, v]["p"] = data.draw(st.sampled_from([0.0, 0.25, 0.9, 1.0]))
    X = bool_states(G, data.draw, m)
    from simdyn.network import adjacency_matrix

    P = adjacency_matrix(G, weight="p")
    ops = GraphOperators.from_graph(G)
    got = simple_contagion_step(ops.counts, X, p=P, seed=seed)
    want = ref.simple_contagion_step_ref(
        G, list(G), X, p=None, p_attr="p", gens=scenario_generators(seed, m)
    )
    np.testing.assert_array_equal(got, want)


@SETTINGS
@given(
    data=st.data(),
    rule=st.sampled_from(["threshold", "noisy", "simple", "cascade"]),
    seed=st.integers(0, 2**32),
)
def test_run_contagion_matches_reference(data: st.DataObject, rule: str, seed: int) -> None:
    G = data.draw(graphs())
    m = 3
    x0 = bool_states(G, data.draw, m)
    kwargs: dict[str, Any] = {}
    if rule in ("threshold", "noisy"):
        kwargs = {"threshold": 2, "below_threshold": 0.2 if rule == "noisy" else None}
        rule_name = "threshold"
    else:
        kwargs = {"p": 0.3}
        rule_name = rule
    res = run_contagion(G, x0, rule=rule_name, n_steps=8, seed=seed, **kwargs)  # type: ignore[arg-type]
    counts, adopted_at = ref.run_contagion_ref(
        G, list(G), x0, rule=rule_name, n_steps=8, seed=seed, **kwargs
    )
    np.testing.assert_array_equal(res.counts, counts)
    np.testing.assert_array_equal(res.adopted_at, adopted_at)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_results_invariant_under_relabelling(data: st.DataObject, seed: int) -> None:
    G = data.draw(graphs())
    n = G.number_of_nodes()
    perm = data.draw(st.permutations(range(n)))
    mapping = {v: f"node-{perm[v]}" for v in G}
    H = nx.relabel_nodes(G, mapping)
    nodelist_h = [mapping[v] for v in G]  # same row order as G's
    # H's own node order differs; operators in the matching order give identical matrices
    ops_g = GraphOperators.from_graph(G)
    ops_h = GraphOperators.from_graph(H, nodelist=nodelist_h)
    for name in ("adjacency", "averaging", "flux", "counts"):
        np.testing.assert_array_equal(
            getattr(ops_g, name).toarray(), getattr(ops_h, name).toarray()
        )
    X = states(G, data.draw, 2)
    S_g = knowledge_transfer_rate(ops_g.adjacency, X)
    S_h = knowledge_transfer_rate(ops_h.adjacency, X)
    np.testing.assert_allclose(S_g, S_h)
    x0 = bool_states(G, data.draw, 2)
    r_g = run_contagion(ops_g, x0, rule="simple", p=0.4, n_steps=5, seed=seed)
    r_h = run_contagion(ops_h, x0, rule="simple", p=0.4, n_steps=5, seed=seed)
    np.testing.assert_array_equal(r_g.adopted_at, r_h.adopted_at)
    # and H in its own node order: the same dynamics, rows permuted
    ops_own = GraphOperators.from_graph(H)
    rows = [ops_own.index(mapping[v]) for v in G]
    r_own = run_contagion(ops_own, x0[np.argsort(rows)], rule="threshold", threshold=1, n_steps=5)
    r_ref = run_contagion(ops_g, x0, rule="threshold", threshold=1, n_steps=5)
    np.testing.assert_array_equal(r_own.adopted_at[rows], r_ref.adopted_at)


@pytest.mark.parametrize(
    ("rule", "kwargs"),
    [
        ("threshold", {"threshold": 2, "below_threshold": 0.05}),
        ("simple", {"p": 0.2}),
        ("cascade", {"p": 0.3}),
    ],
)
def test_scenario_result_independent_of_batch(rule: Any, kwargs: dict[str, Any]) -> None:
    G = nx.watts_strogatz_graph(200, 6, 0.1, seed=3)
    x0 = np.zeros((200, 40), dtype=bool)
    x0[np.arange(40) * 5, np.arange(40)] = True
    x0[np.arange(40) * 5 + 1, np.arange(40)] = True
    batch = run_contagion(G, x0, rule=rule, n_steps=40, seed=11, **kwargs)
    gens = scenario_generators(11, 40)
    for k in (0, 7, 39):
        alone = run_contagion(G, x0[:, k : k + 1], rule=rule, n_steps=40, seed=[gens[k]], **kwargs)
        np.testing.assert_array_equal(alone.adopted_at[:, 0], batch.adopted_at[:, k])
    # the first k columns of a batch do not depend on columns after them
    head = run_contagion(G, x0[:, :10], rule=rule, n_steps=40, seed=11, **kwargs)
    np.testing.assert_array_equal(head.adopted_at, batch.adopted_at[:, :10])
    # and stochastic columns really differ from each other
    assert len({tuple(batch.counts[:, k]) for k in range(40)}) > 1
