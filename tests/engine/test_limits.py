"""Limits fail fast, before work starts: memory budget, steps, DELAYN order, graph size, files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner

import simdyn
from simdyn._files import read_input_bytes
from simdyn._limits import memory_budget, parse_bytes, resolve_budget
from simdyn.cli import cli
from simdyn.errors import ModelError, NetworkError, ScenarioError, SimdynError
from simdyn.network import GraphOperators, org_graph, read_edgelist_csv, read_graphml
from simdyn.scenario import load_scenario


def test_a_run_that_does_not_fit_is_refused_at_once() -> None:
    began = time.perf_counter()
    with pytest.raises(
        ScenarioError, match=r"needs about [\d.]+ GiB, more than the memory budget of 1 GiB"
    ):
        simdyn.simulate(
            "teacup",
            params={"characteristic_time": np.full(200_000, 5.0)},
            method="euler",
            stop=100,
            dt=0.125,
            max_memory="1G",
        )
    assert time.perf_counter() - began < 5


def test_a_run_near_the_budget_warns_and_runs() -> None:
    with pytest.warns(UserWarning, match="more than half the memory budget"):
        ds = simdyn.simulate("teacup", method="euler", stop=10, dt=1, save_per=1, max_memory=300)
    assert ds.sizes["time"] == 11


def test_the_cli_budget_reaches_every_run(mini_scenario: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(mini_scenario), "--out", str(tmp_path / "o"), "--max-memory", "1K"]
    )
    assert result.exit_code == 2
    assert "more than the memory budget of 1 KiB" in result.stderr
    assert not (tmp_path / "o").exists()
    result = CliRunner().invoke(cli, ["run", str(mini_scenario), "--max-memory", "much"])
    assert result.exit_code == 2
    assert "'much' is not a memory size" in result.stderr


def test_budget_sizes_and_default() -> None:
    assert parse_bytes("1.5K") == 1536
    assert parse_bytes("3GB") == 3 * 2**30
    with pytest.raises(ScenarioError, match="positive"):
        parse_bytes("-1G")
    with memory_budget("2M"):
        assert resolve_budget(None) == 2 * 2**20
        assert resolve_budget(100) == 100
    default = resolve_budget(None)
    assert default is None or default > 2**20  # what the machine has available


def test_too_many_steps_is_refused_without_allocating() -> None:
    with pytest.raises(ScenarioError, match=r"is 1e\+08 steps, too many"):
        simdyn.simulate("teacup", stop=1e8, dt=1.0, method="euler")


def test_delayn_order_is_limited(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        '[model]\nname = "d"\ntime_units = "month"\n[time]\nstop = 2\n'
        '[auxiliaries.x]\nequation = "DELAYN(1, 3, 100000)"\n'
    )
    began = time.perf_counter()
    with pytest.raises(SimdynError, match="DELAYN of order 100,000 is too high") as info:
        simdyn.load_model(path).check()
    assert info.value.line == 7
    assert time.perf_counter() - began < 5


def test_graph_size_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NetworkError, match="more than 1e\\+06 nodes"):
        org_graph(10**8)
    monkeypatch.setattr("simdyn.network.operators.MAX_NODES", 3)
    with pytest.raises(NetworkError, match="the graph has 4 nodes; simdyn simulates at most 3"):
        GraphOperators.from_graph(nx.path_graph(4))


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "fifo", "dir"])
def test_non_regular_files_are_refused_for_every_input(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        path = tmp_path / "p"
        os.mkfifo(path)
    elif special == "dir":
        path = tmp_path / "d.toml"
        path.mkdir()
    else:
        path = Path(special)
    pattern = "not a regular file"
    with pytest.raises(ModelError, match=pattern):
        simdyn.load_model(path)
    with pytest.raises(ScenarioError, match=pattern):
        load_scenario(path)
    with pytest.raises(NetworkError, match=pattern):
        read_graphml(path)
    with pytest.raises(NetworkError, match=pattern):
        read_edgelist_csv(path)
    edges = tmp_path / "e.csv"
    edges.write_text("source,target\na,b\n")
    with pytest.raises(NetworkError, match=pattern):
        read_edgelist_csv(edges, nodes_path=path)
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'model = "{path}"\n')
    result = CliRunner().invoke(cli, ["validate", str(scenario)])
    assert result.exit_code == 2
    assert pattern in result.stderr


def test_file_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 5000)
    with pytest.raises(SimdynError, match="simdyn reads at most"):
        read_input_bytes(big, max_bytes=4096)
    assert read_input_bytes(big, max_bytes=5000) == b"#" * 5000
