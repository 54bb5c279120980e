"""Dimensions: apply-to-all and per-element equations, reductions, subscripts, broadcasting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import simdyn

Make = Callable[..., simdyn.Model]

DIMS = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"]}
CONSTANTS: dict[str, Any] = {
    "c": {"dims": ["a"], "value": [1, 2, 3]},
    "k": {"dims": ["b"], "value": {"b1": 10, "b2": 20}},
    "s0": 2,
}
AUXES: dict[str, Any] = {
    "doubled": {"dims": ["a"], "equation": "c * 2"},
    "per_element": {"dims": ["a"], "equation": {"a1": "1", "a2": "c[a1] + 5", "a3": "TIME"}},
    "total": "SUM(c)",
    "total_star": "SUM(c[*])",
    "average": "MEAN(c)",
    "smallest": "MIN(c)",
    "largest": "MAX(c)",
    "outer": {"dims": ["a", "b"], "equation": "c * k"},
    "outer_ba": {"dims": ["b", "a"], "equation": "k * c"},
    "over_a": {"dims": ["b"], "equation": "SUM(outer, a)"},
    "over_b": {"dims": ["a"], "equation": "MEAN(outer, b)"},
    "picked": "c[a2] + k[b2]",
    "broadcast_one": {"dims": ["a", "b"], "equation": "1"},
    "column_max": {"dims": ["b"], "equation": "MAX(outer[*, b1]) + k"},
    "total_outer": "SUM(outer)",
    "share": {"dims": ["a"], "equation": "c / SUM(c)"},
    "if_array": {"dims": ["a"], "equation": "IF c > 1.5 THEN c ELSE -c"},
}


@pytest.fixture
def dim_model(make_model: Make) -> simdyn.Model:
    return make_model(
        AUXES,
        constants=CONSTANTS,
        dimensions=DIMS,
        stocks={"level": {"dims": ["a"], "initial": "c * s0", "inflows": ["filling"]}},
        flows={"filling": {"dims": ["a"], "equation": "c"}},
        time={"start": 0, "stop": 1, "dt": 0.5},
    )


def _at0(ds: Any, name: str) -> Any:
    return ds[name].isel(time=0, scenario=0).values.tolist()


@pytest.mark.parametrize(
    ("name", "dims", "expected"),
    [
        ("doubled", ("a",), [2, 4, 6]),
        ("per_element", ("a",), [1, 6, 0]),
        ("total", (), 6),
        ("total_star", (), 6),
        ("average", (), 2),
        ("smallest", (), 1),
        ("largest", (), 3),
        ("outer", ("a", "b"), [[10, 20], [20, 40], [30, 60]]),
        ("outer_ba", ("a", "b"), [[10, 20], [20, 40], [30, 60]]),
        ("over_a", ("b",), [60, 120]),
        ("over_b", ("a",), [15, 30, 45]),
        ("picked", (), 22),
        ("broadcast_one", ("a", "b"), [[1, 1], [1, 1], [1, 1]]),
        ("column_max", ("b",), [40, 50]),
        ("total_outer", (), 180),
        ("share", ("a",), [1 / 6, 2 / 6, 3 / 6]),
        ("if_array", ("a",), [-1, 2, 3]),
        ("level", ("a",), [2, 4, 6]),
        ("filling", ("a",), [1, 2, 3]),
    ],
)
def test_dimensioned_values(
    dim_model: simdyn.Model, name: str, dims: tuple[str, ...], expected: Any
) -> None:
    ds = simdyn.simulate(dim_model, method="euler")
    assert ds[name].dims == ("time", *dims, "scenario")
    np.testing.assert_allclose(_at0(ds, name), expected)


def test_dimensioned_stock_integrates_per_element(dim_model: simdyn.Model) -> None:
    ds = simdyn.simulate(dim_model, method="rk4")
    np.testing.assert_allclose(ds.level.sel(time=1.0, scenario=0).values, [3, 6, 9])
    assert list(ds.a.values) == ["a1", "a2", "a3"]
    assert list(ds.b.values) == ["b1", "b2"]
    np.testing.assert_allclose(ds.per_element.sel(a="a3", scenario=0).values, ds.time.values)


def test_dimensioned_constant_per_scenario(dim_model: simdyn.Model) -> None:
    c = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # (a, scenario)
    ds = simdyn.simulate(dim_model, method="euler", params={"c": c})
    assert ds.sizes["scenario"] == 2
    np.testing.assert_allclose(ds.total.isel(time=0).values, [9, 12])
    np.testing.assert_allclose(ds.level.isel(time=0).values, 2 * c)
    assert ds.c.dims == ("a", "scenario")
    np.testing.assert_array_equal(ds.c.values, c)


def test_dimensioned_constant_shared(dim_model: simdyn.Model) -> None:
    ds = simdyn.simulate(dim_model, method="euler", params={"c": [4.0, 5.0, 6.0]})
    assert ds.sizes["scenario"] == 1
    assert float(ds.total.isel(time=0, scenario=0)) == 15


def test_element_keys_per_scenario(dim_model: simdyn.Model) -> None:
    ds = simdyn.simulate(
        dim_model, method="euler", params={"k[b2]": [7.0, 8.0, 9.0], "c[a1]": 100.0}
    )
    assert ds.sizes["scenario"] == 3
    np.testing.assert_allclose(ds.picked.isel(time=0).values, [2 + 7, 2 + 8, 2 + 9])
    np.testing.assert_allclose(ds.total.isel(time=0).values, 105)
    np.testing.assert_array_equal(ds["k[b2]"].values, [7, 8, 9])
    np.testing.assert_allclose(
        ds.outer.isel(time=0, scenario=2).values, [[1000, 9 * 100], [20, 18], [30, 27]]
    )


def test_element_table_for_a_dimensioned_constant(dim_model: simdyn.Model) -> None:
    ds = simdyn.simulate(dim_model, method="euler", params={"k": {"b1": [1.0, 2.0]}})
    np.testing.assert_allclose(ds.over_a.isel(time=0).values, [[6, 12], [120, 120]])


def test_dimensioned_constant_every_element_one_number(make_model: Make) -> None:
    m = make_model({"y": "SUM(c)"}, constants={"c": {"dims": ["a"], "value": 0.5}}, dimensions=DIMS)
    assert float(simdyn.simulate(m, method="euler").y.values[0, 0]) == 1.5


def test_smooth_of_an_array(make_model: Make) -> None:
    m = make_model(
        {"sm": {"dims": ["a"], "equation": "SMTH1(c * 2, 1, 0)"}},
        constants=CONSTANTS,
        dimensions=DIMS,
        time={"start": 0, "stop": 2, "dt": 0.0625},
    )
    ds = simdyn.simulate(m, method="rk4")
    t = ds.time.values[:, None]
    np.testing.assert_allclose(
        ds.sm.isel(scenario=0).values, np.array([2, 4, 6]) * (1 - np.exp(-t)), rtol=0, atol=1e-6
    )


def test_array_mismatch_is_an_error(make_model: Make) -> None:
    m = make_model({"y": "c * 2"}, constants=CONSTANTS, dimensions=DIMS)
    with pytest.raises(simdyn.ModelError, match=r"auxiliaries\.y\.equation.*dimension.*a"):
        m.compile()


@pytest.mark.parametrize(
    ("equation", "match"),
    [
        ("c[a9]", "'a9' is not an element of dimension 'a'"),
        ("c[a1, b1]", "1 dimension"),
        ("SUM(c, b)", "no dimension 'b'"),
        ("SUM(c, nothing)", "must be a dimension name"),
        ("SUM(s0)", "needs an array"),
        ("a + 1", "is a dimension, not a value"),
    ],
)
def test_bad_dimension_use(make_model: Make, equation: str, match: str) -> None:
    m = make_model({"y": equation}, constants=CONSTANTS, dimensions=DIMS)
    with pytest.raises(simdyn.ExpressionError, match=match):
        m.compile()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"c": np.ones((2, 2))}, "shape"),
        ({"c[a9]": 1.0}, "not an element"),
        ({"s0[a1]": 1.0}, "no elements"),
        ({"k": {"b7": 1.0}}, "not an element"),
        ({"c[a1]": np.ones((2, 2))}, "1-D"),
    ],
)
def test_bad_dimensioned_params(
    dim_model: simdyn.Model, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(simdyn.ScenarioError, match=match):
        simdyn.simulate(dim_model, params=params)
