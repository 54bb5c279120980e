"""The compiled backend gives the numpy backend's numbers: models, builtins, methods, failures.

Each model compiles once (one kernel serves every fixed-step method); kernels are kept in the
user's cache folder, so a second test run loads them instead of compiling.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simdyn
from simdyn.model.compile import to_ir
from simdyn.model.emit.numba import kernel_source
from simdyn.model.emit.numba_cache import is_cached

sys.path.insert(0, str(Path(__file__).parent))
from closeness import assert_same_run

pytest.importorskip("numba")

Make = Callable[..., simdyn.Model]
METHODS = ("euler", "rk2", "rk4")

#: a constant of each built-in model, varied over three scenarios
VARIED = {
    "teacup": ("characteristic_time", [5.0, 10.0, 20.0]),
    "sir": ("contact_rate", [0.3, 0.5, 2.0]),
    "bass": ("innovation", [0.01, 0.03, 0.1]),
    "logistic": ("growth_rate", [0.1, 0.5, 1.5]),
    "capability_trap": ("pressure_step", [0.0, 0.05, 0.2]),
    "workforce_chain": ("time_to_proficiency", [10.0, 15.0, 25.0]),
    "learning_org": ("delegation", [0.2, 0.4, 0.8]),
}

#: every builtin the compiled backend runs, with dimensions, subscripts and element equations
EVERY_BUILTIN: dict[str, Any] = {
    "model": {"name": "every_builtin", "time_units": "month"},
    "time": {"start": 0, "stop": 6, "dt": 0.25},
    "dimensions": {"team": ["a", "b", "c"]},
    "constants": {
        "tau": {"value": 2.0},
        "gain": {"value": 1.5},
        "size": {"value": [3.0, 5.0, 2.0], "dims": ["team"]},
    },
    "lookups": {"effect": {"points": [[0, 0], [5, 1], [20, 1.5]]}},
    "stocks": {
        "s": {
            "initial": "10",
            "inflows": ["inflow"],
            "outflows": ["outflow"],
            "non_negative": True,
        },
        "w": {"initial": "size", "inflows": ["growth"], "dims": ["team"]},
    },
    "flows": {
        "inflow": {
            "equation": "SMTH1(STEP(4, 3), tau) + DELAY3(PULSE(2, 1), tau) + RAMP(0.2, 1, 4)"
            " + PULSE(1, 0.5, 1.5) + RAMP(0.1, 2)"
        },
        "outflow": {"equation": "gain * SMTH3(s, tau) + DELAYN(s, tau, 4) / 10"},
        "growth": {
            "equation": "w / tau * IF_THEN_ELSE(TIME > 2 AND NOT(w[b] > 50), 0.1, -0.05)",
            "dims": ["team"],
        },
    },
    "auxiliaries": {
        "a": {"equation": "DELAY1(s, tau, 3) + INIT(s) + effect(s) + LOOKUP(effect, TIME)"},
        "b": {
            "equation": "SMTH1(a, 1, 2) + SAFEDIV(a, s - 10) + SAFEDIV(1, 0, 7) + MOD(TIME, 1.5)"
        },
        "math": {
            "equation": "ABS(-a) + EXP(-TIME) + LN(1 + s) + LOG10(2 + s) + SQRT(s + 1) + SIN(a)"
            " + COS(a) + TAN(0.1 * a) + ARCSIN(0.5) + ARCCOS(0.25) + ARCTAN(a) + INT(a) + PI"
            " + a ^ 0.5 + DT + STARTTIME + STOPTIME"
        },
        "logic": {"equation": "(s > 5) + (s < 5) + (s = 10) + (s <> 10) + (s >= 1 OR s <= 0)"},
        "total": {"equation": "SUM(w) + MEAN(w) + MIN(w) + MAX(w) + MIN(s, 3) + MAX(s, 3)"},
        "share": {"equation": "w / SUM(w[*])", "dims": ["team"]},
        "per_team": {
            "equation": {"a": "w[a] * 2", "b": "total", "c": "SUM(w, team) - 1"},
            "dims": ["team"],
        },
        "mixed": {"equation": "share * size + w[c]", "dims": ["team"]},
    },
}


def _compare(model: simdyn.Model, params: dict[str, Any], method: str) -> None:
    """Equal to 1e-12 of each value or of the variable's largest magnitude (``closeness``).

    The operations are the same, but numpy's vectorized ``exp``/``log``/``power`` may differ
    from the C library's (which the kernel calls) in the last bit; a difference of two large
    terms (a stock minus its goal) turns that into a larger relative difference near zero.
    """
    ref = simdyn.simulate(model, params=params, method=method, backend="numpy")
    got = simdyn.simulate(model, params=params, method=method, backend="compiled")
    assert got.attrs["backend"] == "compiled"
    assert ref.attrs["backend"] == "numpy"
    assert set(got.data_vars) == set(ref.data_vars)
    for name, var in ref.data_vars.items():
        assert_same_run(got[name].values, var.values, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", sorted(VARIED))
def test_built_in_models_give_the_same_results(name: str) -> None:
    model = simdyn.load_model(name)
    const, values = VARIED[name]
    for method in METHODS:
        _compare(model, {const: values}, method)


def test_every_builtin_gives_the_same_results() -> None:
    model = simdyn.model_from_dict(EVERY_BUILTIN)
    for method in METHODS:
        _compare(model, {"tau": [1.0, 2.0, 3.5], "size[b]": [5.0, 40.0, 60.0]}, method)


def test_the_fused_step_does_the_staged_drivers_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run_rk4`` (every stage in one scenario loop) gives the staged ``run``'s numbers, bit
    for bit: the same stage states and the same sum in the same order."""
    model = simdyn.model_from_dict(EVERY_BUILTIN)
    params = {"tau": [1.0, 2.0, 3.5], "size[b]": [5.0, 40.0, 60.0]}
    fused = simdyn.simulate(model, params=params, method="rk4", backend="compiled")
    kernel = model.kernel()
    monkeypatch.setattr(kernel, "fixed_driver", lambda tb, par: kernel.run_serial)
    staged = simdyn.simulate(model, params=params, method="rk4", backend="compiled")
    for name, var in staged.data_vars.items():
        np.testing.assert_array_equal(fused[name].values, var.values, err_msg=name, strict=True)


def test_failures_are_isolated_and_reported_alike(make_model: Make) -> None:
    m = make_model(
        {"inverse": "1 / (TIME - z)"},
        constants={"z": 10.0},
        stocks={"s": {"initial": "1", "inflows": ["g"]}, "q": {"initial": "0", "inflows": ["h"]}},
        flows={"g": {"equation": "0.1"}, "h": {"equation": "s / (TIME - z)"}},
        time={"start": 0, "stop": 2, "dt": 0.25},
    )
    for method in ("euler", "rk4"):
        _compare(m, {"z": [10.0, 1.0, 0.5, 20.0]}, method)
    # several blocks of scenarios, run in parallel, failures in the later ones
    many = np.full(700, 10.0)
    many[[3, 300, 699]] = [1.0, 0.5, 1.5]
    _compare(m, {"z": many}, "rk4")
    ds = simdyn.simulate(m, params={"z": [10.0, 1.0]}, method="euler", backend="compiled")
    assert ds.status.values.tolist() == [0, 1]
    assert ds.failed_variable.values.tolist() == ["", "h"]  # the flow that went non-finite


def test_the_kernel_is_kept_on_disk_and_a_large_auto_run_uses_it() -> None:
    model = simdyn.load_model("teacup")
    # several blocks: the parallel driver, the one a large batch runs
    simdyn.simulate(
        model, params={"characteristic_time": np.linspace(5, 20, 600)}, backend="compiled"
    )
    assert is_cached(kernel_source(to_ir(model.spec)), "run_euler")
    small = simdyn.simulate(model, params={"characteristic_time": [5.0, 6.0]})
    assert small.attrs["backend"] == "numpy"
    big = simdyn.simulate(model, params={"characteristic_time": np.linspace(5, 20, 10_000)})
    assert big.attrs["backend"] == "compiled"
    assert big.attrs["compile_seconds"] >= 0


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        ("sir", {"method": "RK45"}, "fixed-step methods"),
    ],
)
def test_what_the_compiled_backend_refuses_is_named(
    model: str, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(simdyn.ScenarioError, match=match) as err:
        simdyn.simulate(model, backend="compiled", **kwargs)
    assert 'backend="numpy"' in str(err.value)


def test_lookups_match_numpy_at_breakpoints_beyond_the_ends_and_on_nan(make_model: Make) -> None:
    m = make_model(
        {
            # TIME - 2 runs over -2..4 in steps of 0.25: every breakpoint, both ends and beyond
            "on_grid": "f(TIME - 2 + shift)",
            "long": "g(TIME + shift)",  # more points than a select chain takes: the loop
            "undefined": "f(SQRT(TIME - 5))",  # NaN before TIME = 5
        },
        constants={"shift": 0.0},
        stocks={"s": {"initial": "1", "inflows": ["grow"]}},
        flows={"grow": {"equation": "f(s - 1) + g(s)"}},
        lookups={
            "f": {"points": [[-1, 0.5], [0, 1], [0.5, 3], [2, 2], [3, -1]]},
            "g": {"points": [[k / 10, math.sin(k / 7)] for k in range(70)]},
        },
        time={"start": 0, "stop": 6, "dt": 0.25},
    )
    src = kernel_source(to_ir(m.spec))
    assert "def _lk_f(x):\n    xj = -1.0" in src  # the select chain
    assert "_interp(x, L_lk_g_x, L_lk_g_y)" in src
    for method in METHODS:
        _compare(m, {"shift": [0.0, 0.1, -0.3]}, method)


def test_the_first_non_finite_saved_variable_is_named_alike(make_model: Make) -> None:
    m = make_model(
        {
            "first": "LN(z - TIME)",  # -inf at TIME = z, NaN after
            "share": {"equation": "w / (z - TIME)", "dims": ["team"]},  # inf at TIME = z
        },
        constants={"z": 10.0},
        dimensions={"team": ["a", "b"]},
        stocks={"w": {"initial": "1", "inflows": ["g"], "dims": ["team"]}},
        flows={"g": {"equation": "0.1", "dims": ["team"]}},
        time={"start": 0, "stop": 3, "dt": 0.25},
    )
    z = [10.0, 2.0, 0.6, 20.0, 1.0]
    _compare(m, {"z": z}, "euler")
    ds = simdyn.simulate(m, params={"z": z}, method="euler", backend="compiled")
    assert ds.status.values.tolist() == [0, 1, 1, 0, 1]
    assert ds.failed_time.values[[1, 2, 4]].tolist() == [2.0, 0.75, 1.0]


def test_a_change_of_the_kernel_helpers_leaves_old_kernels_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from simdyn.model.emit import numba_cache

    source = kernel_source(to_ir(simdyn.load_model("teacup").spec))
    before = numba_cache.module_path(source)
    monkeypatch.setattr(numba_cache, "_runtime_digest", lambda: "helpers of another release")
    assert numba_cache.module_path(source) != before
