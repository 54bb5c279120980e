"""What a client reads in the report: costs and benefits, units, goals that can be told apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from simdyn.plot import plot_timeseries
from simdyn.report._costs import _break_even, cost_benefit
from simdyn.report._html import glossary, render_html
from simdyn.scenario import run_scenario

ROOT = Path(__file__).resolve().parents[2]

PLAN = """\
model = "learning_org"
seed = 1
style = "directive"
[time]
stop = 36
dt = 0.25
method = "euler"
[goals.quits]
label = "Year 3: turnover below 12 % a year"
variable = "annual_quit_rate"
time = 36
comparison = "<="
value = 0.12
[goals.engagement]
variable = "engagement"
time = 36
value = 0.5
[variants.facilitative]
style = "facilitative"
start_from = "directive"
[variants.also_directive]
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("plan") / "plan.toml"
    path.write_text(PLAN, encoding="utf-8")
    return run_scenario(path)


def test_cost_benefit_adds_up(result) -> None:  # type: ignore[no-untyped-def]
    rows = cost_benefit(result)
    assert rows is not None
    assert [r.run for r in rows] == ["plan", "facilitative", "also_directive"]
    base, facil, same = rows
    assert base.net == 0.0
    assert facil.extra_development > 0  # facilitative management spends more on development
    assert facil.turnover_avoided > 0
    assert facil.output_gained > 0
    assert facil.net == pytest.approx(
        facil.turnover_avoided + facil.output_value - facil.extra_development
    )
    # a run identical to the base has nothing to gain or lose
    assert same.net == pytest.approx(0.0, abs=1e-6)
    # the cumulative development cost is the integral of the spending rate
    ds = result.dataset
    spend = ds.training_cost.isel(scenario=0).values
    t = ds.time.values
    assert base.development == pytest.approx(np.trapezoid(spend, t), rel=1e-9)


def test_break_even_is_the_last_crossing_to_positive() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert _break_even(t, np.array([0.0, -2.0, -1.0, 1.0, 3.0])) == pytest.approx(2.5)
    assert _break_even(t, np.array([0.0, 1.0, 2.0, 3.0, 4.0])) == 0.0
    assert _break_even(t, np.array([0.0, -1.0, -2.0, -3.0, -4.0])) is None


def test_report_has_the_cost_panel_glossary_and_units(result) -> None:  # type: ignore[no-untyped-def]
    html = render_html(result, plots=[])
    costs = html.split('<section id="costs">')[1].split("</section>")[0]
    assert "break-even" in costs
    assert "USD per unit" in costs
    assert "USD" in costs
    assert "unit</td>" in costs
    # fractions labelled in % are shown in %
    goals = html.split('<section id="goals">')[1].split("</section>")[0]
    assert "12 %" in goals
    assert "% (share)" in goals
    names = [g["term"] for g in glossary(result)]
    assert "engagement" in names
    assert "unit (of output)" in names
    engagement = next(g for g in glossary(result) if g["term"] == "engagement")
    assert "0 is none, 1 is the full amount" in engagement["meaning"]


def test_report_shows_no_absolute_path(result) -> None:  # type: ignore[no-untyped-def]
    html = render_html(result, plots=[])
    scenario = html.split('<section id="scenario">')[1]
    assert "/tmp" not in scenario
    assert str(Path.home()) not in scenario
    assert "<code>plan.toml</code>" in scenario


def test_goal_markers_of_two_runs_never_overlap_and_every_axis_has_units() -> None:
    ds = xr.Dataset(
        {"x": (("time", "scenario"), np.ones((5, 2)), {"units": "person"})},
        coords={"time": np.arange(5.0), "scenario": [0, 1], "variant": ("scenario", ["a", "b"])},
    )
    goals = pd.DataFrame(
        [
            {"scenario": s, "variable": "x", "time": 2.0, "comparison": ">=", "target": 0.5,
             "actual": 1.0, "met": True}
            for s in ("a", "b")
        ]
    )  # fmt: skip
    fig = plot_timeseries(ds, ["x"], goals=goals)
    ax = fig.axes[0]
    markers = [ln for ln in ax.get_lines() if ln.get_marker() in ("^", "v")]
    xs = [float(ln.get_xdata()[0]) for ln in markers]
    assert len(xs) == 2
    assert abs(xs[0] - xs[1]) > 0.05  # side by side at the goal time, not on top of each other
    assert ax.get_ylabel() == "person"
    # identical runs: the second line is dashed and thinner, so both are visible
    lines = [ln for ln in ax.get_lines() if ln.get_marker() in ("None", "", None)][:2]
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    assert lines[0].get_linewidth() > lines[1].get_linewidth()


def test_uncertain_variants_are_drawn_as_a_band_around_the_base_run() -> None:
    t = np.arange(4.0)
    ds = xr.Dataset(
        {"x": (("time", "scenario"), np.stack([t, t - 1, t + 1, 2 * t], axis=1), {"units": "person"})},
        coords={"time": t, "scenario": [0, 1, 2, 3], "variant": ("scenario", ["base", "lo", "hi", "other"])},
    )  # fmt: skip
    fig = plot_timeseries(ds, ["x"], bands={"base": ["lo", "hi"]})
    ax = fig.axes[0]
    assert len(ax.collections) == 1  # one shaded band
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(-1.0)
    assert band[:, 1].max() == pytest.approx(4.0)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["base", "other"]  # the uncertain variants are not lines of their own


def test_report_uncertainty_names_must_be_variants(tmp_path: Path) -> None:
    from simdyn.errors import ScenarioError
    from simdyn.scenario import load_scenario

    path = tmp_path / "s.toml"
    path.write_text(
        'model = "teacup"\n[report]\nuncertainty = ["lw"]\n[variants.low]\n', encoding="utf-8"
    )
    with pytest.raises(
        ScenarioError, match=r"s.toml:3: report.uncertainty\[0\]: no variant named 'lw'"
    ):
        load_scenario(path)


def test_a_narrow_figure_keeps_its_tick_labels_and_axis_label_inside() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ds = xr.Dataset(
        {"x": (("time", "scenario"), [[1.0, 0.5], [0.25, 0.0]], {"units": "widgets"})},
        coords={"time": [0.0, 1.0], "scenario": [0, 1]},
    )
    fig = plot_timeseries(ds, ["x"], ncols=4, panel=(3.6, 2.4))  # one policy panel
    renderer = FigureCanvasAgg(fig).get_renderer()
    assert fig.axes[0].get_tightbbox(renderer).x0 >= 0


NOISY_GOAL = """\
[model]
name = "noisy_goal"
time_units = "month"
[time]
stop = 24
dt = 0.25
[constants]
goal = { value = 100, units = "widget" }
adjust_time = { value = 3, units = "month" }
perception_time = { value = 2, units = "month" }
[stocks.level]
initial = "50"
units = "widget"
inflows = ["adjustment"]
[flows.adjustment]
equation = "(goal - SMTH1(level, perception_time)) / adjust_time + noise"
units = "widget/month"
[auxiliaries.noise]
equation = "NORMAL(0, 1)"
units = "widget/month"
"""


def test_the_report_scores_the_loops_of_a_random_model_with_a_smooth(tmp_path: Path) -> None:
    from simdyn.report._html import _dominance_plot

    (tmp_path / "m.toml").write_text(NOISY_GOAL)
    (tmp_path / "s.toml").write_text('model = "m.toml"\nseed = 3\n')
    plot = _dominance_plot(run_scenario(tmp_path / "s.toml"))
    assert plot is not None  # the smooth's hidden stock is re-simulated with the run's seed
    assert plot.name == "loop_dominance"


def test_network_plot_draws_every_edge_in_its_kind_colour_and_every_node() -> None:
    import networkx as nx
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.colors import to_hex

    from simdyn.plot import plot_network

    g = nx.Graph()
    g.add_edge("a", "b", kind="team")
    g.add_edge("b", "c", kind="hierarchy")
    g.add_edge("c", "d")  # no kind: grey
    fig = plot_network(g, {"x": np.arange(4.0), "y": np.ones(4)}, variable="skill")
    panels = [ax for ax in fig.axes if ax.get_title() in ("x", "y")]
    assert len(panels) == 2
    for ax in panels:
        (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        assert len(lines.get_segments()) == 3
        assert [to_hex(c) for c in lines.get_colors()] == ["#9e9e9e", "#4575b4", "#bdbdbd"]
        (nodes,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(nodes.get_offsets()) == 4
