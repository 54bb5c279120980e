"""Causal graphs, loops and Loops-that-Matter dominance against textbook models and analytic times."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simdyn
from simdyn.analysis import (
    dominance_phases,
    dominance_share,
    dominance_shift_time,
    dominant_at,
    loop_dominance,
    loop_pair_share,
    stock_relative_scores,
)
from simdyn.errors import ModelError

#: logistic growth as textbooks draw it: a reinforcing growth loop and a balancing crowding loop
LOGISTIC = {
    "model": {"name": "logistic_loops", "time_units": "year"},
    "time": {"start": 0, "stop": 40, "dt": 0.03125, "save_per": 0.25, "method": "rk4"},
    "constants": {
        "growth_rate": {"value": 0.3, "min": 0},
        "capacity": {"value": 1000, "min": 1},
    },
    "stocks": {"population": {"initial": "10", "inflows": ["net_growth"], "non_negative": True}},
    "flows": {"net_growth": {"equation": "population * fractional_growth"}},
    "auxiliaries": {"fractional_growth": {"equation": "growth_rate * (1 - population / capacity)"}},
}


def _loops(model):
    return {(lp.polarity, lp.variables) for lp in model.loops()}


def test_teacup_has_one_balancing_loop():
    assert _loops(simdyn.load_model("teacup")) == {
        ("B", ("teacup_temperature", "heat_loss_to_room"))
    }


def test_sir_has_infection_reinforcing_and_depletion_recovery_balancing():
    assert _loops(simdyn.load_model("sir")) == {
        ("R", ("infected", "infection")),
        ("B", ("susceptible", "infection")),
        ("B", ("infected", "recovery")),
    }
    g = simdyn.load_model("sir").graph()
    assert g.edges["infected", "infection"]["polarity_source"] == "structural"


def test_bass_word_of_mouth_reinforcing_saturation_balancing():
    m = simdyn.load_model("bass")
    assert _loops(m) == {
        ("R", ("adopters", "adoption_rate")),
        ("B", ("potential_adopters", "adoption_rate")),
    }
    # p + q A / M: the structure cannot know A >= 0; the run decides
    assert m.graph().edges["potential_adopters", "adoption_rate"]["polarity_source"] == "numeric"


def test_logistic_growth_and_crowding_loops():
    m = simdyn.model_from_dict(LOGISTIC)
    assert _loops(m) == {
        ("R", ("population", "net_growth")),
        ("B", ("population", "fractional_growth", "net_growth")),
    }


def test_single_equation_logistic_has_one_loop_of_changing_sign():
    (lp,) = simdyn.load_model("logistic").loops()
    assert lp.polarity == "?"


def test_workforce_chain_loops():
    loops = _loops(simdyn.load_model("workforce_chain"))
    hiring = ("task_backlog", "hiring_pressure", "hiring", "rookies")
    assert loops == {
        ("B", ("rookies", "maturation")),
        ("B", ("experts", "departures")),
        ("B", ("task_backlog", "task_completion")),
        # a hiring wave takes expert time for supervision: "growing too fast" is reinforcing
        (
            "R",
            ("rookies", "expert_hours_on_tasks", "task_capacity", "task_completion", *hiring[:-1]),
        ),
        (
            "B",
            ("rookies", "rookie_hours_on_tasks", "task_capacity", "task_completion", *hiring[:-1]),
        ),
        (
            "B",
            (
                "rookies",
                "maturation",
                "experts",
                "expert_hours_on_tasks",
                "task_capacity",
                "task_completion",
                *hiring[:-1],
            ),
        ),
    }


def test_logistic_dominance_shifts_from_r_to_b_at_half_capacity():
    m = simdyn.model_from_dict(LOGISTIC)
    ds = simdyn.simulate(m)
    dom = loop_dominance(ds, m)
    r_id = next(
        str(x) for x, p in zip(dom.loop.values, dom.polarity.values, strict=True) if p == "R"
    )
    b_id = next(
        str(x) for x, p in zip(dom.loop.values, dom.polarity.values, strict=True) if p == "B"
    )
    phases = dominance_phases(dom)
    assert [name for _, _, name in phases] == [r_id, b_id]
    shift = float(dominance_shift_time(dom, from_loop=r_id, to_loop=b_id)[0])
    # the score at a saved time describes the step that ends there, with the other inputs at
    # the step's start: the shift shows one save interval after the simulated crossing
    crossed = float(ds.time[(ds.population.isel(scenario=0) >= 500).argmax("time")])
    assert shift - crossed == pytest.approx(0.25)
    analytic = math.log((1000 - 10) / 10) / 0.3  # population = K/2 at t = 15.317
    assert 0 < shift - analytic <= 2 * 0.25


def test_sir_infection_loop_dominates_infected_until_the_peak():
    ds = simdyn.simulate("sir", save_per=0.25)
    dom = loop_dominance(ds)
    phases = dominance_phases(dom, stock="infected")
    assert [name for _, _, name in phases] == ["R1", "B2"]
    # infections peak where R_eff = 1, i.e. susceptible = population / (contact_rate * recovery_time)
    s = ds.susceptible.isel(scenario=0)
    peak = float(ds.time[(s <= 1000 / (0.5 * 5)).argmax("time")])
    assert phases[1][0] - peak == pytest.approx(0.25)  # one save interval, as for logistic
    saved_peak = float(ds.time[ds.infected.isel(scenario=0).argmax("time")])
    assert 0 < phases[1][0] - saved_peak <= 2 * 0.25


def test_relative_scores_sum_to_one_at_every_time():
    ds = simdyn.simulate("workforce_chain", stop=60)
    dom = loop_dominance(ds)
    total = np.abs(dom.relative_score).sum("loop").isel(time=slice(1, None))
    active = (np.abs(dom.loop_score).sum("loop") > 0).isel(time=slice(1, None))
    assert np.allclose(total.where(active, 1.0), 1.0)
    assert bool(active.all())
    for stock in dom.stock.values:
        rel = stock_relative_scores(dom, str(stock)).isel(time=slice(1, None))
        s = np.abs(rel).sum("loop")
        assert np.allclose(s.where(s > 0, 1.0), 1.0)


def test_batched_equals_one_at_a_time():
    rates = [0.3, 0.5, 0.8]
    batch = loop_dominance(simdyn.simulate("sir", params={"contact_rate": rates}))
    for k, c in enumerate(rates):
        one = loop_dominance(simdyn.simulate("sir", params={"contact_rate": c}))
        np.testing.assert_allclose(
            batch.relative_score.isel(scenario=k).values,
            one.relative_score.isel(scenario=0).values,
            rtol=1e-12,
            atol=1e-12,
        )
        assert (batch.dominant_loop.isel(scenario=k) == one.dominant_loop.isel(scenario=0)).all()


def test_batch_outcomes():
    rates = [0.15, 0.5, 0.8]  # R0 = 0.75: no epidemic in the first scenario
    dom = loop_dominance(simdyn.simulate("sir", params={"contact_rate": rates}))
    at5 = dominant_at(dom, 5.0, stock="infected")
    assert at5.values.tolist() == ["B2", "R1", "R1"]
    share = dominance_share(dom, 5.0, stock="infected")
    assert share.sel(loop="R1").item() == pytest.approx(2 / 3)
    shift = dominance_shift_time(dom, from_loop="R1", to_loop="B2", stock="infected")
    assert np.isnan(shift[0])
    assert shift[2] < shift[1]


def test_named_loop_that_is_not_a_cycle_is_an_error_naming_it():
    data = {**LOGISTIC, "loops": {"growth": {"variables": ["population", "fractional_growth"]}}}
    with pytest.raises(
        ModelError,
        match=r"loops\.growth\.variables.*'population' does not depend on 'fractional_growth'",
    ):
        simdyn.model_from_dict(data).loops()
    with pytest.raises(ModelError, match=r"loops\.growth\.polarity"):
        simdyn.model_from_dict(
            {**LOGISTIC, "loops": {"growth": {"variables": ["population"], "polarity": "X"}}}
        )


def test_learning_org_named_loops_have_their_documented_polarity():
    m = simdyn.load_model("learning_org")
    named = {lp.name: lp for lp in m.loops() if lp.name}
    assert set(named) == set(m.spec.loops)
    differ = {n: lp.polarity for n, lp in named.items() if lp.polarity != m.spec.loops[n].polarity}
    # work smarter is live at rest too: reflection follows the pressure to improve on both
    # sides of balance (Repenning & Sterman's f_c), so every link has a decided sign
    assert differ == {}


def test_capability_trap_work_harder_and_work_smarter_as_docs_loops_md_states():
    m = simdyn.load_model("learning_org").replace(
        equations={"demand_multiplier": "1 + 0.2 * (STEP(1, 6) - STEP(1, 30))"}
    )
    styles = ["directive", "transactional", "facilitative", "laissez_faire"]
    ds = simdyn.simulate(m, presets={"style": styles}, stop=60)
    dom = loop_dominance(ds, m, discover=False)
    # docs/loops.md: the 761 loops of at most 17 links, and the two longer named loops
    assert dom.sizes["loop"] == 763
    assert int((dom.length <= 17).sum()) == 761
    assert (dom.loop_name.where(dom.length > 17, drop=True) != "").all()
    rel = abs(dom.relative_score).sel(time=slice(6.5, 30))
    named = dom.loop.values[dom.loop_name.values != ""]
    np.testing.assert_allclose(
        rel.sel(loop=named).sum("loop").mean("time"), [0.24, 0.35, 0.24, 0.21], atol=0.005
    )
    assert dom.path.sel(loop="R10").item().startswith("novices_1 → assimilation_1")
    assert dom.path.sel(loop="R355").item().startswith("engagement → engagement_productivity")
    assert (
        dom.path.sel(loop="B17").item()
        == "pressure_to_work → work_pressure_change → pressure_to_work"
    )
    others = dom.loop.values[dom.loop_name.values == ""]
    strongest = rel.sel(loop=others).mean(["time", "scenario"]).sortby(lambda x: -x)
    assert list(strongest.loop.values[:3]) == ["R10", "R355", "B17"]
    pair = loop_pair_share(dom, "work_harder", "work_smarter", start=6.5, stop=30)
    # the overload, per style (the table of docs/loops.md)
    np.testing.assert_array_equal(pair["active"].values, [47, 47, 47, 36])
    np.testing.assert_allclose(pair["larger"].values, [0.723, 0.745, 0.362, 0.361], atol=0.0005)
    np.testing.assert_allclose(pair["share"].values, [0.697, 0.675, 0.252, 0.410], atol=0.0005)
    np.testing.assert_allclose(pair["mean_share"].values, [0.641, 0.609, 0.425, 0.441], atol=0.0005)
    # facilitative management makes work smarter the larger loop of the pair; the others
    # (laissez-faire aside, who hardly pushes for overtime) work harder
    assert pair["share"].sel(scenario=2) < 0.3
    assert pair["larger"].sel(scenario=2) < 0.4
    assert (pair["share"].sel(scenario=[0, 1]) > 0.65).all()
    # the directive slide (months 12-40): work harder is the larger loop at 71 % of the times
    slide = loop_pair_share(dom, "work_harder", "work_smarter", start=12, stop=40)
    np.testing.assert_allclose(float(slide["larger"].sel(scenario=0)), 0.711, atol=0.0005)
    np.testing.assert_allclose(float(slide["share"].sel(scenario=0)), 0.630, atol=0.0005)
    # directive overtime stays below its cap (0.35) throughout: work harder never saturates
    assert 0.27 < float(ds.overtime_fraction.isel(scenario=0).max()) < 0.35
    # where capacity comes from, months 6 -> 18 (ln-change by factor)
    ln = {
        f: np.log(ds[f].sel(time=18) / ds[f].sel(time=6)).values
        for f in ("work_hours", "routine_productivity", "capacity")
    }
    np.testing.assert_allclose(ln["work_hours"], [0.213, 0.124, 0.020, 0.024], atol=0.0005)
    np.testing.assert_allclose(
        ln["routine_productivity"], [-0.035, 0.017, 0.091, -0.002], atol=0.0005
    )
    np.testing.assert_allclose(ln["capacity"], [-0.004, 0.026, 0.073, 0.006], atol=0.0005)
    low = ds.output.min("time") / ds.output.sel(time=5)
    np.testing.assert_allclose(low.values[[0, 2]], [0.56, 0.91], atol=0.005)
    np.testing.assert_allclose(ds.output.idxmin("time").values[[0, 2]], [39.0, 34.0])


def test_model_doc_loop_table_is_current():
    from pathlib import Path

    from simdyn.analysis import loop_table_markdown

    doc = (Path(__file__).resolve().parents[2] / "docs" / "model.md").read_text(encoding="utf-8")
    table = doc.split("<!-- loops:begin -->\n", 1)[1].split("<!-- loops:end -->", 1)[0]
    assert table == loop_table_markdown(simdyn.load_model("learning_org")), (
        "run python docs/make_loop_diagram.py"
    )


def test_cli_loops(tmp_path):
    from click.testing import CliRunner

    from simdyn.cli import cli

    res = CliRunner().invoke(cli, ["loops", "sir", "--stock", "infected"])
    assert res.exit_code == 0, res.output
    assert "R1" in res.output
    assert "(stock infected)" in res.output
    res = CliRunner().invoke(cli, ["loops", "sir", "--stock", "nosuch"])
    assert res.exit_code == 2
    assert "'nosuch' is not a stock" in res.output
    bad = tmp_path / "m.toml"
    bad.write_text(
        '[model]\nname = "m"\ntime_units = "day"\n[stocks.s]\ninitial = "1"\n'
        '[loops.x]\nvariables = ["s", "t"]\n'
    )
    res = CliRunner().invoke(cli, ["loops", str(bad)])
    assert res.exit_code == 2
    assert "loops.x.variables" in res.output
    assert "Traceback" not in res.output


def test_loop_diagram_and_dominance_plot(tmp_path):
    from simdyn.loop_plots import draw_loop_diagram, plot_dominance

    m = simdyn.load_model("sir")
    dom = loop_dominance(simdyn.simulate(m))
    out = draw_loop_diagram(
        m.graph(),
        m.loops(),
        tmp_path / "sir.png",
        link_scores=dom.link_score.sel(time=10, scenario=0),
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = plot_dominance(dom)
    labels = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert labels == {"R1 (R)", "B1 (B)", "B2 (B)", "other loops"}


def test_validate_checks_named_loops(tmp_path):
    from click.testing import CliRunner

    from simdyn.cli import cli

    bad = tmp_path / "m.toml"
    bad.write_text(
        '[model]\nname = "m"\ntime_units = "day"\n[stocks.s]\ninitial = "1"\noutflows = ["f"]\n'
        '[flows.f]\nequation = "0.1"\n[loops.drain]\nvariables = ["s", "f"]\n'
    )
    res = CliRunner().invoke(cli, ["validate", str(bad)])
    assert res.exit_code == 2
    assert (
        "m.toml:10: loops.drain.variables: loop 'drain': 'f' does not depend on 's'" in res.output
    )
