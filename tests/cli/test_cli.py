"""The CLI parses, merges overrides and calls one library function; tests check those calls."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner

import simdyn
from simdyn.cli import cli, main
from simdyn.errors import ScenarioError
from simdyn.scenario import DEFAULT_SCENARIO


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_run_passes_scenario_overrides_and_out(runner: CliRunner, tmp_path: Path) -> None:
    with mock.patch("simdyn.report.report_scenarios", return_value=tmp_path / "r.html") as call:
        result = runner.invoke(
            cli,
            ["run", "s.toml", "--out", str(tmp_path), "--set", "demand=1.2", "--set",
             "time.stop=24", "--method", "rk2", "--variant", "facil"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    call.assert_called_once()
    args, kwargs = call.call_args
    assert args == ([Path("s.toml")],)
    assert kwargs["out"] == str(tmp_path)
    assert kwargs["overrides"] == {
        "params.demand": 1.2,
        "time.stop": 24,
        "time.method": "rk2",
    }
    assert kwargs["variants"] == ["facil"]
    assert f"report: {tmp_path / 'r.html'}" in result.output


def test_method_wins_over_set(runner: CliRunner) -> None:
    with mock.patch("simdyn.report.report_scenarios", return_value=Path("x")) as call:
        runner.invoke(cli, ["run", "s.toml", "--set", "method=euler", "--method", "rk4"])
    assert call.call_args.kwargs["overrides"] == {"time.method": "rk4"}


def test_run_without_scenario_uses_the_packaged_default(runner: CliRunner) -> None:
    with mock.patch("simdyn.report.report_scenarios", return_value=Path("x")) as call:
        result = runner.invoke(cli, ["run"])
    assert result.exit_code == 0
    assert call.call_args.args == ([DEFAULT_SCENARIO],)
    assert call.call_args.kwargs["out"] == str(Path("runs") / "default")
    assert call.call_args.kwargs["variants"] is None


def test_compare_passes_every_file(runner: CliRunner) -> None:
    with mock.patch("simdyn.report.report_scenarios", return_value=Path("x")) as call:
        result = runner.invoke(cli, ["compare", "a.toml", "b.toml", "--out", "o", "-q"])
    assert result.exit_code == 0
    assert result.output == ""
    assert call.call_args.args == ([Path("a.toml"), Path("b.toml")],)
    assert call.call_args.kwargs["out"] == "o"


def test_library_error_is_one_line_and_exit_2(runner: CliRunner) -> None:
    error = ScenarioError(
        "unknown key", file="s.toml", line=3, where="time.stpo", hint="did you mean 'stop'?"
    )
    with mock.patch("simdyn.report.report_scenarios", side_effect=error):
        result = runner.invoke(cli, ["run", "s.toml"])
    assert result.exit_code == 2
    assert result.stderr == "s.toml:3: time.stpo: unknown key (did you mean 'stop'?)\n"


def test_validate_calls_once_per_file_and_reports_all(runner: CliRunner) -> None:
    error = ScenarioError("bad", file="b.toml", line=1)
    with mock.patch(
        "simdyn.scenario.validate_scenario", side_effect=[mock.Mock(variants={}), error]
    ) as call:
        result = runner.invoke(cli, ["validate", "a.toml", "b.toml", "--set", "seed=2"])
    assert result.exit_code == 2
    assert [c.args for c in call.call_args_list] == [(Path("a.toml"),), (Path("b.toml"),)]
    assert call.call_args.kwargs == {"overrides": {"seed": 2}}
    assert "ok: a.toml" in result.stdout
    assert result.stderr == "b.toml:1: bad\n"


def test_bad_set_syntax(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "s.toml", "--set", "novalue"])
    assert result.exit_code == 2
    assert result.stderr.startswith("--set: 'novalue' is not key=value")


@pytest.mark.parametrize("command", [[], ["run"], ["validate"], ["compare"], ["models"], ["show"]])
def test_help_on_every_command(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.output.strip() == f"simdyn, version {simdyn.__version__}"


def test_models_and_show(runner: CliRunner) -> None:
    listing = runner.invoke(cli, ["models"])
    assert listing.exit_code == 0
    assert "learning_org" in listing.output
    shown = runner.invoke(cli, ["show", "learning_org"])
    assert shown.exit_code == 0
    assert "management styles:" in shown.output
    assert "dimension intervention: training, workshop" in shown.output
    assert "engagement (dimensionless)" in shown.output
    missing = runner.invoke(cli, ["show", "learnin_org"])
    assert missing.exit_code == 2
    assert "no built-in model named 'learnin_org'" in missing.stderr


def test_end_to_end_run_writes_the_report(
    runner: CliRunner, mini_scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = runner.invoke(
        cli, ["run", str(mini_scenario), "--out", str(out), "--set", "demand=1.3"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    goals = (out / "goals.csv").read_text().splitlines()
    assert goals[0].startswith("scenario,goal,label")
    assert len(goals) == 3


def test_end_to_end_compare(runner: CliRunner, mini_scenario: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(
        mini_scenario.read_text().replace('style = "directive"', 'style = "laissez_faire"')
    )
    out = tmp_path / "cmp"
    result = runner.invoke(
        cli, ["compare", str(mini_scenario), str(other), "--out", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "comparison.png").is_file()
    assert "mini/facil" in (out / "goals.csv").read_text()


def test_main_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0


def test_validate_compiles_the_model(runner: CliRunner, tmp_path: Path) -> None:
    model = tmp_path / "loop.toml"
    model.write_text(
        '[model]\nname = "loop"\ntime_units = "day"\n'
        '[stocks.a]\ninitial = "1"\ninflows = ["f"]\n'
        '[flows.f]\nequation = "g"\n[auxiliaries.g]\nequation = "f"\n'
    )
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'model = "{model}"\n')
    result = runner.invoke(cli, ["validate", str(scenario)])
    assert result.exit_code == 2
    assert f"{model}:8: flows.f.equation: algebraic loop: f -> g -> f" in result.output
    assert "Traceback" not in result.output


def test_unwritable_output_folder_is_a_one_line_error(runner: CliRunner, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(cli, ["run", "--out", str(blocker / "run"), "-q"])
    assert result.exit_code == 2
    assert "cannot create the output folder" in result.output
    assert "Traceback" not in result.output
    assert blocker.read_text() == "not a folder"


def test_validate_checks_model_files_too(runner: CliRunner, tmp_path: Path) -> None:
    good = Path(simdyn.__file__).parent / "models" / "learning_org_network.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[model]\nname = "bad"\ntime_units = "day"\n[stocks.x]\ninitial = "1"\noutflows = ["loss"]\n'
        '[flows.loss]\nequation = "k * x"\n'
    )
    result = runner.invoke(cli, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert f"ok: {good} (model learning_org_network)" in result.output
    assert f"{bad}:8: flows.loss.equation (column 1): unknown name 'k'" in result.output
