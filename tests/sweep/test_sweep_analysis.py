"""Analysis through the whole pipeline: scenario file -> simdyn sweep -> simdyn analyze."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from simdyn.cli import cli
from simdyn.sweep import load_sweep, run_sweep
from simdyn.sweep.analysis import analyze, load_results, prim_boxes, robustness

# Ishigami (a = 7, b = 0.1): Saltelli et al. (2008), Global Sensitivity Analysis, §4.
S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
S13 = 0.2437


def test_ishigami_sobol_indices_match_the_analytic_values(data: Path) -> None:
    runner = CliRunner()
    store = data / "ishigami.zarr"
    res = runner.invoke(
        cli, ["sweep", str(data / "ishigami_sweep.toml"), "--out", str(store), "-q"]
    )
    assert res.exit_code == 0, res.output
    report = data / "ishigami.html"
    res = runner.invoke(cli, ["analyze", str(store), "--method", "sobol", "--out", str(report)])
    assert res.exit_code == 0, res.output
    assert "Sobol indices" in res.output
    assert report.read_text().count("data:image/png;base64,") >= 1
    first, second = analyze(load_results(store), method="sobol").sobol, None
    res2 = analyze(load_results(store), method="sobol")
    first, second = res2.sobol, res2.sobol_second
    assert first is not None
    assert second is not None
    assert len(first) == 3
    for row in first.itertuples():
        assert abs(row.S1 - S1[row.input]) <= row.S1_conf, row
        assert abs(row.ST - ST[row.input]) <= row.ST_conf, row
    s13 = second[(second.input == "x1") & (second.other == "x3")].iloc[0]
    assert abs(s13.S2 - S13) <= s13.S2_conf
    others = second[~((second.input == "x1") & (second.other == "x3"))]
    assert (others.S2.abs() <= others.S2_conf).all()


def test_morris_ranks_the_ishigami_inputs(data: Path) -> None:
    sw = load_sweep(
        data / "ishigami_sweep.toml",
        overrides={"sweep.design.kind": "morris", "sweep.design.n": 60},
    )
    run_sweep(sw, data / "m.zarr")
    table = analyze(load_results(data / "m.zarr"), method="morris").morris
    assert table is not None
    mu = dict(zip(table.input, table.mu_star, strict=True))
    assert mu["x1"] > mu["x3"] > 0
    assert mu["x2"] > mu["x3"]
    assert (table.mu_star_conf > 0).all()


TEACUP = """model = "teacup"
[goals.cool]
variable = "teacup_temperature"
time = 10
comparison = "<="
value = 120
[sweep]
seed = 2
[sweep.design]
kind = "lhs"
n = 200
[sweep.uncertainties.characteristic_time]
range = [4, 20]
[sweep.uncertainties.room_temperature]
range = [60, 75]
[sweep.levers.tau_scale]
param = "characteristic_time"
values = [1]
[sweep.outcomes.t10]
variable = "teacup_temperature"
time = 10
sense = "min"
"""


@pytest.fixture(scope="module")
def cups(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """The teacup sweep without its lever: one policy over uncertain cups."""
    tmp_path = tmp_path_factory.mktemp("cups")
    path = tmp_path / "teacup_sweep.toml"
    path.write_text(
        TEACUP.replace(
            '[sweep.levers.tau_scale]\nparam = "characteristic_time"\nvalues = [1]\n', ""
        )
    )
    run_sweep(load_sweep(path), tmp_path / "t.zarr")
    ds = load_results(tmp_path / "t.zarr")
    return ds


def test_robustness_and_prim_find_the_slow_cups(cups: xr.Dataset) -> None:
    ds = cups
    share, table = robustness(ds)
    met = ds.goal_cool_met.values == 1
    assert share.satisficing.iloc[0] == pytest.approx(met.mean())
    # T(10) = room + (180 - room) exp(-10 / tau) <= 120 fails for slow cups (large tau)
    tau = ds.characteristic_time.values
    room = ds.room_temperature.values
    expected = room + (180 - room) * np.exp(-10 / tau)
    assert np.allclose(ds.t10.values, expected, rtol=0.01)  # Euler at dt 0.125
    box = prim_boxes(ds)
    assert "characteristic_time" in box.limits.index
    lo = float(box.limits.loc["characteristic_time", "min"])
    assert 10 < lo < 15  # cups fail above tau = 10 / ln((180 - room) / (120 - room)): 11.8-14.4
    assert box.density >= 0.8
    assert table.mean_regret.iloc[0] == 0


def test_prim_asks_for_more_than_the_base_rate(cups: xr.Dataset) -> None:
    ds = cups
    missed = float(np.mean(ds.goal_cool_met.values != 1))
    # a density the whole sample already has would make the whole input space the box
    box = prim_boxes(ds, threshold=missed / 2)
    assert box.share == pytest.approx(missed)
    assert box.threshold == pytest.approx(missed + (1 - missed) / 2)
    assert box.density >= box.threshold
    assert "characteristic_time" in box.limits.index
    assert box.summary().startswith("PRIM box where a goal is missed")
    assert list(box.box_table().columns) == ["input", "kept"]
    empty = dataclasses.replace(box, limits=box.limits.iloc[:0])
    assert "no input range concentrates them" in empty.summary()


def test_policies_regret_against_the_best(data: Path) -> None:
    sw = load_sweep(data / "blinker_sweep.toml", overrides={"sweep.design.n": 20})
    run_sweep(sw, data / "b.zarr")
    ds = load_results(data / "b.zarr")
    _, table = robustness(ds, "final_level")
    values = ds.final_level.values.reshape(2, 20)
    best = values.max(axis=0)
    assert table.mean_regret.tolist() == pytest.approx((best - values).mean(axis=1).tolist())


def test_report_shows_fan_charts_and_tables(data: Path) -> None:
    sw = load_sweep(data / "blinker_sweep.toml", overrides={"sweep.design.n": 20})
    run_sweep(sw, data / "r.zarr")
    res = CliRunner().invoke(cli, ["analyze", str(data / "r.zarr")])
    assert res.exit_code == 0, res.output
    html = (data / "r-report.html").read_text()
    assert "Fan chart of level" in html
    assert "Robustness per policy" in html
    assert html.count("data:image/png;base64,") >= 2
    assert xr.open_zarr(data / "r.zarr").attrs["keep"] == ["level"]
