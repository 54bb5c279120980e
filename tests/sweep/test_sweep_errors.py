"""Bad sweep specs: one located line each (file:line: sweep.key: what), exit code 2 in the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simdyn.cli import cli
from simdyn.errors import ScenarioError, SimdynError
from simdyn.sweep import load_sweep, run_sweep
from simdyn.sweep.analysis import analyze, load_results

BASE = """model = "blinker.toml"
[sweep.design]
kind = "montecarlo"
n = 8
[sweep.uncertainties.reset_rate]
range = [0.1, 0.5]
[sweep.outcomes.final_level]
variable = "level"
"""


def _write(data: Path, text: str) -> Path:
    path = data / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (
            "[sweep.uncertainties.reset_rate]",
            "[sweep.uncertainties.reset_rat]",
            5,
            "unknown constant 'reset_rat'",
        ),
        ("range = [0.1, 0.5]", "range = [0.1, 9]", 6, "outside the bounds [0, 5] of 'reset_rate'"),
        ("n = 8", "n = 0", 4, "the design is empty"),
        ('variable = "level"', 'variable = "levle"', 8, "unknown variable 'levle'"),
        ('kind = "montecarlo"', 'kind = "sobl"', 3, "unknown design 'sobl'"),
        ('kind = "montecarlo"', 'kind = "sobol"', 3, "at least two uncertainties"),
        ("range = [0.1, 0.5]", "range = [0.5, 0.1]", 6, "must be below high"),
        ("range = [0.1, 0.5]", "rang = [0.1, 0.5]", 6, "unknown key"),
        ('variable = "level"', 'variable = "growth"', 8, "unknown variable 'growth'"),
    ],
)
def test_bad_spec_is_located(data: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in BASE
    path = _write(data, BASE.replace(old, new))
    with pytest.raises(ScenarioError) as info:
        run_sweep(load_sweep(path), data / "out.zarr")
    text = str(info.value)
    assert text.startswith(f"{path}:{line}: sweep."), text
    assert message in text
    assert "\n" not in text
    assert not (data / "out.zarr").exists()


def test_no_uncertainties_and_no_levers_is_an_empty_design(data: Path) -> None:
    path = _write(data, 'model = "blinker.toml"\n[sweep.outcomes.x]\nvariable = "level"\n')
    with pytest.raises(ScenarioError, match="the design is empty: no uncertainties and no levers"):
        load_sweep(path)


def test_the_file_is_read_as_any_scenario_file_is(data: Path) -> None:
    folder = data / "folder.toml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_sweep(folder)
    binary = data / "binary.toml"
    binary.write_bytes(b'model = "blinker.toml"\n\0\n')
    with pytest.raises(ScenarioError) as info:
        load_sweep(binary)
    assert str(info.value).startswith(f"{binary}:2: the file contains a NUL byte")


def test_a_start_from_another_run_is_refused_at_its_line(data: Path) -> None:
    text = BASE.replace("[sweep.design]", 'start_from = { run = "base" }\n[sweep.design]', 1)
    path = _write(data, text)
    with pytest.raises(ScenarioError) as info:
        run_sweep(load_sweep(path), data / "o.zarr")
    assert str(info.value).startswith(f"{path}:2: start_from.run: a sweep cannot start from")


def test_scheduled_constant_points_to_the_policy(data: Path) -> None:
    text = BASE.replace("[sweep.uncertainties.reset_rate]", "[sweep.uncertainties.growth]")
    text = text.replace(
        "[sweep.design]",
        '[policies.p]\nkind = "step"\nparam = "growth"\nat = 2\nto = 3\n[sweep.design]',
    )
    with pytest.raises(ScenarioError, match="'growth' is scheduled by policy 'p'"):
        run_sweep(load_sweep(_write(data, text)), data / "o.zarr")


def test_design_too_large_for_the_disk(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Usage:
        free = 10_000

    def usage(path: Any) -> Usage:
        return Usage()

    monkeypatch.setattr(shutil, "disk_usage", usage)
    path = _write(data, BASE.replace("n = 8", "n = 5000"))
    with pytest.raises(ScenarioError, match="too large for the disk") as info:
        run_sweep(load_sweep(path), data / "big.zarr")
    assert str(info.value).startswith(f"{path}:4: sweep.design.n:")
    assert not (data / "big.zarr").exists()


def test_unsafe_targets_are_refused(data: Path) -> None:
    sw = load_sweep(_write(data, BASE))
    (data / "notes").mkdir()
    (data / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(SimdynError, match="not written by simdyn"):
        run_sweep(sw, data / "notes")
    assert (data / "notes" / "keep.txt").read_text() == "mine"
    run_sweep(sw, data / "s.zarr")
    with pytest.raises(SimdynError, match="--resume"):
        run_sweep(sw, data / "s.zarr")
    with pytest.raises(SimdynError, match="no sweep store to resume"):
        run_sweep(sw, data / "t.zarr", resume=True)
    other = load_sweep(data / "bad.toml", overrides={"sweep.design.n": 9})
    with pytest.raises(SimdynError, match="different sweep"):
        run_sweep(other, data / "s.zarr", resume=True)


def test_unknown_method_and_outcome(data: Path) -> None:
    run_sweep(load_sweep(_write(data, BASE)), data / "s.zarr")
    ds = load_results(data / "s.zarr")
    with pytest.raises(SimdynError, match=r"unknown analysis method 'sobl'.*did you mean 'sobol'"):
        analyze(ds, method="sobl")
    with pytest.raises(SimdynError, match="no outcome 'final'"):
        analyze(ds, outcome="final")
    with pytest.raises(SimdynError, match="Sobol indices need a sobol design"):
        analyze(ds, method="sobol")


def test_cli_errors_are_one_line_exit_2(data: Path) -> None:
    runner = CliRunner()
    bad = _write(data, BASE.replace("range = [0.1, 0.5]", "range = [0.1, 9]"))
    res = runner.invoke(cli, ["sweep", str(bad), "--out", str(data / "x.zarr")])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0
    assert f"{bad}:6: sweep.uncertainties.reset_rate.range" in res.output
    res = runner.invoke(cli, ["analyze", str(data / "nothing.zarr")])
    assert res.exit_code == 2
    assert "not a sweep store" in res.output
    good = _write(data, BASE)
    assert (
        runner.invoke(cli, ["sweep", str(good), "--out", str(data / "g.zarr"), "-q"]).exit_code == 0
    )
    res = runner.invoke(cli, ["analyze", str(data / "g.zarr"), "--method", "prm"])
    assert res.exit_code == 2
    assert "--method: unknown analysis method 'prm'" in res.output


def test_validate_checks_the_sweep_table(data: Path) -> None:
    runner = CliRunner()
    good = _write(data, BASE)
    res = runner.invoke(cli, ["validate", str(good)])
    assert res.exit_code == 0
    assert "sweep of 8 scenarios" in res.output
    bad = _write(data, BASE.replace("range = [0.1, 0.5]", "range = [0.1, 9]"))
    res = runner.invoke(cli, ["validate", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}:6: sweep.uncertainties.reset_rate.range" in res.output
