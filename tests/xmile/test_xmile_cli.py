"""``simdyn simulate`` and ``simdyn export`` on XMILE and TOML model files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from conformance_run import HERE

from simdyn.cli import cli

TEACUP = HERE / "cases" / "samples" / "teacup" / "teacup.xmile"


def test_simulate_xmile_writes_time_first_and_original_names(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(cli, ["simulate", str(TEACUP), "--csv", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert frame.columns[0] == "Time"
    assert "Teacup Temperature" in frame.columns
    assert "TIME STEP" in frame.columns
    assert frame["Time"].iloc[-1] == 30.0
    assert frame["Teacup Temperature"].iloc[0] == 180.0


def test_simulate_set_method_scenarios_and_out_folder(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    args = ["simulate", str(TEACUP), "--csv", str(out), "--method", "rk4"]
    res = CliRunner().invoke(cli, [*args, "--set", "characteristic time=5,20"])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert list(frame.columns[:2]) == ["Time", "scenario"]
    last = frame.groupby("scenario")["Teacup Temperature"].last()
    assert last[0] < last[1]
    res = CliRunner().invoke(cli, ["simulate", "teacup", "--out", str(tmp_path / "run"), "--scenarios", "3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "results.nc").is_file()
    assert pd.read_csv(tmp_path / "run" / "timeseries.csv")["scenario"].nunique() == 3


def test_simulate_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xmile"
    bad.write_text("<xmile><model><variables><aux name='a'><eqn>b</eqn></aux></variables></model></xmile>")  # fmt: skip
    res = CliRunner().invoke(cli, ["simulate", str(bad), "--csv", str(tmp_path / "x.csv")])
    assert res.exit_code == 2
    assert "bad.xmile" in res.output
    assert "sim_specs" in res.output
    res = CliRunner().invoke(cli, ["simulate", str(TEACUP), "--set", "nope=1"])
    assert res.exit_code == 2
    assert "not a constant" in res.output
    assert not (tmp_path / "x.csv").exists()


def test_export_learning_org_and_run_it(tmp_path: Path) -> None:
    target = tmp_path / "lo.xmile"
    res = CliRunner().invoke(cli, ["export", "learning_org", "--xmile", str(target), "--preset", "style=facilitative"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert target.read_text().startswith("<?xml")
    res = CliRunner().invoke(cli, ["simulate", str(target), "--csv", str(tmp_path / "lo.csv")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["export", "learning_org_network", "--xmile", str(tmp_path / "n.xmile")])  # fmt: skip
    assert res.exit_code == 2
    assert "node" in res.output
