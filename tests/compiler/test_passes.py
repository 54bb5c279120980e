"""Each compiler pass on a small input, against its expected output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simdyn
from simdyn.expr import BinOp, Call, Name, Num, parse
from simdyn.model import ir
from simdyn.model.compile import PASSES, to_ir
from simdyn.model.emit.numpy import emit_numpy, module_source
from simdyn.model.loader import spec_from_dict
from simdyn.model.passes import Draft, expand, infer_dims, limit_outflows, lower, order, resolve
from simdyn.model.spec import ModelSpec


def spec(**tables: Any) -> ModelSpec:
    data: dict[str, Any] = {
        "model": {"name": "t", "time_units": "s"},
        "time": {"start": 0, "stop": 1, "dt": 0.25},
        **tables,
    }
    return spec_from_dict(data)


def upto(s: ModelSpec, last: Any, nodelist: Any = None) -> Draft:
    """The draft after the passes up to and including ``last``."""
    d = Draft(s, nodelist)
    for run in PASSES:
        d = run(d)
        if run is last:
            return d
    raise AssertionError(last)


TANK = {
    "constants": {"k": {"value": 0.5}},
    "stocks": {"tank": {"initial": "10", "inflows": ["fill"], "outflows": ["drain"]}},
    "flows": {"fill": {"equation": "1"}, "drain": {"equation": "k * tank"}},
}


def test_resolve_parses_equations_and_builds_net_rates() -> None:
    d = resolve(Draft(spec(**TANK)))
    assert list(d.vars) == ["tank", "fill", "drain"]
    assert d.vars["tank"].rate == BinOp("-", Name("fill", 0), Name("drain", 0), 0)
    assert d.vars["drain"].eq == parse("k * tank")
    assert d.vars["tank"].initial == Num(10.0, 1)


def test_resolve_puts_node_first_and_needs_a_nodelist() -> None:
    s = spec(
        dimensions={"level": ["a", "b"]},
        auxiliaries={"x": {"equation": "1", "dims": ["level", "node"]}},
    )
    d = resolve(Draft(s, ["n1", "n2", "n3"]))
    assert d.dim_order == ("node", "level")
    assert d.vars["x"].dims == ("node", "level")
    assert d.dim_sizes == {"level": 2, "node": 3}
    with pytest.raises(simdyn.ModelError, match="node"):
        resolve(Draft(s))


def test_resolve_rejects_a_flow_attached_to_no_stock() -> None:
    s = spec(stocks={"s": {"initial": "0"}}, flows={"f": {"equation": "1"}})
    with pytest.raises(simdyn.ModelError, match="attached to no stock"):
        resolve(Draft(s))


def test_expand_turns_a_smooth_into_a_hidden_stock_before_its_owner() -> None:
    d = expand(resolve(Draft(spec(auxiliaries={"y": {"equation": "SMTH1(TIME, 2) + 1"}}))))
    base = "_smth1_1_y"
    assert list(d.vars) == [f"{base}_in", f"{base}_tau", f"{base}_1", "y"]
    stage = d.vars[f"{base}_1"]
    assert (stage.kind, stage.hidden, stage.initial) == ("stock", True, Name(f"{base}_in", 0))
    assert stage.rate == BinOp(
        "/", BinOp("-", Name(f"{base}_in", 0), Name(f"{base}_1", 0), 0), Name(f"{base}_tau", 0), 0
    )
    assert d.vars["y"].eq == BinOp("+", Name(f"{base}_1", 1), Num(1.0, 18), 16)


def test_expand_names_cannot_collide_across_many_calls_in_one_equation() -> None:
    # before: DELAY1 at call 2 and DELAY at call 12 were both "_delay12_x"
    calls = ["SMTH1(0, 1)", "DELAY1(100, 1)", *["SMTH1(0, 1)"] * 9, "DELAY(0, 1)", "INIT(3)"]
    s = spec(auxiliaries={"x": {"equation": " + ".join(calls)}})
    d = expand(resolve(Draft(s)))
    hidden = [n for n in d.vars if n != "x"]
    assert len(hidden) == len(set(hidden))
    assert {n.split("_")[1] + "_" + n.split("_")[2] for n in hidden} == {
        *(f"smth1_{k}" for k in (1, *range(3, 12))),
        "delay1_2",
        "delay_12",
        "init_13",
    }
    ds = simdyn.simulate(simdyn.Model(s), method="euler")
    np.testing.assert_array_equal(ds.x.values.ravel(), 103.0)


def test_limit_outflows_scales_raw_outflows_of_a_non_negative_stock() -> None:
    tables = {**TANK, "stocks": {"tank": {**TANK["stocks"]["tank"], "non_negative": True}}}
    d = upto(spec(**tables), limit_outflows)
    assert d.vars["drain"].eq == BinOp(
        "*", Name("_raw_drain", 0), Name("_outflow_scale_tank", 0), 0
    )
    assert d.vars["_raw_drain"].eq == parse("k * tank")
    scale = d.vars["_outflow_scale_tank"].eq
    assert isinstance(scale, Call)
    assert scale.func == "MIN"
    assert d.vars["fill"].eq == parse("1")  # inflows are not limited


def test_infer_dims_gives_a_smooth_of_an_array_the_array_dims() -> None:
    s = spec(
        dimensions={"team": ["a", "b"]},
        constants={"v": {"value": [1.0, 2.0], "dims": ["team"]}},
        auxiliaries={"y": {"equation": "SMTH3(v, 4)", "dims": ["team"]}},
    )
    d = upto(s, infer_dims)
    assert d.vars["_smth3_1_y_in"].dims == ("team",)
    assert d.vars["_smth3_1_y_tau"].dims == ()
    assert d.vars["_smth3_1_y_3"].dims == ("team",)


def test_order_sorts_by_dependency_and_names_algebraic_loops() -> None:
    s = spec(
        auxiliaries={"c": {"equation": "b + 1"}, "b": {"equation": "a"}, "a": {"equation": "1"}}
    )
    d = upto(s, order)
    assert d.run_order == ["a", "b", "c"]
    assert d.needed == set()  # no stocks
    loop = spec(auxiliaries={"a": {"equation": "b"}, "b": {"equation": "a"}})
    with pytest.raises(simdyn.ModelError, match="algebraic loop: a -> b -> a"):
        upto(loop, order)


def test_order_needed_is_what_the_rates_reach() -> None:
    tables = {**TANK, "auxiliaries": {"report": {"equation": "tank * 2"}}}
    d = upto(spec(**tables), order)
    assert d.needed == {"fill", "drain"}
    assert d.init_order == ["tank", "fill", "drain", "report"]


def test_lower_gives_typed_assignments_and_the_state_layout() -> None:
    s = spec(
        dimensions={"team": ["a", "b"]},
        constants={"k": {"value": 0.5}},
        stocks={"s": {"initial": "1", "outflows": ["f"], "dims": ["team"]}},
        flows={"f": {"equation": "k * s + SMTH1(k, 1)", "dims": ["team"]}},
    )
    p = to_ir(s)
    assert [(x.name, x.start, x.stop, x.hidden) for x in p.stocks] == [
        ("s", 0, 2, False),
        ("_smth1_1_f_1", 2, 3, True),
    ]
    assert p.n_state == 3
    rate = p.rates[0]
    assert (rate.target, rate.kind, rate.dims, rate.shape, rate.expr_dims) == (
        "s",
        "rate",
        ("team",),
        (2,),
        ("team",),
    )
    kinds = {a.target: a.kind for a in p.initial}
    assert kinds == {
        "s": "initial",
        "_smth1_1_f_1": "initial",
        "_smth1_1_f_in": "auxiliary",
        "_smth1_1_f_tau": "auxiliary",
        "f": "flow",
    }
    initial_s = next(a for a in p.initial if a.target == "s")
    assert (initial_s.expr, initial_s.expr_dims, initial_s.dims) == (Num(1.0, 1), (), ("team",))
    assert [a.target for a in p.rhs] == ["_smth1_1_f_in", "_smth1_1_f_tau", "f"]
    assert p.symbols["k"] == ir.Symbol("k", "constant", (), ())
    assert p.symbols["_smth1_1_f_1"].hidden


def test_lower_rejects_an_equation_with_undeclared_dims() -> None:
    s = spec(
        dimensions={"team": ["a", "b"]},
        constants={"v": {"value": [1.0, 2.0], "dims": ["team"]}},
        auxiliaries={"y": {"equation": "v * 2"}},
    )
    d = upto(s, order)
    with pytest.raises(simdyn.ModelError, match=r"dimension.*team.*does not declare"):
        lower(d)


def test_emit_numpy_prints_and_binds_the_program() -> None:
    p = to_ir(spec(**TANK))
    source, functions = module_source(p)
    assert functions == ()
    assert "        def rhs(t, ts, y):" in source.splitlines()
    assert "            v_drain = (p_k * v_tank)" in source.splitlines()
    cm = emit_numpy(p)
    b = cm.bind({"k": np.array([0.5, 1.0])}, 2, dt=0.25, start=0.0, stop=1.0)
    np.testing.assert_array_equal(b.y0, [[10.0, 10.0]])
    np.testing.assert_array_equal(b.rhs(0.0, 0.0, b.y0), [[1 - 5.0, 1 - 10.0]])
