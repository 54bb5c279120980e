"""Network builtins of the equation language against hand-computed values."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import simdyn


def one_step(equation: str, graph: nx.Graph, x: list[float]) -> np.ndarray:
    m = simdyn.model_from_dict(
        {
            "model": {"name": "net", "time_units": "day"},
            "time": {"start": 0, "stop": 1, "dt": 1},
            "constants": {"x0": {"dims": ["node"], "value": 0}},
            "auxiliaries": {"y": {"dims": ["node"], "equation": equation}},
        }
    )
    ds = simdyn.simulate(m, network=graph, params={"x0": np.array(x)}, method="euler")
    return ds.y.isel(time=0, scenario=0).values


PATH = nx.path_graph(3)  # 0 - 1 - 2


@pytest.mark.parametrize(
    ("equation", "expected"),
    [
        ("NEIGHBOR_MEAN(x0)", [2.0, 2.0, 2.0]),  # node 1: (1 + 3) / 2
        ("NEIGHBOR_SUM(x0)", [2.0, 4.0, 2.0]),
        ("NEIGHBOR_COUNT(x0 > 1)", [1.0, 1.0, 1.0]),
        ("DIFFUSION_FLUX(x0)", [1.0, 0.0, -1.0]),  # sum of (x_j - x_i) over neighbours
        ("PEER_TRANSFER(x0)", [1.0, 1.0, 0.0]),  # sum of max(x_j - x_i, 0)
        ("DEGREE() + 0 * x0", [1.0, 2.0, 1.0]),
    ],
)
def test_network_builtin(equation: str, expected: list[float]) -> None:
    np.testing.assert_allclose(one_step(equation, PATH, [1.0, 2.0, 3.0]), expected)


def two_teams() -> nx.Graph:
    """A path 0 - 1 - 2 - 3: nodes 0, 1 in team a, nodes 2, 3 in team b."""
    G = nx.path_graph(4)
    nx.set_node_attributes(G, {0: "a", 1: "a", 2: "b", 3: "b"}, "team")
    return G


def test_gini_and_teams_reached() -> None:
    G = two_teams()
    m = simdyn.model_from_dict(
        {
            "model": {"name": "net", "time_units": "day"},
            "time": {"start": 0, "stop": 1, "dt": 1},
            "constants": {"x0": {"dims": ["node"], "value": 0}},
            "auxiliaries": {"g": "GINI(x0)", "r": "TEAMS_REACHED(x0, 0.5)"},
        }
    )
    ds = simdyn.simulate(
        m, network=G, params={"x0": np.array([1.0, 0.0, 0.0, 0.0])}, method="euler"
    )
    assert float(ds.g[0, 0]) == pytest.approx(0.75)
    assert float(ds.r[0, 0]) == pytest.approx(0.5)  # team a: mean 0.5 reached; team b: 0
    # without team attributes the whole graph is one team (mean 0.25 < 0.5)
    ds = simdyn.simulate(m, network=nx.path_graph(4), params={"x0": np.array([1.0, 0, 0, 0])})
    assert float(ds.r[0, 0]) == 0.0


def test_teams_reached_with_a_level_per_element_of_a_dimension() -> None:
    G = two_teams()
    m = simdyn.model_from_dict(
        {
            "model": {"name": "net", "time_units": "day"},
            "time": {"start": 0, "stop": 1, "dt": 1},
            "dimensions": {"bar": ["low", "high"]},
            "constants": {
                "x0": {"dims": ["node"], "value": 0},
                "level": {"dims": ["bar"], "value": [0.1, 0.4]},
            },
            "auxiliaries": {"r": {"dims": ["bar"], "equation": "TEAMS_REACHED(x0, level)"}},
        }
    )
    x0 = np.array([1.0, 0.0, 0.3, 0.0])  # team means: a 0.5, b 0.15
    for n in (1, 3):
        ds = simdyn.simulate(m, network=G, params={"x0": x0[:, None] * np.ones(n)})
        expected = np.array([[1.0] * n, [0.5] * n])  # low: both teams; high: team a
        np.testing.assert_array_equal(ds.r.isel(time=0).values, expected)


def test_network_builtin_needs_a_node_argument() -> None:
    m = simdyn.model_from_dict(
        {
            "model": {"name": "net", "time_units": "day"},
            "constants": {"k": 1.0, "x0": {"dims": ["node"], "value": 0}},
            "auxiliaries": {"y": "NEIGHBOR_MEAN(k)", "z": {"dims": ["node"], "equation": "x0"}},
        }
    )
    with pytest.raises(simdyn.ExpressionError, match="node-level argument"):
        simdyn.simulate(m, network=PATH)
