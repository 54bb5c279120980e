"""Scenarios in network mode: the [network] table, graph files, node attributes, errors."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from simdyn.errors import NetworkError, ScenarioError
from simdyn.network import org_graph, write_edgelist_csv
from simdyn.report import write_run
from simdyn.scenario import run_scenario, validate_scenario

HEAD = """\
model = "learning_org_network"
seed = 3
[time]
stop = 6
dt = 0.25
save_per = 1
"""


def scenario(tmp_path: Path, text: str, name: str = "net.toml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + text)
    return path


def test_generated_graph_runs_and_is_reported(tmp_path: Path) -> None:
    path = scenario(tmp_path, "[network]\nn_teams = 4\nbridge_width = 2\n")
    result = run_scenario(path)
    (run,) = result.runs
    assert run.graph is not None
    assert run.dataset.sizes["node"] == run.graph.number_of_nodes()
    assert list(run.dataset.node.values) == list(run.graph)
    out = tmp_path / "out"
    write_run(result, out)
    assert (out / "network.png").stat().st_size > 0
    assert "The org graph at time 6" in (out / "report.html").read_text()


def test_graph_file_with_node_attributes(tmp_path: Path) -> None:
    G = org_graph(3, seed=1)
    for k, v in enumerate(G):
        G.nodes[v]["skill"] = 0.1 * (k % 3) - 0.1
    write_edgelist_csv(G, tmp_path / "org.csv", nodes_path=tmp_path / "people.csv")
    text = '[network]\nfile = "org.csv"\nnodes = "people.csv"\nnode_params = { node_skill_offset = "skill" }\n'
    result = run_scenario(scenario(tmp_path, text))
    ds = result.runs[0].dataset
    base = float(ds.average_skill.isel(time=0, scenario=0)) - np.mean(
        [0.1 * (k % 3) - 0.1 for k in range(G.number_of_nodes())]
    )
    start = ds.node_skill.isel(time=0, scenario=0).values
    expected = np.clip(base + np.array([0.1 * (k % 3) - 0.1 for k in range(len(start))]), 0, 1)
    np.testing.assert_allclose(start, expected, atol=1e-12)
    assert ds.sizes["node"] == G.number_of_nodes()


def test_graphml_file(tmp_path: Path) -> None:
    G = nx.connected_caveman_graph(3, 5)
    nx.write_graphml(G, tmp_path / "org.graphml")
    result = run_scenario(scenario(tmp_path, '[network]\nfile = "org.graphml"\n'))
    assert result.runs[0].dataset.sizes["node"] == 15


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[network]\nn_team = 4\n", "did you mean 'n_teams'"),
        ('[network]\nfile = "org.csv"\nn_teams = 4\n', "cannot be combined"),
        ('[network]\nnodes = "people.csv"\n', "'nodes' needs 'file'"),
        ("[network]\nn_teams = 0\n", "n_teams"),
        ("", "needs an org graph"),
    ],
)
def test_network_mistakes_are_located(tmp_path: Path, text: str, message: str) -> None:
    path = scenario(tmp_path, text)
    with pytest.raises(ScenarioError, match=message) as info:
        run_scenario(path)
    assert str(path) in str(info.value)


def test_missing_node_attribute(tmp_path: Path) -> None:
    write_edgelist_csv(org_graph(2, seed=0), tmp_path / "org.csv")
    text = '[network]\nfile = "org.csv"\nnode_params = { node_skill_offset = "skill" }\n'
    with pytest.raises(ScenarioError, match="no numeric attribute 'skill'"):
        run_scenario(scenario(tmp_path, text))


def test_missing_graph_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"missing\.csv"):
        run_scenario(scenario(tmp_path, '[network]\nfile = "missing.csv"\n'))


def test_network_table_for_an_aggregate_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "agg.toml"
    path.write_text('model = "learning_org"\n[network]\nn_teams = 3\n')
    with pytest.raises(ScenarioError, match="network mode is not available"):
        validate_scenario(path)
