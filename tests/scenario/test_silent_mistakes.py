"""Mistakes that used to give wrong numbers (or a misleading message) without a word.

Each test is one case a user met: it now fails loudly, with a located one-line message that
says what is wrong and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import simdyn
from simdyn.cli import cli
from simdyn.errors import ModelError, ScenarioError, SimdynError
from simdyn.scenario import load_scenario, validate_scenario
from simdyn.scenario._plan import plan_run

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.output


# -- shares that must sum to 1 ------------------------------------------------------------------


def test_partial_mix_that_sums_to_two_is_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "mix.toml",
        'model = "learning_org"\n[params]\nintervention_mix = { workshop = 1.0 }\n',
    )
    code, out = _validate(str(path))
    assert code == 2
    assert "mix.toml:3: params.intervention_mix" in out
    assert "sums to 2" in out
    assert "must sum to 1" in out
    # the hint names the elements that kept their defaults and gives a fixed table
    assert "training = 0.5" in out
    assert "training = 0" in out.split("e.g.")[1]
    assert "Traceback" not in out


def test_a_full_mix_that_sums_to_one_passes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "mix.toml",
        'model = "learning_org"\n[params]\n'
        "intervention_mix = { training = 0, workshop = 1.0, e_learning = 0, "
        "books_articles = 0, webinars_videos = 0, coaching = 0 }\n",
    )
    assert _validate(str(path)) == (0, f"ok: {path}\n")


def test_a_variant_mix_that_does_not_sum_is_located_in_the_variant(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "mix.toml",
        'model = "learning_org"\n[variants.w]\nparams.intervention_mix = { training = 0.2 }\n',
    )
    code, out = _validate(str(path))
    assert code == 2
    assert "mix.toml:3:" in out
    assert "sums to 0.7" in out


def test_the_built_in_intervention_mix_scenario_is_valid() -> None:
    assert _validate(str(ROOT / "scenarios" / "intervention_mix.toml"))[0] == 0


def test_sum_to_is_checked_on_the_model_default(tmp_path: Path) -> None:
    with pytest.raises(
        ModelError, match=r"constants.share.value: share sums to 0.5, it must sum to 1"
    ):
        simdyn.model_from_dict(
            {
                "model": {"name": "m", "time_units": "month"},
                "dimensions": {"kind": ["a", "b"]},
                "constants": {"share": {"dims": ["kind"], "value": [0.2, 0.3], "sum_to": 1}},
                "stocks": {"x": {"initial": "1"}},
            }
        )


def test_sum_to_needs_a_dimension() -> None:
    with pytest.raises(ModelError, match="sum_to needs a constant with one dimension"):
        simdyn.model_from_dict(
            {
                "model": {"name": "m", "time_units": "month"},
                "constants": {"share": {"value": 1.0, "sum_to": 1}},
                "stocks": {"x": {"initial": "1"}},
            }
        )


def test_simulate_checks_sum_to_for_python_params() -> None:
    with pytest.raises(ScenarioError, match=r"intervention_mix.*sums to 2"):
        simdyn.simulate("learning_org", params={"intervention_mix[workshop]": 1.0}, stop=1, dt=0.5)


# -- an explicit params value wins over a style change ----------------------------------------

STYLE_CHANGE = """\
model = "learning_org"
style = "directive"
[params]
development_hours = 10
[policies.lead]
kind = "style"
at = 3
to = "facilitative"
transition = 6
"""


def test_explicit_param_wins_over_a_style_change(tmp_path: Path) -> None:
    sset = load_scenario(_write(tmp_path, "s.toml", STYLE_CHANGE))
    plan = plan_run(sset.base, simdyn.load_model("learning_org"))
    moved = {p.param for p in plan.policies}
    assert "development_hours" not in moved
    assert {"delegation", "support"} <= moved
    assert plan.params["development_hours"] == 10.0
    assert ("lead", "development_hours") in {(k.policy, k.param) for k in plan.held}


def test_a_style_change_moves_a_set_param_only_when_told(tmp_path: Path) -> None:
    text = STYLE_CHANGE + 'override = ["development_hours"]\n'
    sset = load_scenario(_write(tmp_path, "s.toml", text))
    plan = plan_run(sset.base, simdyn.load_model("learning_org"))
    assert "development_hours" in {p.param for p in plan.policies}
    assert not plan.held


def test_override_of_an_unknown_lever_is_an_error(tmp_path: Path) -> None:
    text = STYLE_CHANGE + 'override = ["developmnt_hours"]\n'
    code, out = _validate(str(_write(tmp_path, "s.toml", text)))
    assert code == 2
    assert "policies.lead.override" in out
    assert "did you mean 'development_hours'?" in out


def test_the_report_lists_levers_moved_and_held(tmp_path: Path) -> None:
    text = STYLE_CHANGE.replace("[policies.lead]", "[time]\nstop = 6\n[policies.lead]")
    path = _write(tmp_path, "s.toml", text)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(path), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Levers moved by lead" in html
    assert "development_hours" in html.split("Levers moved by lead")[1]
    assert "kept at its params value" in html


# -- validate runs every check run would -----------------------------------------------------


def test_validate_refuses_a_dt_that_does_not_divide_the_horizon(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "s.toml", 'model = "teacup"\n[time]\nstop = 10\ndt = 0.3\nsave_per = 0.3\n'
    )
    code, out = _validate(str(path))
    assert code == 2
    assert "s.toml:4: time.dt" in out
    assert "not a whole number of steps" in out
    assert "dt = 0.25" in out


def test_validate_refuses_a_model_whose_dt_does_not_divide_its_horizon(tmp_path: Path) -> None:
    model = _write(
        tmp_path,
        "m.toml",
        '[model]\nname = "m"\ntime_units = "day"\n[time]\nstop = 10\ndt = 0.3\n'
        '[stocks.x]\ninitial = "1"\n',
    )
    code, out = _validate(str(model))
    assert code == 2
    assert "m.toml:6: time.dt" in out


def test_a_shorter_run_than_the_goals_says_what_to_do(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.toml",
        'model = "teacup"\n[time]\nstop = 40\n[goals.cool]\nvariable = "teacup_temperature"\n'
        "time = 36\ncomparison = '<='\nvalue = 100\n",
    )
    code, out = _validate(str(path), "--set", "stop=30")
    assert code == 2
    assert "goal time 36 is outside the run (0 to 30)" in out
    assert "--set stop=36" in out
    assert "--set goals.cool.enabled=false" in out
    code, out = _validate(str(path), "--set", "stop=30", "--set", "goals.cool.enabled=false")
    assert code == 0, out


# -- model file vs scenario file ---------------------------------------------------------------


def test_running_a_model_file_says_it_is_a_model_file(tmp_path: Path) -> None:
    model = Path(simdyn.__file__).parent / "models" / "teacup.toml"
    result = CliRunner().invoke(cli, ["run", str(model), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "is a model file, not a scenario file" in result.output
    assert 'model = "' in result.output
    assert "unknown key" not in result.output


def test_showing_a_scenario_file_says_it_is_a_scenario_file() -> None:
    result = CliRunner().invoke(cli, ["show", str(ROOT / "scenarios" / "styles.toml")])
    assert result.exit_code == 2
    assert "is a scenario file, not a model file" in result.output
    assert "simdyn show learning_org" in result.output
    assert "unknown key" not in result.output


# -- Python-built models -----------------------------------------------------------------------


def test_model_from_dict_honours_extends() -> None:
    model = simdyn.model_from_dict(
        {
            "model": {"name": "hot_tea", "extends": "teacup"},
            "constants": {"room_temperature": 30.0},
        }
    )
    assert model.name == "hot_tea"
    assert model.constants["room_temperature"].value == 30.0
    assert "teacup_temperature" in model.stocks
    ds = simdyn.simulate(model, stop=5, method="euler")
    assert float(ds.teacup_temperature[-1, 0]) > 30.0


def test_model_from_dict_reports_an_unknown_base() -> None:
    with pytest.raises(ModelError, match="cannot find the model 'teecup' to extend"):
        simdyn.model_from_dict({"model": {"name": "x", "extends": "teecup"}})


def test_an_error_in_a_python_equation_points_at_the_call() -> None:
    model = simdyn.load_model("teacup").replace(equations={"room_temperature": "70 +* 3"})
    with pytest.raises(SimdynError) as info:
        model.check()
    text = str(info.value)
    assert "teacup.toml" not in text
    assert "Model.replace(equations=...)" in text
    assert "room_temperature" in text


def test_an_error_in_a_model_from_dict_equation_names_no_file() -> None:
    model = simdyn.model_from_dict(
        {
            "model": {"name": "m", "time_units": "day"},
            "stocks": {"x": {"initial": "1", "inflows": ["f"]}},
            "flows": {"f": {"equation": "y + 1"}},
        }
    )
    with pytest.raises(SimdynError) as info:
        model.check()
    assert str(info.value).startswith("model_from_dict: flows.f")


def test_validate_scenario_is_what_run_checks(tmp_path: Path) -> None:
    # the same mistake gives the same message from validate_scenario and from a run
    path = _write(
        tmp_path, "s.toml", 'model = "teacup"\n[time]\nstop = 10\ndt = 0.3\nsave_per = 0.3\n'
    )
    with pytest.raises(ScenarioError) as checked:
        validate_scenario(path)
    with pytest.raises(ScenarioError) as ran:
        simdyn.scenario.run_scenario(path)
    assert str(checked.value) == str(ran.value)


def test_a_policy_that_schedules_one_share_must_keep_the_sum(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.toml",
        'model = "learning_org"\n[policies.more_workshops]\nkind = "ramp"\n'
        'param = "intervention_mix[workshop]"\nstart = 6\nend = 18\nto = 0.4\n',
    )
    code, out = _validate(str(path))
    assert code == 2
    assert "s.toml:2: policies.more_workshops" in out
    assert "intervention_mix sums at time 18 to 1.4" in out
    assert "schedule the other elements too" in out
