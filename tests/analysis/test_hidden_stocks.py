"""Loop dominance through the hidden stocks of smooths and delays.

Each model is written twice: with SMTH1/SMTH3/DELAY3, and with the same structure as explicit
stocks and flows. Loop scores, relative scores and dominance must agree once the explicit
model's chain variables are folded into the variable that owns the smooth or delay.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simdyn
from simdyn.errors import ModelError
from simdyn.model.loops import fold_cycle

_BASE: dict[str, Any] = {
    "model": {"name": "m", "time_units": "month"},
    "time": {"start": 0, "stop": 60, "dt": 0.25},
}


def _smooth_pair(order: int) -> tuple[simdyn.Model, simdyn.Model, dict[str, str]]:
    """Goal seeking with a perception smooth (oscillates when adjusting fast)."""
    consts = {"goal": {"value": 100}, "adj_time": {"value": 1.5}, "perception_time": {"value": 6}}
    folded = {
        **_BASE,
        "constants": consts,
        "stocks": {"level": {"initial": "10", "inflows": ["adjustment"]}},
        "flows": {"adjustment": {"equation": "(goal - perceived_level) / adj_time"}},
        "auxiliaries": {"perceived_level": {"equation": f"SMTH{order}(level, perception_time)"}},
    }
    stocks: dict[str, Any] = {"level": {"initial": "10", "inflows": ["adjustment"]}}
    flows: dict[str, Any] = {"adjustment": {"equation": f"(goal - p{order}) / adj_time"}}
    prev = "level"
    st = f"perception_time / {order}" if order > 1 else "perception_time"
    owner = {}
    for i in range(1, order + 1):
        stocks[f"p{i}"] = {"initial": "level", "inflows": [f"c{i}"]}
        flows[f"c{i}"] = {"equation": f"({prev} - p{i}) / ({st})"}
        owner[f"p{i}"] = owner[f"c{i}"] = "perceived_level"
        prev = f"p{i}"
    explicit = {**_BASE, "constants": consts, "stocks": stocks, "flows": flows}
    return simdyn.model_from_dict(folded), simdyn.model_from_dict(explicit), owner


def _delay_pair() -> tuple[simdyn.Model, simdyn.Model, dict[str, str]]:
    """Stock management (Sterman 2000, ch. 17) ignoring the supply line: orders reach the
    stock through a third-order acquisition delay, and the stock oscillates."""
    consts = {
        "loss": {"value": 10},
        "desired_stock": {"value": 100},
        "adj_time": {"value": 2},
        "acquisition_delay": {"value": 6},
    }
    stocks_common = {
        "stock": {"initial": "50", "inflows": ["acquisition"], "outflows": ["loss_rate"]}
    }
    folded = {
        **_BASE,
        "constants": consts,
        "stocks": stocks_common,
        "flows": {
            "acquisition": {"equation": "DELAY3(orders, acquisition_delay)"},
            "loss_rate": {"equation": "loss"},
        },
        "auxiliaries": {
            "orders": {"equation": "MAX(0, loss + (desired_stock - stock) / adj_time)"}
        },
    }
    st = "acquisition_delay / 3"
    explicit = {
        **_BASE,
        "constants": consts,
        "stocks": {
            **stocks_common,
            "s1": {"initial": f"orders * ({st})", "inflows": ["orders"], "outflows": ["o1"]},
            "s2": {"initial": f"orders * ({st})", "inflows": ["o1"], "outflows": ["o2"]},
            "s3": {"initial": f"orders * ({st})", "inflows": ["o2"], "outflows": ["acquisition"]},
        },
        "flows": {
            "orders": {"equation": "MAX(0, loss + (desired_stock - stock) / adj_time)"},
            "o1": {"equation": f"s1 / ({st})"},
            "o2": {"equation": f"s2 / ({st})"},
            "acquisition": {"equation": f"s3 / ({st})"},
            "loss_rate": {"equation": "loss"},
        },
    }
    owner = dict.fromkeys(("s1", "s2", "s3", "o1", "o2"), "acquisition")
    return simdyn.model_from_dict(folded), simdyn.model_from_dict(explicit), owner


def _by_folded_path(dom: Any, owner: dict[str, str]) -> dict[tuple[str, ...], list[np.ndarray]]:
    out: dict[tuple[str, ...], list[np.ndarray]] = {}
    for j, p in enumerate(dom["path"].values):
        names = p.split(" → ")[:-1]
        key = fold_cycle(names, owner)
        k = key.index(min(key))
        out.setdefault(key[k:] + key[:k], []).append(dom["loop_score"].isel(loop=j).values)
    return out


def _same_scores(folded: Any, explicit: Any, owner: dict[str, str]) -> None:
    a, b = _by_folded_path(folded, {}), _by_folded_path(explicit, owner)
    assert a.keys() == b.keys()
    for key in a:
        got = sorted(a[key], key=lambda x: float(np.nansum(x)))
        want = sorted(b[key], key=lambda x: float(np.nansum(x)))
        assert len(got) == len(want), key
        for x, y in zip(got, want, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)
    # the dominant loop of every visible stock at every time has the same (folded) path
    for stock in folded["stock"].values:
        paths = []
        for d, own in ((folded, {}), (explicit, owner)):
            path = dict(zip(d["loop"].values.tolist(), d["path"].values.tolist(), strict=True))
            dominant = d["dominant_loop_by_stock"].sel(stock=stock).values[1:].ravel()
            paths.append(
                [fold_cycle(path[x].split(" → ")[:-1], own) if x else () for x in dominant]
            )
        assert paths[0] == paths[1], stock


@pytest.mark.parametrize("order", [1, 3])
def test_smooth_in_a_loop_scores_as_explicit_stocks(order):
    folded, explicit, owner = _smooth_pair(order)
    params = {"perception_time": [2.0, 6.0, 9.0]}
    r_f = simdyn.simulate(folded, params=params, method="rk4")
    r_e = simdyn.simulate(explicit, params=params, method="rk4")
    level = r_f["level"].isel(scenario=2).values
    assert level.max() > 100.0  # it overshoots: the smooth makes the loop oscillate
    d_f = simdyn.loop_dominance(r_f, folded)
    d_e = simdyn.loop_dominance(r_e, explicit)
    _same_scores(d_f, d_e, owner)
    assert d_f.sizes["loop"] == order + 1  # the outer loop and one adjustment per stage
    outer = [j for j, p in enumerate(d_f["path"].values) if p.startswith("level")]
    assert d_f["path"].values[outer[0]] == "level → perceived_level → adjustment → level"
    assert d_f["polarity"].values[outer[0]] == "B"
    # only visible variables are reported
    assert not any(n[0] == "_" for p in d_f["path"].values for n in p.split(" → "))
    assert set(d_f["link"].values) == {
        "adjustment → level",
        "perceived_level → adjustment",
        "level → perceived_level",
    }


def test_delay3_in_a_loop_scores_as_explicit_stocks():
    folded, explicit, owner = _delay_pair()
    params = {"acquisition_delay": [3.0, 6.0]}
    r_f = simdyn.simulate(folded, params=params, method="euler")
    r_e = simdyn.simulate(explicit, params=params, method="euler")
    np.testing.assert_allclose(r_f["stock"].values, r_e["stock"].values, rtol=1e-12)
    assert r_f["stock"].isel(scenario=1).max() > 110  # overshoot: the oscillating stock
    d_f = simdyn.loop_dominance(r_f, folded)
    d_e = simdyn.loop_dominance(r_e, explicit)
    _same_scores(d_f, d_e, owner)
    paths = sorted(d_f["path"].values.tolist())
    assert paths == [
        "acquisition → acquisition",
        "acquisition → acquisition",
        "acquisition → acquisition",
        "stock → orders → acquisition → stock",
    ]
    total = np.abs(d_f["relative_score"].isel(time=slice(1, None))).sum("loop").values
    active = np.abs(d_f["loop_score"].isel(time=slice(1, None))).sum("loop").values > 0
    assert active.mean() > 0.9  # the first step moves no stage output: no loop is active
    np.testing.assert_allclose(total[active], 1.0, atol=1e-9)
    # the stock-adjustment loop is the only loop through the stock
    main = next(j for j, p in enumerate(d_f["path"].values) if p.startswith("stock"))
    assert set(np.unique(d_f["dominant_loop_by_stock"].sel(stock="stock").values[1:])) <= {
        str(d_f["loop"].values[main]),
        "",
    }


def test_batched_equals_one_scenario_at_a_time():
    folded, _, _ = _delay_pair()
    values = [3.0, 6.0, 9.0]
    batch = simdyn.loop_dominance(
        simdyn.simulate(folded, params={"acquisition_delay": values}), folded
    )
    for k, v in enumerate(values):
        one = simdyn.loop_dominance(
            simdyn.simulate(folded, params={"acquisition_delay": [v]}), folded
        )
        np.testing.assert_allclose(
            batch["loop_score"].isel(scenario=k).values,
            one["loop_score"].isel(scenario=0).values,
            rtol=1e-12,
            equal_nan=True,
        )
        assert (
            batch["dominant_loop"].isel(scenario=k).values
            == one["dominant_loop"].isel(scenario=0).values
        ).all()


def test_named_loop_through_a_smooth():
    folded, _, _ = _smooth_pair(1)
    spec = folded.spec
    data = {
        **_BASE,
        "constants": {k: {"value": c.value} for k, c in spec.constants.items()},
        "stocks": {"level": {"initial": "10", "inflows": ["adjustment"]}},
        "flows": {"adjustment": {"equation": "(goal - perceived_level) / adj_time"}},
        "auxiliaries": {"perceived_level": {"equation": "SMTH1(level, perception_time)"}},
        "loops": {
            "correction": {
                "variables": ["level", "perceived_level", "adjustment"],
                "polarity": "B",
                "description": "the level corrects itself on its perception",
            }
        },
    }
    m = simdyn.model_from_dict(data)
    dom = simdyn.loop_dominance(simdyn.simulate(m), m)
    assert "correction" in dom["loop"].values
    j = list(dom["loop"].values).index("correction")
    assert dom["polarity"].values[j] == "B"
    assert dom["loop"].size == 2


def test_a_run_the_model_did_not_make_is_an_error():
    folded, _, _ = _smooth_pair(1)
    run = simdyn.simulate(folded)
    run["level"] = run["level"] * 1.01
    with pytest.raises(ModelError, match="re-simulating the run"):
        simdyn.loop_dominance(run, folded)


def test_pipeline_delay_is_refused_with_its_location():
    m = simdyn.model_from_dict(
        {
            **_BASE,
            "constants": {"tau": {"value": 2}},
            "stocks": {"s": {"initial": "1", "inflows": ["f"]}},
            "flows": {"f": {"equation": "-DELAY(s, tau) / 10"}},
        }
    )
    with pytest.raises(ModelError, match="fixed pipeline"):
        simdyn.loop_dominance(simdyn.simulate(m, method="euler"), m)


def test_smooth_loop_scores_match_the_hand_derived_link_scores():
    """Goal seeking with an SMTH1 perception p of the level L: ``L' = (goal - p) / a`` and
    ``p' = (L - p) / tau``. Between two saved times, the link score of L into the smooth's
    flow is ``ΔL / (ΔL - Δp)`` and of p into it ``-Δp / (ΔL - Δp)`` (ceteris paribus); every
    other link of the chain scores +-1. So the correction loop scores ``-|ΔL / (ΔL - Δp)|`` and
    the smooth's own adjustment ``-|Δp / (ΔL - Δp)|``."""
    folded, _, _ = _smooth_pair(1)
    run = simdyn.simulate(folded, params={"perception_time": [2.0, 9.0]}, method="rk4")
    dom = simdyn.loop_dominance(run, folded)
    d_level = run["level"].diff("time").values
    d_p = run["perceived_level"].diff("time").values
    with np.errstate(divide="ignore", invalid="ignore"):
        outer = -np.abs(d_level / (d_level - d_p))
        inner = -np.abs(d_p / (d_level - d_p))
    paths = dom["path"].values.tolist()
    got_outer = dom["loop_score"].isel(
        loop=paths.index("level → perceived_level → adjustment → level")
    )
    got_inner = dom["loop_score"].isel(loop=paths.index("perceived_level → perceived_level"))
    np.testing.assert_allclose(got_outer.values[1:], outer, rtol=1e-9)
    np.testing.assert_allclose(got_inner.values[1:], inner, rtol=1e-9)


def test_given_loops_are_laid_out_through_the_hidden_stocks():
    folded, _, _ = _delay_pair()
    run = simdyn.simulate(folded, params={"acquisition_delay": [3.0, 6.0]})
    auto = simdyn.loop_dominance(run, folded)
    given = simdyn.loop_dominance(run, folded, loops=folded.loops())
    assert given["path"].values.tolist() == ["stock → orders → acquisition → stock"]
    j = auto["path"].values.tolist().index("stock → orders → acquisition → stock")
    np.testing.assert_allclose(
        given["loop_score"].isel(loop=0).values,
        auto["loop_score"].isel(loop=j).values,
        rtol=1e-12,
        equal_nan=True,
    )


def test_a_run_of_stocks_and_flows_only_is_enough():
    folded, _, _ = _smooth_pair(3)
    full = simdyn.simulate(folded)
    lean = simdyn.simulate(folded, save=["level", "adjustment"])
    a = simdyn.loop_dominance(full, folded)
    b = simdyn.loop_dominance(lean, folded)
    np.testing.assert_allclose(a["loop_score"].values, b["loop_score"].values, equal_nan=True)


def _noisy(noise_in_flow: bool) -> simdyn.Model:
    noise = "NORMAL(0, 1)" if noise_in_flow else "noise"
    aux: dict[str, Any] = {"perceived": {"equation": "SMTH1(level, tau)"}}
    if not noise_in_flow:
        aux["noise"] = {"equation": "NORMAL(0, 1)"}
    return simdyn.model_from_dict(
        {
            **_BASE,
            "constants": {"goal": {"value": 100}, "adj_time": {"value": 2}, "tau": {"value": 3}},
            "stocks": {"level": {"initial": "10", "inflows": ["adjustment"]}},
            "flows": {
                "adjustment": {"equation": f"(goal * (1 + 0.05 * {noise}) - perceived) / adj_time"}
            },
            "auxiliaries": aux,
        }
    )


def test_a_run_of_random_numbers_is_re_simulated_with_its_seed():
    m = _noisy(noise_in_flow=False)
    run = simdyn.simulate(m, params={"tau": [2.0, 4.0]}, seed=5, method="euler")
    dom = simdyn.loop_dominance(run, m, seed=5)
    assert sorted(dom["path"].values.tolist()) == [
        "level → perceived → adjustment → level",
        "perceived → perceived",
    ]
    with pytest.raises(ModelError, match="for a run of random numbers, its seed"):
        simdyn.loop_dominance(run, m, seed=6)


def test_a_random_draw_inside_a_loop_equation_is_a_located_error():
    m = _noisy(noise_in_flow=True)
    run = simdyn.simulate(m, seed=5, method="euler")
    with pytest.raises(ModelError, match="calls NORMAL, an extension function") as info:
        simdyn.loop_dominance(run, m, seed=5)
    assert "flows.adjustment" in str(info.value)


def test_a_run_started_from_given_stocks_is_refused():
    folded, _, _ = _smooth_pair(1)
    first = simdyn.simulate(folded)
    later = simdyn.simulate(folded, start_from=first.isel(time=-1, scenario=0))
    with pytest.raises(ModelError, match="started from given stock values"):
        simdyn.loop_dominance(later, folded)
