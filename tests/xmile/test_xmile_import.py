"""XMILE import: names, sim_specs, builtins, graphical functions, arrays, modules, errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import simdyn
from simdyn.errors import ModelError

HEAD = '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">'


def xmile(
    tmp_path: Path, variables: str, *, specs: str = "", dims: str = "", extra: str = ""
) -> Path:
    specs = (
        specs or '<sim_specs method="Euler"><start>0</start><stop>4</stop><dt>1</dt></sim_specs>'
    )
    text = (
        f"{HEAD}<header><vendor>t</vendor><product version='1'>t</product></header>{specs}"
        f"<dimensions>{dims}</dimensions><model><variables>{variables}</variables></model>{extra}</xmile>"
    )
    path = tmp_path / "m.xmile"
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, **kw: object) -> dict[str, np.ndarray]:
    from simdyn.model_run import result_frame

    model = simdyn.load_model(path)
    ds = simdyn.simulate(model, **kw)  # type: ignore[arg-type]
    frame = result_frame(model, ds)
    return {str(c): frame[c].to_numpy() for c in frame.columns}


def test_names_are_normalised_and_reported_as_written(tmp_path: Path) -> None:
    path = xmile(
        tmp_path,
        '<aux name="Room Temperature"><eqn>70</eqn></aux>'
        '<aux name="Heat\\nLoss"><eqn>"room temperature" * 2 + ROOM_temperature</eqn></aux>',
    )
    out = run(path)
    assert out["Heat Loss"][0] == 210.0
    assert "Room Temperature" in out
    assert "INITIAL TIME" in out
    assert out["TIME STEP"][0] == 1.0


def test_sim_specs_reciprocal_dt_and_method(tmp_path: Path) -> None:
    specs = '<sim_specs method="RK4" time_units="Months"><start>2</start><stop>3</stop><dt reciprocal="true">4</dt></sim_specs>'  # fmt: skip
    path = xmile(tmp_path, '<aux name="a"><eqn>TIME</eqn></aux>', specs=specs)
    m = simdyn.load_model(path)
    assert (m.time.start, m.time.stop, m.time.dt, m.time.method) == (2.0, 3.0, 0.25, "rk4")
    assert m.time_units == "Months"


def test_stock_flow_non_negative_clips_stock_keeps_flow(tmp_path: Path) -> None:
    path = xmile(
        tmp_path,
        '<stock name="s"><eqn>3</eqn><outflow>out</outflow><non_negative/></stock>'
        '<flow name="out"><eqn>2</eqn><non_negative/></flow>'
        '<stock name="t"><eqn>3</eqn><outflow>out2</outflow></stock>'
        '<flow name="out2"><eqn>2</eqn></flow>',
    )
    out = run(path)
    np.testing.assert_allclose(out["s"], [3, 1, 0, 0, 0])
    np.testing.assert_allclose(out["out"], [2, 2, 2, 2, 2])
    np.testing.assert_allclose(out["t"], [3, 1, -1, -3, -5])


def test_graphical_functions_continuous_extrapolate_discrete(tmp_path: Path) -> None:
    gf = "<xpts>0,1,2</xpts><ypts>0,10,30</ypts>"
    path = xmile(
        tmp_path,
        f'<aux name="c"><eqn>TIME</eqn><gf>{gf}</gf></aux>'
        f'<aux name="e"><eqn>TIME</eqn><gf type="extrapolate">{gf}</gf></aux>'
        f'<aux name="d"><eqn>TIME - 0.5</eqn><gf type="discrete">{gf}</gf></aux>'
        '<gf name="named"><xscale min="0" max="4"/><ypts>0,1,4,9,16</ypts></gf>'
        '<aux name="n"><eqn>named(TIME) + LOOKUP(c, 1)</eqn></aux>',
    )
    out = run(path)
    np.testing.assert_allclose(out["c"], [0, 10, 30, 30, 30])
    np.testing.assert_allclose(out["e"], [0, 10, 30, 50, 70])
    np.testing.assert_allclose(out["d"], [0, 0, 10, 30, 30])
    np.testing.assert_allclose(out["n"], [10, 11, 14, 19, 26])


def test_stella_builtins(tmp_path: Path) -> None:
    specs = '<sim_specs method="Euler"><start>0</start><stop>40</stop><dt>0.25</dt></sim_specs>'
    path = xmile(
        tmp_path,
        '<aux name="x"><eqn>10 + STEP(10, 5)</eqn></aux>'
        '<aux name="p"><eqn>PULSE(2)</eqn></aux>'
        '<aux name="sn"><eqn>SMTHN(x, 4, 3)</eqn></aux>'
        '<aux name="s3"><eqn>SMTH3(x, 4)</eqn></aux>'
        '<aux name="tr"><eqn>TREND(x, 2, 0)</eqn></aux>'
        '<aux name="fc"><eqn>FORCST(x, 2, 3, 0)</eqn></aux>'
        '<aux name="pv"><eqn>PREVIOUS(TIME, -1)</eqn></aux>'
        '<aux name="m"><eqn>7 MOD 4 + SAFEDIV(1, 0, 5) + XIDZ(1, 0, 1) + ZIDZ(1, 0)</eqn></aux>'
        '<aux name="c"><eqn>IF x &gt; 15 AND NOT (TIME &lt; 0) THEN 1 ELSE 0</eqn></aux>',
        specs=specs,
    )
    out = run(path)
    np.testing.assert_allclose(out["sn"], out["s3"], rtol=1e-12)  # SMTHN(.., 3) is SMTH3
    assert out["p"][0] == 2 / 0.25
    assert out["p"][1:].max() == 0.0
    avg = 10 + 10 * (1 - np.exp(-(40 - 5) / 2))  # SMTH1 of the step, continuous limit
    assert out["tr"][0] == 0.0
    assert 0 < out["tr"][-1] < 1e-6 + (20 - avg) / (avg * 2) + 1e-3
    np.testing.assert_allclose(out["fc"], out["x"] * (1 + 3 * out["tr"]))
    np.testing.assert_allclose(out["pv"][1:], out["Time"][:-1])
    assert out["pv"][0] == -1
    assert out["m"][0] == 3 + 5 + 1 + 0
    assert out["c"][0] == 0
    assert out["c"][-1] == 1


def test_arrays_a2a_per_element_positions_and_reductions(tmp_path: Path) -> None:
    dims = '<dim name="Region"><elem name="North"/><elem name="South Coast"/></dim><dim name="N" size="3"/>'  # fmt: skip
    path = xmile(
        tmp_path,
        '<aux name="pop"><dimensions><dim name="Region"/></dimensions>'
        '<element subscript="North"><eqn>1</eqn></element><element subscript="south_coast"><eqn>2</eqn></element></aux>'
        '<aux name="v"><dimensions><dim name="N"/></dimensions><eqn>1, 2, 3</eqn></aux>'
        '<aux name="double"><dimensions><dim name="Region"/></dimensions><eqn>pop[Region] * 2</eqn></aux>'
        '<aux name="total"><eqn>SUM(pop[*]) + MAX(v[N!]) + v[2] + SIZE(v)</eqn></aux>'
        '<aux name="south"><eqn>double["South Coast"]</eqn></aux>',
        dims=dims,
    )
    out = run(path)
    assert out["double[South Coast]"][0] == 4
    assert out["v[3]"][0] == 3
    assert out["total"][0] == 3 + 3 + 2 + 3
    assert out["south"][0] == 4


def test_modules_are_flattened(tmp_path: Path) -> None:
    text = (
        f"{HEAD}<header><vendor>t</vendor></header>"
        "<sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>"
        '<model><variables><module name="sub"><connect to="input" from=".rate"/></module>'
        '<aux name="rate"><eqn>3</eqn></aux><aux name="seen"><eqn>sub.level</eqn></aux></variables></model>'
        '<model name="sub"><variables><aux name="input"><eqn>{placeholder}</eqn></aux>'
        '<stock name="level"><eqn>0</eqn><inflow>filling</inflow></stock>'
        '<flow name="filling"><eqn>input</eqn></flow></variables></model></xmile>'
    )
    path = tmp_path / "mod.xmile"
    path.write_text(text)
    out = run(path)
    np.testing.assert_allclose(out["sub.level"], [0, 3, 6])
    np.testing.assert_allclose(out["seen"], [0, 3, 6])


def test_undeclared_isee_prefix_and_vendor_elements(tmp_path: Path) -> None:
    path = xmile(
        tmp_path,
        '<aux name="a" isee:flag="x"><eqn>1</eqn><isee:thing/></aux>',
        specs='<sim_specs isee:simulation_delay="0"><start>0</start><stop>1</stop><dt>1</dt></sim_specs>',
    )
    assert run(path)["a"][0] == 1


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            '<stock name="s"><eqn>0</eqn><conveyor><len>2</len></conveyor></stock>',
            "conveyor stocks are not supported",
        ),
        ('<stock name="q"><eqn>0</eqn><queue/></stock>', "queue stocks are not supported"),
        ('<aux name="a"><eqn>???</eqn></aux>', "<aux name='a'><eqn>"),
        ('<aux name="a"><eqn>b + 1</eqn></aux>', "unknown variable 'b'"),
        ('<aux name="a"><eqn>RANK(1, 2)</eqn></aux>', "RANK is not supported"),
        ('<aux name="a"><eqn>FOO(1)</eqn></aux>', "function 'FOO' is not supported"),
        (
            '<aux name="a"><eqn>SMTHN(1, 2, b)</eqn></aux><aux name="b"><eqn>3</eqn></aux>',
            "whole number",
        ),
    ],
)
def test_unsupported_is_one_located_error(tmp_path: Path, variables: str, message: str) -> None:
    path = xmile(tmp_path, variables)
    with pytest.raises(ModelError) as err:
        simdyn.load_model(path).check()
    text = str(err.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
    path = tmp_path / "bomb.xmile"
    path.write_text(bomb + f'{HEAD}<model><variables><aux name="x"><eqn>&b;</eqn></aux></variables></model></xmile>')  # fmt: skip
    with pytest.raises(ModelError, match="unsafe XML refused"):
        simdyn.load_model(path)


def test_not_xml_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "x.stmx"
    path.write_text("this is not xml")
    with pytest.raises(ModelError, match=r"x\.stmx"):
        simdyn.load_model(path)


def test_scenario_file_names_an_xmile_model(tmp_path: Path) -> None:
    xmile(tmp_path, '<aux name="k"><eqn>2</eqn></aux><aux name="y"><eqn>k * TIME</eqn></aux>')
    sc = tmp_path / "sc.toml"
    sc.write_text('model = "m.xmile"\n')
    from simdyn.scenario import load_scenario

    assert load_scenario(sc).base.model == str((tmp_path / "m.xmile").resolve())


def test_import_of_100_variables_is_fast(tmp_path: Path) -> None:
    body = '<stock name="s0"><eqn>1</eqn><inflow>f0</inflow></stock><flow name="f0"><eqn>a99 * 0.01</eqn></flow>'  # fmt: skip
    body += '<aux name="a0"><eqn>s0 + 1</eqn></aux>'
    body += "".join(f'<aux name="a{k}"><eqn>a{k - 1} * 1.001 + SMTH1(s0, 3)</eqn></aux>' for k in range(1, 100))  # fmt: skip
    path = xmile(tmp_path, body)
    simdyn.load_model(path)  # warm imports
    t0 = time.perf_counter()
    simdyn.load_model(path).check()
    assert time.perf_counter() - t0 < 5.0  # generous: the machine is shared; typical ~0.1 s


def test_random_functions_are_seeded_per_scenario(tmp_path: Path) -> None:
    path = xmile(
        tmp_path,
        '<aux name="k"><eqn>1</eqn></aux>'
        '<aux name="n"><eqn>NORMAL(10, 2) * k</eqn></aux>'
        '<aux name="u"><eqn>UNIFORM(0, 1, 42)</eqn></aux>'
        '<aux name="p"><eqn>POISSON(3) + EXPRND(1) * 0 + LOGNORMAL(1, 0.5) * 0</eqn></aux>',
    )
    model = simdyn.load_model(path)
    a = simdyn.simulate(model, params={"k": [1.0, 1.0, 1.0]}, seed=5)
    b = simdyn.simulate(model, params={"k": [1.0, 1.0, 1.0]}, seed=5, chunk_size=1)
    c = simdyn.simulate(model, params={"k": [1.0, 1.0, 1.0]}, seed=6)
    np.testing.assert_array_equal(a["n"].values, b["n"].values)
    assert not np.array_equal(a["n"].values, c["n"].values)
    assert len(np.unique(a["n"].values[0])) == 3  # scenarios differ
    np.testing.assert_array_equal(a["u"].values, c["u"].values)  # own seed: same in every run
    assert (a["p"].values >= 0).all()
    assert np.allclose(a["p"].values % 1, 0)


def test_per_element_equations_on_two_dimensions(tmp_path: Path) -> None:
    dims = '<dim name="A"><elem name="a1"/><elem name="a2"/></dim><dim name="B"><elem name="b1"/><elem name="b2"/></dim>'  # fmt: skip
    elements = "".join(
        f'<element subscript="{a}, {b}"><eqn>{k} + TIME</eqn></element>'
        for k, (a, b) in enumerate([("a1", "b1"), ("a1", "b2"), ("a2", "b1"), ("a2", "b2")])
    )
    path = xmile(
        tmp_path,
        f'<aux name="x"><dimensions><dim name="A"/><dim name="B"/></dimensions>{elements}</aux>'
        '<aux name="row"><dimensions><dim name="B"/></dimensions><eqn>x[a2, B]</eqn></aux>',
        dims=dims,
    )
    out = run(path)
    assert [out[f"x[{a},{b}]"][1] for a in ("a1", "a2") for b in ("b1", "b2")] == [1, 2, 3, 4]
    assert out["row[b2]"][0] == 3
    assert not any(c.startswith("is_") for c in out)


def test_elements_are_reported_in_the_variables_dimension_order(tmp_path: Path) -> None:
    dims = '<dim name="B"><elem name="b1"/><elem name="b2"/></dim><dim name="A"><elem name="a1"/><elem name="a2"/></dim>'  # fmt: skip
    path = xmile(
        tmp_path,
        '<aux name="x"><dimensions><dim name="A"/><dim name="B"/></dimensions>'
        '<element subscript="a1, b2"><eqn>7</eqn></element><element subscript="a1, b1"><eqn>1</eqn></element>'
        '<element subscript="a2, b1"><eqn>2</eqn></element><element subscript="a2, b2"><eqn>3</eqn></element></aux>',
        dims=dims,
    )
    out = run(path)
    assert out["x[a1,b2]"][0] == 7


def test_dt_as_a_fraction(tmp_path: Path) -> None:
    specs = "<sim_specs><start>0</start><stop>1</stop><dt>1/8</dt></sim_specs>"
    path = xmile(tmp_path, '<aux name="a"><eqn>1</eqn></aux>', specs=specs)
    assert simdyn.load_model(path).time.dt == 0.125
