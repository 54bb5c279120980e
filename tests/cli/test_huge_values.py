"""Finite values near ±1e308 are plotted on a scaled axis, and the plot and report say so."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from simdyn.cli import cli
from simdyn.plot import axis_scale, plot_comparison, plot_network, plot_timeseries

MODEL = """\
[model]
name = "huge"
time_units = "month"
[time]
start = 0
stop = 10
dt = 1
[constants.a]
value = 1
units = "widgets"
[constants.rate]
value = 1.6e307
units = "widgets/month"
[stocks.s]
initial = "1.7e308 * a"
inflows = ["f"]
units = "widgets"
[flows.f]
equation = "0"
units = "widgets/month"
[auxiliaries.g]
equation = "-s"
units = "widgets"
[auxiliaries.h]
equation = "rate * TIME"
units = "widgets"
"""

SCENARIO = """\
model = "m.toml"
[report]
variables = ["s", "g", "h"]
[goals.big]
variable = "h"
time = 10
value = 1e308
[policies.shrink]
kind = "step"
param = "a"
at = 5
to = 1e-308
[variants.half]
params.a = 0.5
"""


def test_run_with_values_near_the_float_limit_writes_plots_and_report(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(MODEL, encoding="utf-8")
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "s.toml"), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with xr.open_dataset(out / "results.nc") as ds:
        assert float(ds["s"].max()) == pytest.approx(1.7e308)  # finite, not clamped
        assert float(ds["h"].max()) == pytest.approx(1.6e308)
    for name in ("timeseries", "comparison", "policies"):
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG"), name
        assert len(png) > 5000, name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "s, g, h reach beyond" in html
    assert "×1e308" in html


@pytest.mark.parametrize(
    "values",
    [
        [[1e308, -1e308], [1e308, -1e308]],
        [[1.7e308, 1.7e308], [1.7e308, 1.7e308]],
        [[1e307, 0.0], [1.6e308, 1.0]],
        [[1e308, 1e308], [1.2e308, 1.3e308]],
        [[-np.finfo(float).max, 0.0], [np.finfo(float).max, np.inf]],
    ],
)
def test_huge_values_are_scaled_and_labelled(values: list[list[float]]) -> None:
    ds = xr.Dataset(
        {"x": (("time", "scenario"), values, {"units": "widgets"})},
        coords={"time": [0.0, 1.0], "scenario": [0, 1]},
    )
    scale = axis_scale(np.asarray(values))
    assert scale >= 1e307
    for fig in (plot_timeseries(ds, ["x"]), plot_comparison(ds, ["x"])):
        fig.savefig(io.BytesIO(), format="png")  # matplotlib places every tick
        ax = fig.axes[0]
        assert ax.get_ylabel() == f"widgets (×1e{round(np.log10(scale))})"
        lo, hi = ax.get_ylim()
        assert np.isfinite([lo, hi]).all()
        assert abs(hi - lo) < 100
    graph = nx.path_graph(2)
    fig = plot_network(graph, {"run": np.asarray(values)[1]}, variable="x")
    fig.savefig(io.BytesIO(), format="png")
    assert "×1e" in fig.axes[-1].get_ylabel()


def test_ordinary_values_keep_a_plain_axis() -> None:
    assert axis_scale(np.array([0.0, 1e14, -3.0, np.nan])) == 1.0
    ds = xr.Dataset(
        {"x": (("time", "scenario"), [[0.0, 2.0], [1.0, 3.0]], {"units": "widgets"})},
        coords={"time": [0.0, 1.0], "scenario": [0, 1]},
    )
    assert plot_timeseries(ds, ["x"]).axes[0].get_ylabel() == "widgets"


def test_a_run_that_went_non_finite_has_no_bar_and_no_warning() -> None:
    ds = xr.Dataset(
        {"x": (("time", "scenario"), [[1.0, 1.0, 1.0], [2.0, np.inf, np.nan]])},
        coords={"time": [0.0, 1.0], "scenario": [0, 1, 2]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_comparison(ds, ["x"])
        fig.savefig(io.BytesIO(), format="png")
    assert len(fig.axes[0].patches) == 1


def test_a_run_at_times_near_the_float_limit_writes_plots_and_report(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(
        '[model]\nname = "late"\ntime_units = "month"\n'
        "[time]\nstart = 1.6e308\nstop = 1.7e308\ndt = 1e307\n"
        '[constants.a]\nvalue = 1\n[stocks.s]\ninitial = "1"\ninflows = ["f"]\n'
        '[flows.f]\nequation = "a"\n',
        encoding="utf-8",
    )
    (tmp_path / "s.toml").write_text('model = "m.toml"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "s.toml"), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert (out / "timeseries.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "loop_dominance.png").read_bytes().startswith(b"\x89PNG")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "the time axis counts in (×1e308)" in html


def test_a_node_mean_near_the_float_limit_is_drawn() -> None:
    big = np.full((2, 3, 1), 1.7e308)  # the sum over nodes overflows, the mean does not
    ds = xr.Dataset(
        {"x": (("time", "node", "scenario"), big)},
        coords={"time": [0.0, 1.0], "scenario": [0]},
    )
    fig = plot_timeseries(ds, ["x"])
    fig.savefig(io.BytesIO(), format="png")
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1.7, 1.7])
    fig = plot_comparison(ds, ["x"])
    fig.savefig(io.BytesIO(), format="png")
    assert fig.axes[0].patches[0].get_height() == pytest.approx(1.7)


def test_loop_dominance_of_values_near_the_float_limit_warns_nothing(tmp_path: Path) -> None:
    import simdyn
    from simdyn.analysis import loop_dominance

    (tmp_path / "m.toml").write_text(MODEL, encoding="utf-8")
    model = simdyn.load_model(tmp_path / "m.toml")
    ds = simdyn.simulate(model, params={"a": [1.0, 1e-308]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in a score is NaN, not a warning
        dom = loop_dominance(ds, model, discover=False)
    assert dom.sizes["scenario"] == 2
    scores = dom.loop_score.values
    assert (np.isfinite(scores) | np.isnan(scores)).all()
