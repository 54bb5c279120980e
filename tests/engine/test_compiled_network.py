"""Network builtins in the compiled kernel give the numpy backend's numbers, on any graph.

The kernel gets the graph as data (its CSR arrays, degrees and team codes), so one kernel
serves every graph with the same number of nodes: a ring, a weighted small world, a graph with
an isolated node and one with uneven teams all run the kernel compiled for the first.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import xarray as xr

import simdyn
from simdyn.model.compile import to_ir
from simdyn.model.emit.numba import kernel_source
from simdyn.network import connected_caveman

sys.path.insert(0, str(Path(__file__).parent))
from closeness import assert_same_run

pytest.importorskip("numba")

N = 12  # nodes of every graph here
SCENARIOS = 300  # two blocks, the second partial

#: every network builtin: over the nodes, over nodes × kinds, nested, reading and feeding stocks
ALL_BUILTINS: dict[str, Any] = {
    "model": {"name": "network_builtins", "time_units": "day"},
    "time": {"start": 0, "stop": 4, "dt": 0.25, "save_per": 0.5},
    "dimensions": {"kind": ["a", "b"]},
    "constants": {
        "k": 0.3,
        "x0": {"dims": ["node"], "value": 0.5},
        "w": {"dims": ["kind"], "value": [1.0, 2.0]},
    },
    "stocks": {
        "x": {"dims": ["node"], "initial": "x0", "inflows": ["fx"]},
        "y": {"dims": ["node", "kind"], "initial": "x0 * w / 2", "inflows": ["fy"]},
        "p": {"dims": ["node"], "initial": "x0 / 2", "inflows": ["fp"], "non_negative": True},
    },
    "flows": {
        "fx": {
            "dims": ["node"],
            "equation": "k * (NEIGHBOR_MEAN(x) - x) + 0.05 * DIFFUSION_FLUX(x)"
            " + 0.02 * PEER_TRANSFER(x) - 0.01 * NEIGHBOR_SUM(x)"
            " + 0.01 * NEIGHBOR_COUNT(x > 0.5) + 0.001 * DEGREE() + 0.1 * (g - 0.2)",
        },
        "fy": {
            "dims": ["node", "kind"],
            "equation": "0.3 * (NEIGHBOR_MEAN(y) - y) + 0.1 * PEER_TRANSFER(y * w)"
            " + 0.05 * (r2 - 0.5)",
        },
        "fp": {"dims": ["node"], "equation": "(1 - p) * NEIGHBOR_MEAN(p) * r - 0.2 * p"},
    },
    "auxiliaries": {
        "g": "GINI(x)",
        "gy": {"dims": ["kind"], "equation": "GINI(y)"},
        "gneg": "GINI(x - 0.3)",  # NaN where a value is negative
        "gzero": "GINI(0 * x)",  # 0 where the values sum to 0
        "r": "TEAMS_REACHED(x, 0.3 + 0.4 * k)",
        "r2": {"dims": ["kind"], "equation": "TEAMS_REACHED(y, 0.5)"},
        "nested": {"dims": ["node"], "equation": "NEIGHBOR_MEAN(NEIGHBOR_SUM(x) * g) + DEGREE()"},
        "flux_total": "SUM(DIFFUSION_FLUX(x))",
    },
}


def _ring() -> nx.Graph:
    return nx.cycle_graph(N)


def _weighted_small_world() -> nx.Graph:
    G = nx.watts_strogatz_graph(N, 4, 0.3, seed=7)
    rng = np.random.default_rng(3)
    for a, b in G.edges:
        G.edges[a, b]["strength"] = float(rng.uniform(0.1, 2.0))
    return G


def _with_isolated_node() -> nx.Graph:
    G = nx.path_graph(N - 1)
    G.add_node(N - 1)  # no neighbours: NEIGHBOR_MEAN keeps its value, flux and transfer are 0
    return G


def _uneven_teams() -> nx.Graph:
    G = nx.relabel_nodes(nx.path_graph(N), {i: f"p{i}" for i in range(N)})
    G.add_edge("p0", "p7", strength=0.5)
    for i, team in enumerate([0] * 5 + [1] * 4 + [2] * 3):
        G.nodes[f"p{i}"]["team"] = f"team{team}"
    return G


GRAPHS = {
    "ring": _ring,
    "small_world": _weighted_small_world,
    "isolated": _with_isolated_node,
    "teams": _uneven_teams,
}


@pytest.fixture(scope="module")
def builtins_model() -> simdyn.Model:
    return simdyn.model_from_dict(ALL_BUILTINS)


def _params(n: int = SCENARIOS) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    return {
        "x0": rng.uniform(0.0, 1.0, (N, n)),
        "k": rng.uniform(0.0, 1.0, n),
    }


def _compare(model: simdyn.Model, method: str, **kw: Any) -> xr.Dataset:
    ref = simdyn.simulate(model, method=method, backend="numpy", **kw)
    got = simdyn.simulate(model, method=method, backend="compiled", **kw)
    assert got.attrs["backend"] == "compiled"
    assert set(got.data_vars) == set(ref.data_vars)
    for name, var in ref.data_vars.items():
        assert_same_run(got[name].values, var.values, rtol=1e-12, err_msg=name)
    return got


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_every_network_builtin_gives_the_numpy_numbers(
    builtins_model: simdyn.Model, graph: str, method: str
) -> None:
    got = _compare(builtins_model, method, network=GRAPHS[graph](), params=_params())
    assert got.sizes["scenario"] == SCENARIOS
    # the cases the rules single out do occur
    assert np.isnan(got.gneg.values).any()
    assert np.isfinite(got.gneg.values).any()
    assert (got.gzero.values == 0).all()
    if graph == "teams":  # three teams: shares 0, 1/3, 2/3 and 1 all occur
        shares = set(np.round(got.r.values.ravel() * 3).astype(int).tolist())
        assert shares >= {1, 2}


def test_one_scenario_and_one_block(builtins_model: simdyn.Model) -> None:
    # one scenario: numpy sums the nodes of a single column pairwise, the kernel in order
    _compare(builtins_model, "rk4", network=_weighted_small_world(), params=_params(1))


def test_every_graph_with_the_node_count_runs_one_kernel(builtins_model: simdyn.Model) -> None:
    numbers = list(range(N))
    names = [f"p{i}" for i in range(N)]
    first = builtins_model.kernel(numbers)
    other = builtins_model.kernel(names)
    assert other is not first  # compiled once per node list ...
    assert other.run is first.run  # ... the same machine code: nothing compiled again
    assert other.from_cache
    # the kernel holds no graph: the source is the same for graphs of any number of edges
    assert kernel_source(to_ir(builtins_model.spec, nodelist=names)) == first.source
    compiled = (len(first.run.signatures), len(first.run_serial.signatures))
    for graph in GRAPHS.values():
        simdyn.simulate(builtins_model, network=graph(), params=_params(3), backend="compiled")
        simdyn.simulate(builtins_model, network=graph(), params=_params(), backend="compiled")
    assert (len(first.run.signatures), len(first.run_serial.signatures)) == compiled
    ds = simdyn.simulate(builtins_model, network=_uneven_teams(), backend="compiled")
    assert ds.attrs["kernel_from_cache"] == 1


def test_a_network_of_another_size_is_refused(builtins_model: simdyn.Model) -> None:
    from simdyn.network import GraphOperators

    kernel = builtins_model.kernel(list(range(N)))
    with pytest.raises(simdyn.ScenarioError, match="built for 12 nodes, the network has 5"):
        kernel.graph_arrays(GraphOperators.from_graph(nx.path_graph(5)))
    with pytest.raises(simdyn.ScenarioError, match="calls network builtins"):
        kernel.graph_arrays(None)


def test_compiled_adaptive_methods_refuse_network_builtins(builtins_model: simdyn.Model) -> None:
    with pytest.raises(simdyn.ScenarioError, match="dopri5 does not run network builtins") as err:
        simdyn.simulate(builtins_model, network=_ring(), method="dopri5", backend="compiled")
    assert 'backend="numpy"' in str(err.value)
    ds = simdyn.simulate(builtins_model, network=_ring(), method="dopri5", stop=2)
    assert ds.attrs["backend"] == "numpy"  # auto: numpy runs them


def test_other_extension_functions_are_still_refused() -> None:
    m = simdyn.model_from_dict(
        {
            "model": {"name": "noisy", "time_units": "day"},
            "stocks": {"s": {"initial": "1", "inflows": ["g"]}},
            "flows": {"g": {"equation": "NORMAL(0, 1)"}},
        }
    )
    with pytest.raises(simdyn.ScenarioError, match="extension function NORMAL") as err:
        simdyn.simulate(m, backend="compiled")
    assert 'backend="numpy"' in str(err.value)


# -- learning_org_network ------------------------------------------------------------------------

#: learning_org_network without its random replacement event (which never fires at
#: stochastic_turnover = 0): the mean-field reading of turnover
MEAN_FIELD: dict[str, Any] = {
    "model": {
        "name": "learning_org_network_mean_field",
        "extends": "learning_org_network",
        "remove": ["replacement"],
    }
}
STYLES = ["directive", "facilitative", "transactional"]
MIX = [0.2, 0.5, 0.1, 0.1, 0.1, 0.0]  # a workshop-led programme


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_learning_org_network_mean_field_gives_the_numpy_numbers(method: str) -> None:
    G = connected_caveman(3, 4)  # 12 positions in three teams
    mean_field = simdyn.model_from_dict(MEAN_FIELD)
    kw: dict[str, Any] = {
        "network": G,
        "presets": {"style": STYLES},
        "params": {
            "stochastic_turnover": 0,
            "practice_seed_rate": [0.002, 0.004, 0.02],
            "intervention_mix": MIX,
            "node_skill_offset": np.linspace(-0.3, 0.3, 12)[:, None],
        },
        "stop": 24,
        "method": method,
    }
    got = _compare(mean_field, **kw)
    # the same numbers as the full model, whose event never fires at stochastic_turnover = 0
    full = simdyn.simulate("learning_org_network", backend="numpy", **kw)
    for name in ("node_skill", "skill_inequality", "teams_reached", "output", "average_skill"):
        assert_same_run(got[name].values, full[name].values, rtol=1e-12, err_msg=name)
    assert 0 < float(got.skill_inequality.max()) < 1
    assert float(got.teams_reached.max()) > 0


def test_learning_org_network_with_random_replacement_gives_the_numpy_numbers() -> None:
    # the whole model: network builtins and its random replacement event in one kernel
    kw: dict[str, Any] = {
        "network": connected_caveman(3, 4),
        "presets": {"style": STYLES},
        "params": {"stochastic_turnover": [1.0, 0.5, 1.0], "intervention_mix": MIX},
        "stop": 24,
        "method": "rk4",
        "seed": 7,
    }
    got = simdyn.simulate("learning_org_network", backend="compiled", **kw)
    ref = simdyn.simulate("learning_org_network", backend="numpy", **kw)
    assert got.attrs["backend"] == "compiled"
    for name in ("node_skill", "node_practice", "skill_inequality", "teams_reached", "output"):
        assert_same_run(got[name].values, ref[name].values, rtol=1e-12, err_msg=name)
    np.testing.assert_array_equal(got.status.values, ref.status.values)
    # the replacements made positions unequal: the events fired
    assert float(got.skill_inequality.isel(time=-1).min()) > 0.01


def test_compiled_complete_graph_of_equal_people_reproduces_the_aggregate_model() -> None:
    agg = simdyn.simulate(
        "learning_org",
        presets={"style": STYLES},
        params={"intervention_mix": MIX},
        stop=36,
        method="rk4",
        backend="numpy",
    )
    net = simdyn.simulate(
        simdyn.model_from_dict(MEAN_FIELD),
        network=nx.complete_graph(N),
        presets={"style": STYLES},
        params={"intervention_mix": MIX, "stochastic_turnover": 0, "practice_routine_gain": 0},
        stop=36,
        method="rk4",
        save_per=agg.attrs["save_per"],
        backend="compiled",
    )
    for var in ("average_skill", "output", "engagement", "headcount", "routines"):
        np.testing.assert_allclose(net[var].values, agg[var].values, rtol=1e-9, err_msg=var)
    assert float(net.skill_inequality.max()) < 1e-9


def test_auto_keeps_numpy_for_network_models(builtins_model: simdyn.Model) -> None:
    from simdyn.network import GraphOperators
    from simdyn.simulate import _choose_backend

    ops = GraphOperators.from_graph(_ring())
    builtins_model.kernel(list(ops.nodelist))  # on disk: auto would take it for another model
    assert _choose_backend("auto", builtins_model, ops, "rk4", 10**12) is None
    assert _choose_backend("compiled", builtins_model, ops, "rk4", 1) is not None
