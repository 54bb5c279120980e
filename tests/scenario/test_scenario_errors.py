"""Every kind of mistake gives one line, file:line: key: what (hint), and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from scenario_samples import MINI_MODEL

from simdyn.cli import cli

HEAD = f'model = "{MINI_MODEL}"\n'

# (name, file text, expected line, expected fragment of the message)
CASES = [
    ("unknown top key", HEAD + "titel = 'x'\n", 2, "titel: unknown key (did you mean 'title'?)"),
    (
        "unknown time key",
        HEAD + "[time]\nstpo = 5\n",
        3,
        "time.stpo: unknown key (did you mean 'stop'?)",
    ),
    (
        "wrong type",
        HEAD + "[time]\nstop = 'ten'\n",
        3,
        "time.stop: expected a number, not a string",
    ),
    ("bool as number", HEAD + "seed = true\n", 2, "seed: expected a whole number"),
    (
        "stop before start",
        HEAD + "[time]\nstart = 5\nstop = 2\n",
        4,
        "stop (2) must be after start",
    ),
    ("bad save_per", HEAD + "[time]\ndt = 0.25\nsave_per = 0.3\n", 4, "not a whole multiple of dt"),
    ("unknown method", HEAD + "[time]\nmethod = 'rk5'\n", 3, "unknown integration method 'rk5'"),
    (
        "unknown parameter",
        HEAD + "[params]\ndelegaton = 0.3\n",
        3,
        "unknown parameter 'delegaton' (did you mean 'delegation'?)",
    ),
    (
        "above max",
        HEAD + "[params]\ndelegation = 1.5\n",
        3,
        "1.5 is above the maximum 1 of 'delegation'",
    ),
    ("below min", HEAD + '[params]\n"hours[workshop]" = -1\n', 3, "-1 is below the minimum 0"),
    (
        "unknown element",
        HEAD + '[params]\n"hours[worksop]" = 1\n',
        3,
        "no element 'worksop' (did you mean 'workshop'?)",
    ),
    ("wrong length", HEAD + "[params]\nhours = [1, 2]\n", 3, "needs 3 values"),
    (
        "unknown style",
        HEAD + "style = 'facilitativ'\n",
        2,
        "unknown style 'facilitativ' (did you mean 'facilitative'?)",
    ),
    ("unknown lever", HEAD + "[style]\ndelegaton = 0.5\n", 3, "unknown style lever 'delegaton'"),
    (
        "goal variable",
        HEAD + "[goals.a]\nvariable = 'engagment'\ntime = 5\nvalue = 1\n",
        3,
        "unknown variable 'engagment' (did you mean 'engagement'?)",
    ),
    (
        "goal on a constant",
        HEAD + "[goals.a]\nvariable = 'delegation'\ntime = 5\nvalue = 1\n",
        3,
        "is a constant, not a variable",
    ),
    (
        "goal time outside",
        HEAD + "[goals.a]\nvariable = 'skill'\ntime = 99\nvalue = 1\n",
        4,
        "outside the run (0 to 24)",
    ),
    (
        "goal comparison",
        HEAD + "[goals.a]\nvariable = 'skill'\ntime = 5\nvalue = 1\ncomparison = '=>'\n",
        6,
        "unknown comparison '=>'",
    ),
    (
        "goal missing value",
        HEAD + "[goals.a]\nvariable = 'skill'\ntime = 5\n",
        2,
        "goals.a: missing required key 'value'",
    ),
    (
        "policy kind",
        HEAD + "[policies.p]\nkind = 'stpe'\n",
        3,
        "unknown policy kind 'stpe' (did you mean 'step'?)",
    ),
    (
        "policy param",
        HEAD + "[policies.p]\nkind = 'step'\nparam = 'hirng_rate'\nat = 1\nto = 0\n",
        4,
        "unknown parameter 'hirng_rate' (did you mean 'hiring_rate'?)",
    ),
    (
        "policy on a flow",
        HEAD + "[policies.p]\nkind = 'step'\nparam = 'hires'\nat = 1\nto = 0\n",
        4,
        "'hires' is a variable, not a constant",
    ),
    (
        "policy key for kind",
        HEAD + "[policies.p]\nkind = 'step'\nparam = 'demand'\nstart = 1\n",
        5,
        "policies.p.start: unknown key",
    ),
    (
        "ramp end first",
        HEAD + "[policies.p]\nkind = 'ramp'\nparam = 'demand'\nstart = 5\nend = 2\nto = 2\n",
        6,
        "end (2.0) must be after start",
    ),
    (
        "policy out of range",
        HEAD + "[policies.p]\nkind = 'step'\nparam = 'delegation'\nat = 1\nto = 3\n",
        2,
        "3 is above the maximum 1",
    ),
    (
        "points decreasing",
        HEAD + "[policies.p]\nkind = 'piecewise'\nparam = 'demand'\npoints = [[5, 1], [2, 1]]\n",
        5,
        "times must not decrease",
    ),
    (
        "point shape",
        HEAD + "[policies.p]\nkind = 'piecewise'\nparam = 'demand'\npoints = [[5, 1, 2]]\n",
        5,
        "each point must be [time, value]",
    ),
    (
        "twice scheduled",
        HEAD
        + "[policies.a]\nkind = 'step'\nparam = 'demand'\nat = 1\nto = 2\n[policies.b]\nkind = 'step'\nparam = 'demand'\nat = 2\nto = 3\n",
        None,
        "already scheduled by policy 'a'",
    ),
    (
        "dimensioned policy",
        HEAD + "[policies.p]\nkind = 'step'\nparam = 'hours'\nat = 1\nto = 3\n",
        4,
        "schedule one element",
    ),
    ("network table type", HEAD + "network = 3\n", 2, "network: must be a table"),
    (
        "network unavailable",
        HEAD + "[network]\nn_teams = 4\n",
        2,
        "network mode is not available for model 'mini_org'",
    ),
    (
        "unknown model",
        'model = "learnin_org"\n',
        1,
        "no built-in model named 'learnin_org' (did you mean 'learning_org'?)",
    ),
    ("missing model", "title = 'x'\n", None, "missing required key 'model'"),
    ("invalid toml", HEAD + "[time\nstop = 3\n", 2, "not valid TOML"),
    (
        "variant not a table",
        HEAD + "[variants]\nx = 3\n",
        3,
        "variants.x: a variant must be a table",
    ),
    (
        "variant unknown key",
        HEAD + "[variants.x]\nstyle = 'directive'\nstpo = 3\n",
        4,
        "variants.x.stpo: unknown key",
    ),
    ("variant bad value", HEAD + "[variants.x.time]\nstop = -1\n", 3, "variants.x.time.stop"),
    (
        "missing extends",
        'extends = "nowhere.toml"\n',
        1,
        "extends a file that does not exist: nowhere.toml",
    ),
]


@pytest.mark.parametrize(("name", "text", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_is_one_line_exit_2(
    tmp_path: Path, name: str, text: str, line: int | None, fragment: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert "\n" not in message
    assert "Traceback" not in result.output
    assert fragment in message
    assert message.startswith(str(path) + (f":{line}:" if line is not None else ""))


def test_circular_extends(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "a.toml")])
    assert result.exit_code == 2
    assert "circular extends: a.toml -> b.toml -> a.toml" in result.stderr


def test_bad_set_override_is_located_at_set(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(HEAD)
    result = CliRunner().invoke(cli, ["validate", str(path), "--set", "time.stpo=3"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "--set: time.stpo: unknown key (did you mean 'stop'?)"


def test_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{tmp_path / 'none.toml'}: the file does not exist"
