"""Bad input: every mistake is a SimdynError with a one-line located message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simdyn
from simdyn.errors import ExpressionError, ModelError, ScenarioError, SimdynError

Make = Callable[..., simdyn.Model]
BASE: dict[str, Any] = {"model": {"name": "t", "time_units": "s"}}


def _model_error(data: dict[str, Any]) -> SimdynError:
    with pytest.raises(SimdynError) as info:
        simdyn.model_from_dict({**BASE, **data}).compile()
    msg = str(info.value)
    assert "\n" not in msg
    return info.value


@pytest.mark.parametrize(
    ("data", "kind", "parts"),
    [
        (
            {"constants": {"y": 1}, "auxiliaries": {"x": "1 + yy"}},
            ExpressionError,
            ["auxiliaries.x.equation", "column 5", "unknown name 'yy'", "did you mean 'y'"],
        ),
        (
            {"auxiliaries": {"a": "b + 1", "b": "c * 2", "c": "a"}},
            ModelError,
            ["algebraic loop", "a", "b", "c", "->"],
        ),
        ({"auxiliaries": {"a": "1 + * 2"}}, ExpressionError, ["column 5", "found '*'"]),
        ({"auxiliaries": {"a": "(1 + 2"}}, ExpressionError, ["column 7", "')'"]),
        ({"auxiliaries": {"a": "1 + $"}}, ExpressionError, ["column 5", "'$'"]),
        ({"auxiliaries": {"a": "1 < 2 < 3"}}, ExpressionError, ["chained"]),
        ({"auxiliaries": {"a": "x[1]"}}, ExpressionError, ["named, not numbered"]),
        ({"auxiliaries": {"a": ""}}, ExpressionError, ["empty equation"]),
        ({"auxiliaries": {"a": {"equation": [1]}}}, ModelError, ["auxiliaries.a.equation", "list"]),
        ({"constants": {"a": "fast"}}, ModelError, ["constants.a.value", "number"]),
        ({"constants": {"a": True}}, ModelError, ["constants.a.value", "number"]),
        ({"stocks": {"s": {"initial": "1", "non_negative": "yes"}}}, ModelError, ["true or false"]),
        (
            {"auxiliaries": {"a": {"equaton": "1"}}},
            ModelError,
            ["unknown key 'equaton'", "did you mean 'equation'"],
        ),
        ({"auxliaries": {}}, ModelError, ["did you mean 'auxiliaries'"]),
        ({"time": {"stepsize": 1}}, ModelError, ["unknown key 'stepsize'", "allowed keys"]),
        ({"flows": {"f": {"equation": "1"}}}, ModelError, ["flows.f", "attached to no stock"]),
        (
            {"stocks": {"s": {"initial": "0", "inflows": ["a"]}}, "auxiliaries": {"a": "1"}},
            ModelError,
            ["stocks.s.inflows", "'a' is not a flow"],
        ),
        ({"constants": {"a": 1}, "auxiliaries": {"a": "1"}}, ModelError, ["already defined"]),
        ({"constants": {"time": 1}}, ModelError, ["'time' is reserved"]),
        ({"constants": {"Exp": 1}}, ModelError, ["'Exp' is reserved"]),
        ({"auxiliaries": {"_hidden": "1"}}, ModelError, ["reserved"]),
        ({"auxiliaries": {"node": "1"}}, ModelError, ["reserved"]),
        ({"auxiliaries": {"bad-name": "1"}}, ModelError, ["not a valid name"]),
        (
            {"auxiliaries": {"a": {"dims": ["foo"], "equation": "1"}}},
            ModelError,
            ["unknown dimension 'foo'"],
        ),
        (
            {"auxiliaries": {"a": "MIN(1, 2, 3)"}},
            ExpressionError,
            ["MIN takes 1 to 2 argument(s), 3 given"],
        ),
        ({"auxiliaries": {"a": "SMTH1(1)"}}, ExpressionError, ["SMTH1 takes 2 to 3"]),
        ({"auxiliaries": {"a": "EXP()"}}, ExpressionError, ["EXP takes 1 argument(s), 0 given"]),
        ({"auxiliaries": {"a": "TIME(1)"}}, ExpressionError, ["TIME takes 0 argument(s), 1 given"]),
        ({"auxiliaries": {"a": "EXP"}}, ExpressionError, ["EXP needs arguments"]),
        ({"auxiliaries": {"a": "FOO(1)"}}, ExpressionError, ["unknown function 'FOO'"]),
        ({"auxiliaries": {"a": "b(1)", "b": "1"}}, ExpressionError, ["'b' is a auxiliary"]),
        (
            {"lookups": {"f": {"points": [[0, 0], [1, 1]]}}, "auxiliaries": {"a": "f + 1"}},
            ExpressionError,
            ["is a lookup"],
        ),
        ({"lookups": {"f": {"points": [[0, 0], [0, 1]]}}}, ModelError, ["increase strictly"]),
        ({"lookups": {"f": {"points": [[0, 0]]}}}, ModelError, ["at least two"]),
        ({"auxiliaries": {"a": "LOOKUP(2, 1)"}}, ExpressionError, ["name of a lookup"]),
        ({"time": {"start": 0, "stop": -1, "dt": 1}}, ModelError, ["time.stop", "after start"]),
        ({"time": {"dt": 0}}, ModelError, ["time.dt", "positive"]),
        ({"model": {"name": "x"}}, ModelError, ["time_units"]),
        ({"constants": {"a": {"value": 5, "min": 0, "max": 1}}}, ModelError, ["above the maximum"]),
        ({"dimensions": {"d": []}}, ModelError, ["at least one element"]),
        ({"dimensions": {"d": ["e", "e"]}}, ModelError, ["unique"]),
        (
            {
                "dimensions": {"d": ["e1", "e2"]},
                "constants": {"c": {"dims": ["d"], "value": [1, 2, 3]}},
            },
            ModelError,
            ["has 3 values", "2 elements"],
        ),
        (
            {"auxiliaries": {"a": "SMTH1(a, 1) + b", "b": "a"}},
            ModelError,
            ["algebraic loop", "a", "b"],
        ),
        (
            {"stocks": {"s": {"initial": "t0"}}, "auxiliaries": {"t0": "s"}},
            ModelError,
            ["circular initial"],
        ),
        (
            {"model": {"name": "t", "time_units": "s", "key_outputs": ["nope"]}},
            ModelError,
            ["key output 'nope'"],
        ),
    ],
)
def test_model_errors(data: dict[str, Any], kind: type[SimdynError], parts: list[str]) -> None:
    err = _model_error(data)
    assert isinstance(err, kind), (type(err), err)
    for part in parts:
        assert part in str(err), (part, str(err))


def test_algebraic_loop_names_every_variable_in_the_loop() -> None:
    err = _model_error(
        {
            "auxiliaries": {
                "first": "second + 1",
                "second": "third * 2",
                "third": "first",
                "other": "1",
            }
        }
    )
    assert "first -> " in str(err)
    for name in ("first", "second", "third"):
        assert name in str(err)
    assert "other" not in str(err)


def test_smooth_breaks_a_loop() -> None:
    m = simdyn.model_from_dict({**BASE, "auxiliaries": {"a": "SMTH1(b, 1, 0) + 1", "b": "a"}})
    ds = simdyn.simulate(m, method="euler")
    assert ds.a.values[0, 0] == 1.0


def test_errors_from_a_file_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[model]\nname = "x"\ntime_units = "s"\n\n[auxiliaries]\na = "1 +"\n')
    with pytest.raises(ExpressionError) as info:
        simdyn.load_model(path).compile()
    msg = str(info.value)
    assert msg.startswith(f"{path}:6: auxiliaries.a.equation (column 4): ")
    path.write_text('[model]\nname = "x"\ntime_units = "s"\n[auxiliaries]\nb = 3 3\n')
    with pytest.raises(SimdynError, match=r"m\.toml:5: .*TOML"):
        simdyn.load_model(path)
    path.write_text('[model]\nname = "x"\ntime_units = "s"\n[flows.f]\nequation = "1"\n')
    with pytest.raises(ModelError, match=r"m\.toml:4: flows\.f: flow 'f' is attached to no stock"):
        simdyn.load_model(path).compile()


@pytest.fixture(scope="module")
def teacup() -> simdyn.Model:
    return simdyn.load_model("teacup")


@pytest.mark.parametrize(
    ("kwargs", "parts"),
    [
        ({"params": {"nope": 1}}, ["params.nope", "not a constant"]),
        ({"params": {"room_temp": 1}}, ["did you mean 'room_temperature'"]),
        ({"params": {"characteristic_time": 0.01}}, ["below the minimum 0.1"]),
        ({"params": {"characteristic_time": [1, 0.0]}}, ["below the minimum"]),
        (
            {"params": {"characteristic_time": [1, 2], "room_temperature": [1, 2, 3]}},
            ["3 values", "2 scenarios"],
        ),
        ({"params": {"characteristic_time": "abc"}}, ["number"]),
        ({"params": {"room_temperature": np.nan}}, ["finite"]),
        ({"params": {"characteristic_time": [[1, 2]]}}, ["1-D"]),
        ({"presets": {"style": "x"}}, ["no preset group"]),
        ({"dt": 0.7, "save_per": 0.7}, ["whole number of steps"]),
        ({"dt": 0}, ["dt must be positive"]),
        ({"dt": -1}, ["dt must be positive"]),
        ({"stop": -1}, ["must be after start"]),
        ({"start": np.nan}, ["start must be a finite"]),
        ({"save_per": 0.2}, ["whole multiple of dt"]),
        ({"save_per": 0.0625}, ["whole multiple of dt"]),
        ({"dt": 1e-8}, ["too many"]),
        ({"method": "rk5"}, ["unknown method 'rk5'", "rk4"]),
        ({"save": ["foo"]}, ["save", "'foo' is not a stock"]),
        ({"save": ["room_temperature"]}, ["'room_temperature' is not a stock"]),
    ],
)
def test_run_errors(teacup: simdyn.Model, kwargs: dict[str, Any], parts: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        simdyn.simulate(teacup, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    for part in parts:
        assert part in msg, (part, msg)


def test_time_grid_validates_itself() -> None:
    with pytest.raises(ScenarioError, match="save_per"):
        simdyn.TimeGrid(0, 1, 0.25, 0.3)
    grid = simdyn.TimeGrid(0, 1, 0.25, 0.5)
    assert grid.n_steps == 4
    np.testing.assert_array_equal(grid.times, [0, 0.5, 1])
