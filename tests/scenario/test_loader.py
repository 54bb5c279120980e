from __future__ import annotations

from pathlib import Path

import pytest

from simdyn._toml import key_lines
from simdyn.errors import ScenarioError
from simdyn.scenario import (
    CustomStyle,
    PiecewiseLinear,
    Ramp,
    Step,
    StyleChange,
    load_scenario,
    parse_assignments,
)


def test_key_lines_tables_inline_arrays_and_array_tables() -> None:
    text = (
        'a = 1\n[time]\nstop = 60 # c\n[params]\n"x[y]" = 2\n'
        "[[goals]]\nv = 1\n[[goals]]\npoints = [\n  [0, 1],\n  [6, 2],\n]\n"
        "z = { q = 1, r = [1, 2] }\n"
    )
    lines = key_lines(text)
    assert lines[("time", "stop")] == 3
    assert lines[("params", "x[y]")] == 5
    assert lines[("goals", 0, "v")] == 7
    assert lines[("goals", 1, "points", 1)] == 11
    assert lines[("goals", 1, "z", "r", 1)] == 13


def test_key_lines_skips_multiline_strings() -> None:
    text = 'doc = """\nfake = 1\n"""\nreal = 2\n'
    lines = key_lines(text)
    assert ("fake",) not in lines
    assert lines[("real",)] == 4


def test_loads_every_policy_kind(mini_scenario: Path) -> None:
    s = load_scenario(mini_scenario).base
    assert isinstance(s.policies["leadership"], StyleChange)
    assert isinstance(s.policies["programme"], PiecewiseLinear)
    assert isinstance(s.policies["freeze"], Step)
    assert s.params == {"demand": 1.1, "hours[workshop]": 3.0}
    assert s.style == "directive"
    assert s.seed == 3


def test_precedence_defaults_scenario_variant_overrides(mini_scenario: Path) -> None:
    sset = load_scenario(mini_scenario, overrides=parse_assignments(["demand=1.4"]))
    assert sset.base.params["demand"] == 1.4
    assert sset.variants["facil"].params["demand"] == 1.4
    assert sset.variants["facil"].style == "facilitative"
    assert sset.base.style == "directive"
    plain = load_scenario(mini_scenario)
    assert plain.variants["facil"].params["demand"] == 1.1


def test_variant_can_disable_and_add_policies(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'model = "teacup"\n[policies.a]\nkind = "step"\nparam = "room_temperature"\nat = 1\nto = 60\n'
        "[variants.off.policies.a]\nenabled = false\n"
        '[variants.ramp.policies.b]\nkind = "ramp"\nparam = "characteristic_time"\n'
        "start = 0\nend = 5\nto = 20\n"
    )
    sset = load_scenario(path)
    assert set(sset.variants["off"].policies) == set()
    assert set(sset.variants["ramp"].policies) == {"a", "b"}
    assert isinstance(sset.variants["ramp"].policies["b"], Ramp)


def test_extends_merges_tables_and_replaces_values(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(
        'model = "teacup"\ntitle = "base"\n[time]\nstop = 10\ndt = 0.5\n[params]\nroom_temperature = 60\n'
    )
    (tmp_path / "child.toml").write_text(
        'extends = "base.toml"\ntitle = "child"\n[time]\nstop = 20\n'
    )
    s = load_scenario(tmp_path / "child.toml").base
    assert (s.title, s.time.stop, s.time.dt) == ("child", 20.0, 0.5)
    assert s.params == {"room_temperature": 60.0}


def test_custom_style_table(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('model = "x"\n[style]\nbased_on = "directive"\ndelegation = 0.5\n')
    style = load_scenario(path).base.style
    assert style == CustomStyle(values={"delegation": 0.5}, based_on="directive")


def test_parse_assignments_types_and_shorthands() -> None:
    got = parse_assignments(
        ["demand=1.2", "stop=24", "style=facilitative", "hours[workshop]=4", "seed=7", "x=[1, 2]"]
    )
    assert got == {
        "params.demand": 1.2,
        "time.stop": 24,
        "style": "facilitative",
        "params.hours[workshop]": 4,
        "seed": 7,
        "params.x": [1, 2],
    }


def test_select_unknown_variant(mini_scenario: Path) -> None:
    with pytest.raises(ScenarioError, match="did you mean 'facil'"):
        load_scenario(mini_scenario).select(["facl"])
