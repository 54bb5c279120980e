"""``dopri5`` and ``bs23`` in the compiled kernel take the numpy backend's steps and give its numbers.

Each scenario is integrated inside the kernel with its own time, step size and error control;
the kernel follows :func:`simdyn.integrate.integrate_embedded` operation for operation, so the
accepted steps, ``status``, ``failed_variable``, ``failed_time`` and the solver message are
identical and the saved values agree to rounding: numpy's vectorized ``exp``/``power`` (also
in the step-size factor ``err ** (-1 / 5)``) and the C library's may differ in the last bit, a
step size that differs in its last bit moves the later steps by as much, and the tests allow
1e-10 of each variable's largest magnitude (learning_org: see :data:`SENSITIVE`). Batches of 300 scenarios: a full block of 256 and a part
block, run in parallel.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import simdyn
from simdyn.model.compile import to_ir
from simdyn.model.emit.numba import kernel_source
from simdyn.model.functions import BindContext

sys.path.insert(0, str(Path(__file__).parent))
from closeness import assert_same_run

pytest.importorskip("numba")

Make = Callable[..., simdyn.Model]
N = 300  # not a multiple of the block (256)

#: a constant of each built-in model without a fixed DELAY or events, over a range
VARIED = {
    "teacup": ("characteristic_time", 5.0, 20.0),
    "sir": ("contact_rate", 0.3, 2.0),
    "bass": ("innovation", 0.01, 0.1),
    "logistic": ("growth_rate", 0.1, 1.5),
    "capability_trap": ("pressure_step", 0.0, 0.2),
    "workforce_chain": ("time_to_proficiency", 10.0, 25.0),
    "learning_org": ("delegation", 0.2, 0.8),
}
#: (rtol, atol) pairs: loose, the default, tight
TOLERANCES = ((1e-3, 1e-6), (1e-6, 1e-9), (1e-9, 1e-11))
#: learning_org calls EXP, LN, SQRT and ^ in every derivative, and its MIN/MAX kinks and long
#: chains of differences make it sensitive to rounding: the numpy backend itself, given inputs
#: one ulp apart, differs by up to 10⁻⁶–10⁻⁵ of a rate's largest magnitude (differences of
#: larger terms; its stocks agree to about 1e-9), and at rtol 1e-9 one scenario in 300 takes
#: one step more. It is compared at the loose and default tolerances, each variable to within
#: 10 times the numpy backend's own spread under a one-ulp change of the varied constant
SENSITIVE = {"learning_org"}


def _compare(
    model: simdyn.Model,
    params: dict[str, Any],
    method: str,
    spread: dict[str, Any] | None = None,
    **kw: Any,
) -> Any:
    """The compiled run equals the numpy run: the same steps, status and failures, and every
    saved value within 1e-10 of itself or of its variable's largest magnitude (with
    ``spread``, the numpy run of inputs one ulp apart: within 10 times its difference)."""
    ref = simdyn.simulate(model, params=params, method=method, backend="numpy", **kw)
    got = simdyn.simulate(model, params=params, method=method, backend="compiled", **kw)
    assert got.attrs["backend"] == "compiled"
    assert set(got.data_vars) == set(ref.data_vars)
    for name in ("steps", "status", "failed_variable", "failed_time"):
        np.testing.assert_array_equal(got[name].values, ref[name].values, err_msg=name)
    assert got.attrs.get("solver_message") == ref.attrs.get("solver_message")
    if spread is not None:
        nudged = simdyn.simulate(model, params=spread, method=method, backend="numpy", **kw)
        for name, var in ref.data_vars.items():
            if var.dtype.kind == "f":
                own = float(np.nanmax(np.abs(nudged[name].values - var.values), initial=0.0))
                scale = float(np.nanmax(np.abs(var.values), initial=0.0))
                diff = float(np.nanmax(np.abs(got[name].values - var.values), initial=0.0))
                assert diff <= 10 * own + 1e-12 * scale, (name, diff, own)
        return got
    for name, var in ref.data_vars.items():
        assert_same_run(got[name].values, var.values, rtol=1e-10, err_msg=name)
    return got


@pytest.mark.parametrize("method", ["dopri5", "bs23"])
@pytest.mark.parametrize("name", sorted(VARIED))
def test_built_in_models_take_the_numpy_backends_steps(name: str, method: str) -> None:
    model = simdyn.load_model(name)
    const, lo, hi = VARIED[name]
    params = {const: np.linspace(lo, hi, N)}
    spread = {const: np.nextafter(params[const], np.inf)} if name in SENSITIVE else None
    tight = method == "dopri5" and name not in SENSITIVE
    for rtol, atol in TOLERANCES if tight else TOLERANCES[:2]:
        got = _compare(model, params, method, spread, rtol=rtol, atol=atol)
        assert (got.status.values == 0).all()
        assert got.steps.values.min() > 0


def test_failing_scenarios_are_isolated_and_reported_alike(make_model: Make) -> None:
    """``1 / (TIME - z)``: a pole at TIME = z for some scenarios, in several blocks; each stops
    with the numpy backend's status, variable, time and message, and the others finish."""
    m = make_model(
        {"inverse": "1 / (TIME - z)"},
        constants={"z": 10.0},
        stocks={"s": {"initial": "1", "inflows": ["g"]}, "q": {"initial": "0", "inflows": ["h"]}},
        flows={"g": {"equation": "0.1"}, "h": {"equation": "s / (TIME - z)"}},
        time={"start": 0, "stop": 2, "dt": 0.25},
    )
    z = np.full(700, 10.0)
    z[[3, 300, 699]] = [1.0, 0.5, 1.5]
    for method in ("dopri5", "bs23"):
        got = _compare(m, {"z": z}, method)
        assert np.flatnonzero(got.status.values).tolist() == [3, 300, 699]
        assert got.attrs["solver_message"]
        assert np.isfinite(got.q.values[:, 0]).all()


def test_a_division_by_zero_at_a_saved_time_names_the_state_row_alike(make_model: Make) -> None:
    """``1 / (TIME - z)`` with z at a saved time the steps land on: inf, not a pole crossed."""
    m = make_model(
        {"gap": "TIME - z"},
        constants={"z": 1.0},
        stocks={"s": {"initial": "1", "inflows": ["g"]}},
        flows={"g": {"equation": "IF_THEN_ELSE(TIME >= z, 1 / (TIME - z), 0.1)"}},
        time={"start": 0, "stop": 2, "dt": 0.25},
    )
    got = _compare(m, {"z": [0.5, 1.0, 4.0, 1.25]}, "bs23")
    assert got.status.values.tolist() == [1, 1, 0, 1]


def test_a_collapsing_step_size_stops_alike() -> None:
    """``SAFEDIV(s, s - 10)`` with ``s`` starting at 10: a pole at the start collapses the step
    size; non-negative stocks are clamped in the saved values."""
    model = simdyn.model_from_dict(
        {
            "model": {"name": "collapse", "time_units": "month"},
            "time": {"start": 0, "stop": 4, "dt": 0.25},
            "constants": {"gain": {"value": 1.5}},
            "stocks": {"s": {"initial": "10", "inflows": ["f"], "non_negative": True}},
            "flows": {"f": {"equation": "SAFEDIV(s, s - 10) + INT(s) + (s ^ 0.5) * gain"}},
        }
    )
    for method in ("bs23", "dopri5"):
        got = _compare(model, {"gain": [1.0, 2.0, -40.0]}, method)
        assert (got.status.values[:2] == 1).all()


def test_a_model_without_stocks_is_saved_at_every_time(make_model: Make) -> None:
    m = make_model({"x": "TIME * 2 + a"}, constants={"a": 1.0})
    got = _compare(m, {"a": [1.0, 2.0]}, "dopri5")
    assert got.steps.values.tolist() == [0, 0]


def _scipy_run(model: simdyn.Model, rtol: float, atol: float, t_eval: Any) -> Any:
    """``solve_ivp(method="RK45")`` on the model's generated right-hand side, one scenario."""
    cm = model.compile()
    g = model.spec.time
    arrays = {
        c.name: np.broadcast_to(np.asarray(model.constants[c.name].value, float), c.shape).reshape(
            *c.shape, 1
        )
        for c in to_ir(model.spec).constants
    }
    ctx = BindContext(
        n_scenarios=1,
        dim_sizes=cm.dim_sizes,
        network=None,
        teams=None,
        seed=np.random.SeedSequence(0),
        scenarios=slice(0, 1),
    )
    bound = cm.bind(arrays, 1, dt=g.dt, start=g.start, stop=g.stop, ctx=ctx)

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(bound.rhs(t, t, y.reshape(-1, 1))).ravel()

    y0 = bound.y0.ravel()
    kw = {"method": "RK45", "rtol": rtol, "atol": atol}
    return solve_ivp(fun, (g.start, g.stop), y0, t_eval=t_eval, **kw)


@pytest.mark.parametrize("name", ["sir", "learning_org"])
def test_one_scenario_takes_scipys_rk45_steps(name: str) -> None:
    model = simdyn.load_model(name)
    rtol, atol = 1e-6, 1e-9
    got = simdyn.simulate(model, method="dopri5", backend="compiled", rtol=rtol, atol=atol)
    every_step = _scipy_run(model, rtol, atol, None)
    assert got.steps.values[0] == len(every_step.t) - 1
    ref = _scipy_run(model, rtol, atol, got.time.values)
    for stock in model.compile().stocks:
        values = got[stock.name].values.reshape(len(got.time), -1)
        assert_same_run(
            values, ref.y[stock.start : stock.stop].T, rtol=1e-11, err_msg=f"{name}: {stock.name}"
        )


def test_a_fixed_delay_and_random_events_stay_refused(make_model: Make) -> None:
    m = make_model(
        {"late": "DELAY(s, 1, 0)"},
        stocks={"s": {"initial": "1", "inflows": ["g"]}},
        flows={"g": {"equation": "0.1"}},
    )
    with pytest.raises(simdyn.ScenarioError, match="fixed DELAY, which dopri5 does not run"):
        simdyn.simulate(m, method="dopri5", backend="compiled")
    events = simdyn.model_from_dict(
        {
            "model": {"name": "shocks", "time_units": "s"},
            "time": {"start": 0, "stop": 1, "dt": 0.25},
            "stocks": {"s": {"initial": "1", "inflows": ["g"]}},
            "flows": {"g": {"equation": "0.1"}},
            "events": {"shock": {"hazard": "0.5", "reset": {"s": "s + 1"}}},
        }
    )
    with pytest.raises(simdyn.ScenarioError, match=r"random events \(shock\), which bs23"):
        simdyn.simulate(events, method="bs23", backend="compiled")


def test_a_large_auto_run_uses_the_cached_adaptive_driver() -> None:
    from simdyn.model.emit.numba_cache import is_cached

    model = simdyn.load_model("teacup")
    simdyn.simulate(model, params={"characteristic_time": np.linspace(5, 20, N)}, method="bs23")
    source = kernel_source(to_ir(model.spec))
    simdyn.simulate(
        model,
        params={"characteristic_time": np.linspace(5, 20, N)},
        method="bs23",
        backend="compiled",
    )
    assert is_cached(source, "run_bs23")
    big = simdyn.simulate(
        model, params={"characteristic_time": np.linspace(5, 20, 10_000)}, method="bs23"
    )
    assert big.attrs["backend"] == "compiled"
    small = simdyn.simulate(model, params={"characteristic_time": [5.0, 6.0]}, method="bs23")
    assert small.attrs["backend"] == "numpy"


def test_the_cache_key_covers_the_adaptive_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    from simdyn.model.emit import numba_cache

    source = kernel_source(to_ir(simdyn.load_model("teacup").spec))
    assert "numba_adaptive.py" in numba_cache.DRIVER_MODULES
    before = numba_cache.module_path(source)
    numba_cache._runtime_digest.cache_clear()
    monkeypatch.setattr(numba_cache, "DRIVER_MODULES", ())
    try:
        assert numba_cache.module_path(source) != before
    finally:
        numba_cache._runtime_digest.cache_clear()
