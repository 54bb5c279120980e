"""Independent reference: hand-written ODEs solved by scipy's DOP853 at tight tolerance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import simdyn

SIR = {"population": 1000.0, "initial_infected": 1.0, "contact_rate": 0.5, "recovery_time": 5.0}
BASS = {"market_size": 1000.0, "innovation": 0.03, "imitation": 0.38}


def sir_reference(t_eval: np.ndarray, p: dict[str, float]) -> np.ndarray:
    n, beta, d = p["population"], p["contact_rate"], p["recovery_time"]

    def f(_t: float, y: np.ndarray) -> list[float]:
        s, i, _r = y
        infection = beta * s * i / n
        return [-infection, infection - i / d, i / d]

    y0 = [n - p["initial_infected"], p["initial_infected"], 0.0]
    sol = solve_ivp(f, (t_eval[0], t_eval[-1]), y0, "DOP853", t_eval, rtol=1e-12, atol=1e-12)
    assert sol.success
    return np.asarray(sol.y)


def bass_reference(t_eval: np.ndarray, p: dict[str, float]) -> np.ndarray:
    m, pp, q = p["market_size"], p["innovation"], p["imitation"]

    def f(_t: float, y: np.ndarray) -> list[float]:
        potential, adopters = y
        rate = (pp + q * adopters / m) * potential
        return [-rate, rate]

    sol = solve_ivp(f, (t_eval[0], t_eval[-1]), [m, 0.0], "DOP853", t_eval, rtol=1e-12, atol=1e-12)
    assert sol.success
    return np.asarray(sol.y)


def bass_closed_form(t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    m, pp, q = p["market_size"], p["innovation"], p["imitation"]
    e = np.exp(-(pp + q) * t)
    return np.asarray(m * (1 - e) / (1 + (q / pp) * e))


def _sir(ds: Any) -> np.ndarray:
    return np.stack([ds.susceptible.values, ds.infected.values, ds.recovered.values])


def test_sir_rk4_matches_dop853() -> None:
    ds = simdyn.simulate("sir", method="rk4", dt=1 / 64)
    ref = sir_reference(ds.time.values, SIR)
    np.testing.assert_allclose(_sir(ds)[:, :, 0], ref, rtol=0, atol=1e-6)
    # the epidemic really happens (the comparison is not between two flat lines)
    assert ref[1].max() > 200


def test_sir_rk4_matches_dop853_for_several_scenarios() -> None:
    rates = np.array([0.3, 0.5, 0.9])
    times = np.array([3.0, 5.0, 8.0])
    ds = simdyn.simulate(
        "sir",
        method="rk4",
        dt=1 / 32,
        stop=40,
        params={"contact_rate": rates, "recovery_time": times},
    )
    for k in range(3):
        p = {**SIR, "contact_rate": rates[k], "recovery_time": times[k]}
        ref = sir_reference(ds.time.values, p)
        np.testing.assert_allclose(_sir(ds)[:, :, k], ref, rtol=0, atol=1e-5)


def test_bass_rk4_matches_dop853_and_closed_form() -> None:
    ds = simdyn.simulate("bass", method="rk4", dt=1 / 32)
    ref = bass_reference(ds.time.values, BASS)
    got = np.stack([ds.potential_adopters.values[:, 0], ds.adopters.values[:, 0]])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-7)
    np.testing.assert_allclose(ref[1], bass_closed_form(ds.time.values, BASS), atol=1e-8)
    np.testing.assert_allclose(ds.adoption_share.values[:, 0], ref[1] / 1000.0, atol=1e-10)


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau"])
def test_scipy_methods_agree_with_reference(method: str) -> None:
    kw: dict[str, Any] = {"rtol": 1e-9, "atol": 1e-9}
    ds = simdyn.simulate("sir", method=method, stop=40, **kw)
    assert ds.attrs["method"] == method
    ref = sir_reference(ds.time.values, SIR)
    np.testing.assert_allclose(_sir(ds)[:, :, 0], ref, rtol=0, atol=1e-4)
    bass = simdyn.simulate("bass", method=method, stop=30, **kw)
    ref_b = bass_reference(bass.time.values, BASS)
    np.testing.assert_allclose(bass.adopters.values[:, 0], ref_b[1], rtol=0, atol=1e-4)


@pytest.mark.parametrize("method", ["RK45", "BDF", "LSODA"])
def test_scipy_methods_batch_of_scenarios(method: str) -> None:
    rates = np.array([0.2, 0.6])
    ds = simdyn.simulate(
        "sir", method=method, stop=30, params={"contact_rate": rates}, rtol=1e-9, atol=1e-9
    )
    for k in range(2):
        ref = sir_reference(ds.time.values, {**SIR, "contact_rate": rates[k]})
        np.testing.assert_allclose(_sir(ds)[:, :, k], ref, rtol=0, atol=1e-3)


def test_method_names_are_case_insensitive() -> None:
    a = simdyn.simulate("teacup", method="dop853", stop=5)
    b = simdyn.simulate("teacup", method="DOP853", stop=5)
    assert a.attrs["method"] == b.attrs["method"] == "DOP853"
    c = simdyn.simulate("teacup", method="RK4", stop=5)
    assert c.attrs["method"] == "rk4"
