"""Units are declared everywhere and now checked: every equation's dimensions, located."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import simdyn
from simdyn.cli import cli
from simdyn.errors import ModelError
from simdyn.model.units import DIMENSIONLESS, check_units, parse_unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("person", "person"),
        ("hour/person/month", "hour/month/person"),
        ("1/month", "1/month"),
        ("dmnl", "dimensionless"),
        ("index", "dimensionless"),
        ("persons", "person"),
        ("USD/(person*month)", "USD/month/person"),
        ("person^2/person", "person"),
        ("month/month", "dimensionless"),
    ],
)
def test_parse_unit(text: str, expected: str) -> None:
    assert str(parse_unit(text)) == expected


@pytest.mark.parametrize("text", ["hour//month", "2/month", "(hour", "hour^x", "hour month"])
def test_parse_unit_refuses_what_is_not_a_unit(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_unit(text)


def test_units_algebra() -> None:
    assert parse_unit("hour/person/month") * parse_unit("person/hour") == parse_unit("1/month")
    assert parse_unit("person") / parse_unit("person") == DIMENSIONLESS


def _model(**sections: Any) -> simdyn.Model:
    data: dict[str, Any] = {"model": {"name": "m", "time_units": "month"}}
    data.update(sections)
    return simdyn.model_from_dict(data)


def _issues(**sections: Any) -> list[str]:
    return [i.what for i in check_units(_model(**sections).spec)]


STAFF = {"staff": {"initial": "100", "inflows": ["hiring"], "units": "person"}}


def test_a_flow_in_person_into_a_person_stock_is_flagged() -> None:
    issues = _issues(stocks=STAFF, flows={"hiring": {"equation": "5", "units": "person"}})
    assert issues == [
        "flow 'hiring' is in person; a flow of stock 'staff' (person) must be in person/month"
    ]


def test_a_flow_per_month_is_clean() -> None:
    flows = {"hiring": {"equation": "staff * rate", "units": "person/month"}}
    assert (
        _issues(stocks=STAFF, flows=flows, constants={"rate": {"value": 0.1, "units": "1/month"}})
        == []
    )


def test_an_equation_that_does_not_give_its_declared_unit() -> None:
    flows = {"hiring": {"equation": "staff * rate", "units": "person/month"}}
    consts = {"rate": {"value": 0.1, "units": "1/year"}}
    assert _issues(stocks=STAFF, flows=flows, constants=consts) == [
        "the equation gives person/year, the flow is declared person/month"
    ]


@pytest.mark.parametrize(
    ("equation", "fragment"),
    [
        ("staff + wait", "the two sides of '+': person and month differ"),
        ("MIN(staff, wait)", "the arguments of MIN: person and month differ"),
        ("IF staff > wait THEN 1 ELSE 0", "the two sides of '>': person and month differ"),
        ("SMTH1(staff, staff)", "the delay time of SMTH1 must be in month, not person"),
        ("STEP(1, staff)", "the times of STEP must be in month, not person"),
        ("EXP(staff)", "the argument of EXP must be in dimensionless, not person"),
        ("staff ^ wait", "an exponent must be dimensionless, not month"),
        ("effect(wait)", "the input of lookup 'effect' must be in person, not month"),
    ],
)
def test_operators_and_builtins_check_their_operands(equation: str, fragment: str) -> None:
    issues = _issues(
        stocks={"staff": {"initial": "100", "units": "person"}},
        constants={"wait": {"value": 3.0, "units": "month"}},
        lookups={"effect": {"points": [[0, 0], [1, 1]], "input_units": "person", "units": "1"}},
        auxiliaries={"x": {"equation": equation}},
    )
    assert any(fragment in i for i in issues), issues


def test_builtin_rules_give_the_expected_units() -> None:
    consts = {
        "wait": {"value": 3.0, "units": "month"},
        "slope": {"value": 1.0, "units": "person/month"},
    }
    stocks = {"staff": {"initial": "100", "units": "person"}}
    auxes = {
        "a": {"equation": "SMTH1(staff, wait, 100)", "units": "person"},
        "b": {"equation": "RAMP(slope, 1, 5)", "units": "person"},
        "c": {"equation": "DELAY3(staff, wait)", "units": "person"},
        "d": {"equation": "0.5 * staff + 3", "units": "person"},
        "e": {"equation": "SQRT(staff * staff)", "units": "person"},
        "f": {"equation": "staff / wait * TIME", "units": "person"},
    }
    assert _issues(constants=consts, stocks=stocks, auxiliaries=auxes) == []


def test_a_time_conversion_number_converts() -> None:
    # 12 * (1/month) is a yearly rate; a number that is not a time factor does not convert
    consts = {"rate": {"value": 0.01, "units": "1/month"}}
    clean = _issues(
        constants=consts, auxiliaries={"y": {"equation": "12 * rate", "units": "1/year"}}
    )
    assert clean == []
    flagged = _issues(
        constants=consts, auxiliaries={"y": {"equation": "11 * rate", "units": "1/year"}}
    )
    assert flagged == ["the equation gives 1/month, it is declared 1/year"]


def test_a_bad_unit_string_is_located() -> None:
    issues = check_units(_model(constants={"k": {"value": 1.0, "units": "hour//month"}}).spec)
    assert len(issues) == 1
    assert issues[0].where == "constants.k.units"
    assert "cannot read the unit 'hour//month'" in issues[0].what


@pytest.mark.parametrize("name", simdyn.list_models())
def test_every_built_in_model_is_unit_clean(name: str) -> None:
    assert [i.message for i in simdyn.load_model(name).check()] == []


BAD_MODEL = """\
[model]
name = "staffing"
time_units = "month"

[stocks.staff]
initial = "100"
inflows = ["hiring"]
units = "person"

[flows.hiring]
equation = "5"
units = "person"
"""


def test_validate_warns_about_units_and_strict_units_fails(tmp_path: Path) -> None:
    path = tmp_path / "staffing.toml"
    path.write_text(BAD_MODEL, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0
    assert (
        f"warning: {path}:7: stocks.staff.inflows: units: flow 'hiring' is in person"
        in result.output
    )
    result = CliRunner().invoke(cli, ["validate", "--strict-units", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_a_scenario_on_a_model_with_unit_issues_warns(tmp_path: Path) -> None:
    model = tmp_path / "staffing.toml"
    model.write_text(BAD_MODEL, encoding="utf-8")
    sc = tmp_path / "s.toml"
    sc.write_text(f'model = "{model}"\n[time]\nstop = 2\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(sc)])
    assert result.exit_code == 0
    assert "warning:" in result.output
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", "--strict-units", str(sc), "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


def test_unit_issues_of_python_equations_name_the_call() -> None:
    model = simdyn.load_model("teacup").replace(
        equations={"room_temperature": "70 + characteristic_time"}
    )
    issues = model.check()
    assert [i.file for i in issues] == ["Model.replace(equations=...)"]
    with pytest.raises(ModelError, match=r"Model.replace\(equations=...\): auxiliaries"):
        model.check(strict_units=True)


@pytest.mark.parametrize(
    "equation", ["SMTH1(a)", "SAFEDIV(a)", "DELAYN(a)", "ARCCOS()", "STEP(a)", "MIN(a, a, a)"]
)
def test_a_call_with_the_wrong_number_of_arguments_is_a_located_error(
    tmp_path: Path, equation: str
) -> None:
    (tmp_path / "m.toml").write_text(
        '[model]\nname = "m"\ntime_units = "month"\n[time]\nstop = 2\n'
        '[constants.a]\nvalue = 1\n[stocks.s]\ninitial = "1"\n'
        f'[auxiliaries.g]\nequation = "{equation}"\n',
        encoding="utf-8",
    )
    (tmp_path / "s.toml").write_text('model = "m.toml"\n', encoding="utf-8")
    for args in (["validate", "s.toml"], ["run", "s.toml", "--out", "out", "-q"]):
        result = CliRunner().invoke(cli, [args[0], str(tmp_path / args[1]), *args[2:]])
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit)
        assert "m.toml:11: auxiliaries.g.equation (column 1)" in result.stderr
        assert "argument" in result.stderr
