"""Per-scenario adaptive stepping (``dopri5``, ``bs23``): accuracy, scipy parity, batch independence."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import simdyn
from simdyn.integrate import BS23, DOPRI5, EmbeddedPair, integrate_embedded
from simdyn.integrate.fixed import Status

Make = Callable[..., simdyn.Model]
PAIRS = [(DOPRI5, "RK45"), (BS23, "RK23")]
RATES = np.array([-0.5, -1.0, -3.0, 0.4, 0.0])


def _decay(pair: EmbeddedPair, rates: np.ndarray, rtol: float) -> tuple[np.ndarray, Status]:
    t_eval = np.linspace(0.0, 4.0, 9)
    out = np.empty((len(t_eval), 2, len(rates)))

    def rhs(
        t: np.ndarray, ts: np.ndarray, y: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        # y0' = r y0 (exponential), y1' = cos(t) (time enters per scenario)
        value = np.stack([rates * y[0], np.cos(t) + 0 * y[1]])
        if out is None:
            return value
        out[...] = value
        return out

    def on_save(k: int, t: float, y: np.ndarray) -> None:
        out[k] = y

    y0 = np.ones((2, len(rates)))
    st = integrate_embedded(
        rhs, y0, t_eval=t_eval, pair=pair, on_save=on_save, rtol=rtol, atol=rtol * 1e-3
    )
    return out, st


@pytest.mark.parametrize(("pair", "_"), PAIRS)
def test_accuracy_against_the_analytic_solution_improves_with_rtol(
    pair: EmbeddedPair, _: str
) -> None:
    t = np.linspace(0.0, 4.0, 9)
    exact0 = np.exp(RATES[None, :] * t[:, None])
    exact1 = 1 + np.sin(t)[:, None]
    errors = []
    for rtol in (1e-3, 1e-5, 1e-7) if pair is BS23 else (1e-4, 1e-7, 1e-10):
        out, st = _decay(pair, RATES, rtol)
        assert st.ok.all()
        err = max(np.abs(out[:, 0] - exact0).max(), np.abs(out[:, 1] - exact1).max())
        assert err < 50 * rtol
        errors.append(err)
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize(("pair", "scipy_method"), PAIRS)
def test_each_scenario_follows_scipys_step_control(pair: EmbeddedPair, scipy_method: str) -> None:
    """Scenario by scenario, the same steps and dense output as ``solve_ivp`` with that pair."""
    out, st = _decay(pair, RATES, 1e-6)
    assert st.steps is not None
    t_eval = np.linspace(0.0, 4.0, 9)
    for s, r in enumerate(RATES):
        ref = solve_ivp(
            lambda t, y, r=r: np.array([r * y[0], np.cos(t)]),
            (0.0, 4.0),
            [1.0, 1.0],
            method=scipy_method,
            t_eval=t_eval,
            rtol=1e-6,
            atol=1e-9,
        )
        np.testing.assert_allclose(out[:, :, s], ref.y.T, rtol=1e-12, atol=1e-13)
        # solve_ivp evaluates two derivatives to choose the first step, then (stages) per step
        assert ref.nfev - 2 >= pair.stages * st.steps[s]


@pytest.mark.parametrize("method", ["dopri5", "bs23"])
def test_batch_equals_single_runs_and_steps_do_not_depend_on_neighbours(method: str) -> None:
    sir = simdyn.load_model("sir")
    beta = np.array([0.2, 0.9, 3.0, 0.45])
    kw = {"method": method, "stop": 40.0, "rtol": 1e-5, "atol": 1e-6}
    batch = simdyn.simulate(sir, params={"contact_rate": beta}, **kw)
    steps = batch.steps.values
    assert len(set(steps.tolist())) > 1  # the scenarios really chose different steps
    for k, b in enumerate(beta):
        single = simdyn.simulate(sir, params={"contact_rate": b}, **kw)
        assert single.steps.values[0] == steps[k]
        for name in ("susceptible", "infected", "infection"):
            np.testing.assert_array_equal(batch[name].values[:, k], single[name].values[:, 0])
    # an easy scenario keeps its steps beside a hard one
    pair = simdyn.simulate(sir, params={"contact_rate": [0.2, 3.0]}, **kw)
    assert pair.steps.values.tolist() == [steps[0], steps[2]]


@pytest.mark.parametrize("model", ["teacup", "sir", "bass", "logistic", "learning_org"])
def test_built_in_models_agree_with_scipys_rk45(model: str) -> None:
    ours = simdyn.simulate(model, method="dopri5", rtol=1e-8, atol=1e-8)
    ref = simdyn.simulate(model, method="RK45", rtol=1e-8, atol=1e-8)
    assert (ours.status.values == 0).all()
    for name, var in ref.data_vars.items():
        if "time" in var.dims:
            np.testing.assert_allclose(ours[name].values, var.values, rtol=1e-6, atol=1e-8)


def test_a_failing_scenario_names_its_variable_and_the_others_finish(make_model: Make) -> None:
    m = make_model(
        {},
        constants={"z": 1.0},
        stocks={"s": {"initial": "1", "inflows": ["g"]}, "q": {"initial": "0", "inflows": ["h"]}},
        flows={"g": {"equation": "0.1"}, "h": {"equation": "1 / (TIME - z)"}},
        time={"start": 0, "stop": 2, "dt": 0.25},
    )
    ds = simdyn.simulate(m, method="dopri5", params={"z": [10.0, 1.0]})
    assert ds.status.values.tolist() == [0, 1]
    assert ds.failed_variable.values.tolist() == ["", "h"]  # the flow that went non-finite
    assert 1.0 <= ds.failed_time.values[1] <= 1.25
    assert np.isfinite(ds.q.values[:, 0]).all()
    np.testing.assert_allclose(ds.s.values[:, 0], 1 + 0.1 * ds.time.values)


def test_a_fixed_delay_is_refused(make_model: Make) -> None:
    m = make_model(
        {"late": "DELAY(s, 1, 0)"},
        stocks={"s": {"initial": "1", "inflows": ["g"]}},
        flows={"g": {"equation": "0.1"}},
    )
    with pytest.raises(simdyn.ScenarioError, match="fixed DELAY"):
        simdyn.simulate(m, method="dopri5")


def test_a_model_without_stocks_is_saved_at_every_time(make_model: Make) -> None:
    m = make_model({"x": "TIME * 2"})
    ds = simdyn.simulate(m, method="bs23")
    np.testing.assert_allclose(ds.x.values[:, 0], 2 * ds.time.values)


def test_a_collapsed_step_size_fails_the_scenario_instead_of_crawling() -> None:
    """``SAFEDIV(s, s - 10)`` with ``s`` starting at 10 switches between 0 and a pole at the
    start: the step size collapses, and each scenario stops with a failure (it once hung)."""
    model = simdyn.model_from_dict(
        {
            "model": {"name": "collapse", "time_units": "month"},
            "time": {"start": 0, "stop": 4, "dt": 0.25},
            "constants": {"gain": {"value": 1.5}},
            "stocks": {"s": {"initial": "10", "inflows": ["f"], "non_negative": True}},
            "flows": {"f": {"equation": "SAFEDIV(s, s - 10) + INT(s) + (s ^ 0.5) * gain"}},
        }
    )
    ds = simdyn.simulate(model, method="bs23", params={"gain": [1.0, 2.0]})
    assert (ds["status"].values == 1).all()
    assert (ds["failed_time"].values < 1.0).all()
