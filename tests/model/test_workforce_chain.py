"""Rookies and experts: aging chain with mentoring load and backlog-driven hiring (model-science §1.1)."""

import numpy as np
import pytest

import simdyn


@pytest.mark.parametrize("dt", [1 / 32, 1 / 64])
def test_backlog_overshoots_and_swings_again(dt):
    ds = simdyn.simulate(simdyn.load_model("workforce_chain"), dt=dt, save_per=0.5)
    backlog = ds.task_backlog.isel(scenario=0)
    first = backlog.sel(time=slice(0, 30))
    second = backlog.sel(time=slice(60, 150))
    # published catalogue run: about 1,082 at week 13 and about 1,273 near week 112
    assert float(first.max()) == pytest.approx(1082, rel=0.02)
    assert float(first.idxmax()) == pytest.approx(13, abs=1.5)
    assert float(second.max()) == pytest.approx(1273, rel=0.03)
    assert float(second.idxmax()) == pytest.approx(112, abs=3)


def test_hiring_wave_lowers_capacity_before_raising_it():
    model = simdyn.load_model("workforce_chain")
    ds = simdyn.simulate(model, params={"initial_backlog": 1000.0}, stop=40, save_per=0.25)
    cap = ds.task_capacity.isel(scenario=0)
    start = float(cap.isel(time=0))
    assert float(cap.sel(time=slice(0, 10)).min()) < start  # supervision load first
    assert float(cap.sel(time=slice(15, 40)).max()) > start  # rookies mature into experts


def test_people_are_conserved_and_non_negative():
    dt = 1 / 32
    ds = simdyn.simulate(simdyn.load_model("workforce_chain"), dt=dt, save_per=dt, stop=60)
    d = ds.isel(scenario=0)
    net = (d.hiring - d.departures).values[:-1].sum() * dt
    assert float(d.headcount[-1] - d.headcount[0]) == pytest.approx(net, rel=1e-9, abs=1e-9)
    for v in ("rookies", "experts", "task_backlog"):
        assert float(d[v].min()) >= 0
    assert np.isfinite(d.task_capacity.values).all()
