"""Same-start comparisons: every run starts from one organisation's state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import simdyn
from simdyn.cli import cli
from simdyn.scenario import run_scenario

STYLES = ["directive", "transactional", "facilitative", "laissez_faire"]


@pytest.fixture(scope="module")
def same_start() -> xr.Dataset:
    return simdyn.simulate(
        "learning_org",
        presets={"style": STYLES},
        stop=36,
        dt=0.25,
        start_from="directive",
        save=["engagement", "headcount", "output", "average_skill"],
    )


def test_every_style_starts_from_the_directive_state(same_start: xr.Dataset) -> None:
    first = same_start.isel(time=0)
    for var in ("engagement", "headcount", "average_skill"):
        assert np.ptp(first[var].values) < 1e-9, var
    assert same_start.attrs["start_from"] == "style directive"


def test_styles_diverge_from_the_same_start(same_start: xr.Dataset) -> None:
    end = same_start.engagement.sel(time=36).values
    assert end[2] > end[0] + 0.15  # facilitative ends well above directive
    assert np.ptp(end) > 0.2


def test_a_start_from_a_steady_state_stays_steady(same_start: xr.Dataset) -> None:
    directive = same_start.engagement.isel(scenario=0).values
    assert np.ptp(directive) < 1e-3


def test_own_steady_states_are_flat_which_is_why_start_from_exists() -> None:
    ds = simdyn.simulate(
        "learning_org", presets={"style": STYLES}, stop=24, dt=0.25, save=["engagement"]
    )
    assert float(np.ptp(ds.engagement.values, axis=0).max()) < 1e-3


def test_start_from_a_result_continues_the_run() -> None:
    full = simdyn.simulate("teacup", stop=20, method="rk4")
    later = simdyn.simulate("teacup", stop=10, method="rk4", start_from=full.sel(time=[10.0]))
    np.testing.assert_allclose(
        later.teacup_temperature.values[-1], full.teacup_temperature.sel(time=20.0).values
    )


def test_start_from_a_result_with_several_times_is_refused() -> None:
    full = simdyn.simulate("teacup", stop=5)
    with pytest.raises(simdyn.ScenarioError, match=r"has \d+ times"):
        simdyn.simulate("teacup", stop=5, start_from=full)


def test_start_from_a_style_needs_style_presets() -> None:
    with pytest.raises(simdyn.ScenarioError, match="no style presets"):
        simdyn.simulate("teacup", stop=5, start_from="directive")


SCENARIO = """\
model = "learning_org"
start_from = "directive"
style = "directive"
[time]
stop = 24
dt = 0.25
method = "euler"
[variants.facilitative]
style = "facilitative"
[variants.later]
style = "facilitative"
start_from = { run = "base", time = 12 }
"""


def test_a_scenario_file_starts_every_run_from_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "styles.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    result = run_scenario(path, variants=["base", "facilitative"])
    eng = result.dataset.engagement
    assert abs(float(eng.isel(time=0, scenario=0)) - float(eng.isel(time=0, scenario=1))) < 1e-9
    assert float(eng.isel(time=-1, scenario=1)) > float(eng.isel(time=-1, scenario=0)) + 0.1


def test_a_scenario_can_start_from_another_run_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "styles.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    result = run_scenario(path, variants=["base", "later"])
    base = result.dataset.headcount.isel(scenario=0)
    later = result.dataset.headcount.isel(scenario=1)
    assert abs(float(later.isel(time=0)) - float(base.sel(time=12))) < 1e-6


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'start_from = "directve"',
            "unknown style 'directve' to start from (did you mean 'directive'?)",
        ),
        ('start_from = { run = "bse" }', "no run named 'bse' to start from (did you mean 'base'?)"),
        ('start_from = { run = "x", time = 99 }', "time 99 is outside run 'x' (0 to 24)"),
        ("start_from = 3", "must be a style name or a table"),
    ],
)
def test_start_from_mistakes_are_located(tmp_path: Path, line: str, message: str) -> None:
    text = 'model = "learning_org"\n[time]\nstop = 24\n[variants.x]\n[variants.y]\n' + line + "\n"
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "s.toml:6" in result.output


OWN_STYLE = """\
model = "learning_org"
start_from = "directive"
style = "transactional"
[params]
demand_multiplier = 1.2
[policies.change]
kind = "style"
at = 0
to = "facilitative"
transition = 12
[time]
stop = 6
dt = 0.125
method = "euler"
"""


def test_the_start_is_the_style_s_own_state_whatever_the_scenario_sets(tmp_path: Path) -> None:
    """The scenario's own style, params and policies act from the start on: they do not
    change the state it starts from (every stock equals the directive model's at time 0)."""
    path = tmp_path / "own.toml"
    path.write_text(OWN_STYLE, encoding="utf-8")
    run = run_scenario(path).dataset.isel(time=0, scenario=0)
    directive = simdyn.simulate(
        "learning_org", presets={"style": "directive"}, stop=1, dt=0.125, method="euler"
    ).isel(time=0, scenario=0)
    for stock in simdyn.load_model("learning_org").stocks:
        assert float(run[stock]) == float(directive[stock]), stock
    assert run_scenario(path).dataset.attrs["start_from"] == "style directive"


def test_a_started_batch_keeps_each_scenarios_random_stream_under_scenario_offset() -> None:
    from simdyn.model.model import model_from_dict

    m = model_from_dict(
        {
            "model": {"name": "r", "time_units": "month"},
            "time": {"stop": 5, "dt": 0.5},
            "constants": {"c": {"value": 1.0}},
            "stocks": {"s": {"initial": "1", "inflows": ["f"]}},
            "flows": {"f": {"equation": "c * NORMAL(0, 1)"}},
        }
    )
    base = simdyn.simulate(m, seed=1).sel(time=2)
    whole = simdyn.simulate(m, params={"c": [1, 2, 3, 4]}, seed=7, start_from=base)
    tail = simdyn.simulate(m, params={"c": [3, 4]}, seed=7, start_from=base, scenario_offset=2)
    assert np.array_equal(whole.s.values[:, 2:], tail.s.values)
