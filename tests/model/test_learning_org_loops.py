"""Feedback loops of learning_org: R8 (limits to growth), R11 (burnout) and a loop knockout.

The knockout sets each loop's gain constant (docs/model.md, "Feedback loops") to 0 and runs the
reference-mode assertions of ``lo_checks``: every loop must be caught by at least one of them,
and the table below records which ones catch it (the table in docs/model.md is the same).
"""

import numpy as np
import pytest
from lo_checks import BURNOUT, run_all
from lo_common import DTS

import simdyn

#: loop -> (gain constant, the assertions that fail when the gain is 0)
KNOCKOUTS = {
    "work harder": (
        "work_harder_gain",
        {
            "M2 surge sequence",
            "R11 burnout cycle, damped by a cap",
            "R5 directive spiral, facilitative bounded",
        },
    ),
    "work smarter": (
        "smarter_response",
        {
            "R11 burnout cycle, damped by a cap",
            "R3 better-before-worse",
            "R5 directive spiral, facilitative bounded",
            "R6 captive: directive locked in",
        },
    ),
    "shortcuts / reinvestment": (
        "shortcut_strength",
        {
            "M3 share as the craft moves",
            "R11 burnout cycle, damped by a cap",
            "R5 directive spiral, facilitative bounded",
            "R6 captive: directive locked in",
            "R6 competitive: directive down, facilitative back",
        },
    ),
    "attribution error": (
        "attribution_control",
        {
            "M3 share as the craft moves",
            "R11 burnout cycle, damped by a cap",
            "R5 directive spiral, facilitative bounded",
            "R6 competitive: directive down, facilitative back",
        },
    ),
    "burnout / fatigue": (
        "fatigue_sensitivity",
        {
            "M2 standards erode, clients leave",
            "M2 surge sequence",
            "M3 share as the craft moves",
            "R11 burnout cycle, damped by a cap",
            "R5 directive spiral, facilitative bounded",
            "R6 captive: directive locked in",
            "R6 competitive: directive down, facilitative back",
        },
    ),
    "engagement-turnover spiral": (
        "engagement_quit_sensitivity",
        {
            "M3 share as the craft moves",
            "R11 burnout cycle, damped by a cap",
            "R5 directive spiral, facilitative bounded",
            "R6 competitive: directive down, facilitative back",
            "R7 style ordering, Gallup band",
        },
    ),
    "attraction of talent": (
        "hire_skill_attraction_gain",
        {
            "R6 competitive: directive down, facilitative back",
        },
    ),
    "goal erosion": ("max_goal_erosion", {"M2 standards erode, clients leave"}),
    "peer learning": (
        "peer_learning_rate",
        {
            "R6 captive: directive locked in",
            "R6 competitive: directive down, facilitative back",
        },
    ),
    "trust in competence": (
        "trust_gain",
        {
            "M3 share as the craft moves",
            "R3 better-before-worse",
            "R6 competitive: directive down, facilitative back",
        },
    ),
    "delivery delay (market)": ("delay_share_elasticity", {"M2 standards erode, clients leave"}),
    "quality and share (market)": (
        "quality_share_elasticity",
        {
            "M2 surge sequence",
            "R11 burnout cycle, damped by a cap",
            "R3 better-before-worse",
            "R6 competitive: directive down, facilitative back",
            "R7 style ordering, Gallup band",
        },
    ),
    "cutting corners": ("corner_cutting", {"R11 burnout cycle, damped by a cap"}),
    "stretch goals (Homer)": ("stretch_goal_pressure", {"R11 burnout cycle, damped by a cap"}),
}


@pytest.fixture(scope="module")
def model():
    return simdyn.load_model("learning_org")


def test_every_loop_knockout_is_caught_by_a_reference_mode(model):
    loops = list(KNOCKOUTS)
    variants = [{}] + [{KNOCKOUTS[loop][0]: 0.0} for loop in loops]
    results = run_all(model, variants)
    baseline_failures = [name for name, ok in results.items() if not ok[0]]
    assert baseline_failures == []
    caught = {
        loop: {name for name, ok in results.items() if not ok[j + 1]}
        for j, loop in enumerate(loops)
    }
    assert all(caught[loop] for loop in loops), caught
    assert caught == {loop: KNOCKOUTS[loop][1] for loop in loops}


def test_every_documented_loop_has_its_gain_in_the_docs(model):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "model.md").read_text(encoding="utf-8")
    for loop, (gain, _) in KNOCKOUTS.items():
        assert gain in model.constants, gain
        assert f"`{gain}`" in doc, loop


# ----------------------------------------------------------------------------------- R8
def bass_like(model, p_hours: float, q: float, dt: float):
    """Skill spreading from a low start with no turnover and no market (a Bass process):
    the external term is formal learning (all practised in session), the internal term peer
    learning at rate ``q``."""
    params = {
        "init_average_skill": 0.02,
        "hiring_allowed": 0.0,
        "base_quit_rate": 0.0,
        "learning_by_doing_rate": 0.0,
        "self_directed_hours_max": 0.0,
        "market_demand_base": 0.0,
        "skill_half_life": 120.0,
        "weight_competence": 0.0,
        "trust_gain": 0.0,
        "development_hours": p_hours,
        "peer_learning_rate": q,
        "team_learning": 1.0,
        **{f"practised_share[{e}]": 1.0 for e in model.dimensions["intervention"]},
    }
    ds = simdyn.simulate(
        model,
        params=params,
        stop=120,
        dt=dt,
        save_per=0.25,
        save=["average_skill", "learning_per_person", "skill_headroom"],
    )
    d = ds.isel(scenario=0)
    p = float(d.learning_per_person.isel(time=0).sum() / d.skill_headroom.isel(time=0))
    return d, p


@pytest.mark.parametrize("dt", DTS)
def test_r8_s_shaped_skill_growth_iff_peer_learning_exceeds_external_learning(model, dt):
    for hours, q in ((0.5, 0.5), (20.0, 0.02)):
        d, p = bass_like(model, hours, q, dt)
        s = d.average_skill.values
        second = np.diff(s, 2)
        growing = (np.abs(second) > 1e-9) & (
            s[1:-1] < s[0] + 0.95 * (s[-1] - s[0])
        )  # the growth phase
        signs = np.sign(second[growing])
        changes = int((np.diff(signs) != 0).sum())
        if q > p:
            assert changes == 1, (hours, q, p)
            t_inflection = d.time.values[1:-1][growing][np.argmax(np.diff(signs) != 0)]
            bass = np.log(q / p) / (p + q)
            assert t_inflection == pytest.approx(bass, rel=0.35)
        else:
            assert changes == 0, (hours, q, p)


# ----------------------------------------------------------------------------------- R11
@pytest.mark.parametrize("dt", DTS)
def test_r11_burnout_limit_cycle_damped_by_a_work_hour_cap(model, dt):
    params = {**{k: [v, v, v] for k, v in BURNOUT.items()}, "max_overtime": [0.5, 0.2, 0.1]}
    ds = simdyn.simulate(
        model,
        presets={"style": "directive"},
        params=params,
        stop=360,
        dt=dt,
        save_per=0.5,
        save=["fatigue", "total_hours", "capacity"],
    )
    late = ds.sel(time=slice(180, 360))
    f = late.fatigue.isel(scenario=0)
    amp = [float(np.ptp(f.sel(time=slice(a, a + 90)).values)) for a in (180, 270)]
    assert amp[0] > 0.3  # fatigue swings by more than 0.3 ...
    assert amp[1] == pytest.approx(amp[0], rel=0.05)  # ... and keeps swinging (a limit cycle)
    assert float(np.ptp(late.total_hours.isel(scenario=0).values)) > 20  # hours worked swing too
    for capped in (1, 2):
        assert float(np.ptp(late.fatigue.isel(scenario=capped).values)) < 0.01  # the cap damps it
    mean = late.capacity.mean("time").values
    assert mean[1] > mean[0]  # a work-hour cap raises average capacity (Homer 1985) ...
    assert mean[1] > mean[2]  # ... with an optimum inside the stable region
