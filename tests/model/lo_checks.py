"""Reference-mode assertions of learning_org as functions of a batch of parameter variants.

Each check runs its scenario once for all variants (one ``simulate`` call) and returns, per
variant, whether the reference-mode assertion holds. The loop-knockout test runs every check
with each loop's gain set to 0; the reference-mode tests assert the same things directly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from lo_common import SHOCK, captive_market

import simdyn

Variants = list[dict[str, float]]

#: Homer's workaholic (R11): the goal follows accomplishment, a stretch goal presses
BURNOUT = {
    "goal_accomplishment_weight": 1.0,
    "stretch_goal_pressure": 2.0,
    "goal_aspiration": 0.3,
    "goal_adjustment_time": 2.0,
}


def _params(
    model, variants: Variants, styles: list[str], extra: dict[str, list[float]] | None = None
) -> dict:
    """Parameters for ``len(variants) * len(styles)`` scenarios (variant-major). A constant a
    variant does not set keeps the style preset's value (or the model's default)."""
    keys = sorted({k for v in variants for k in v} | set(extra or {}))
    presets = model.presets["style"]
    out: dict[str, list[float]] = {}
    for k in keys:
        col = []
        for v in variants:
            for r, style in enumerate(styles):
                if extra and k in extra:
                    col.append(extra[k][r])
                elif k in v:
                    col.append(v[k])
                else:
                    col.append(presets[style].values.get(k, model.constants[k].value))
        out[k] = col
    return out


def _ser(ds, var, i):
    return ds[var].isel(scenario=i)


def r2_worse_before_better(model, variants: Variants) -> list[bool]:
    """R2: capacity dips at once, recovers within 6-12 months, ends >= 3 % up at month 36."""
    kw = {"presets": {"style": "facilitative"}, "stop": 36, "save_per": 0.5, "save": ["capacity"]}
    p = _params(model, variants, ["facilitative"])
    trt = simdyn.simulate(
        model.replace(equations={"development_hours": "3 + 7 * STEP(1, 6)"}), params=p, **kw
    )
    ctl = simdyn.simulate(model.replace(equations={"development_hours": "3"}), params=p, **kw)
    out = []
    for i in range(len(variants)):
        r = (_ser(trt, "capacity", i) / _ser(ctl, "capacity", i)).values
        t = trt.time.values
        up = t[(t > 6) & (r > 1)]
        rec = up[0] - 6 if len(up) else np.inf
        out.append(bool(r[13] < 0.97 and 6 <= rec <= 12 and r[72] > 1.03))
    return out


def r3_better_before_worse(model, variants: Variants) -> list[bool]:
    """R3: cutting development raises capacity first, then -3 % by month 18 and -9 % by 36."""
    cut = model.replace(equations={"development_hours": "8.33 * (1 - STEP(1, 6))"})
    p = _params(model, variants, ["facilitative"])
    ds = simdyn.simulate(
        cut, presets={"style": "facilitative"}, params=p, stop=36, save_per=0.5, save=["capacity"]
    )
    out = []
    for i in range(len(variants)):
        y = _ser(ds, "capacity", i).values
        y = y / y[0]
        t = ds.time.values
        below = t[(t > 6) & (y < 1)]
        out.append(
            bool(
                y[13] > 1.02
                and len(below)
                and below[0] - 6 <= 12
                and y[36] <= 0.97
                and y[72] <= 0.91
            )
        )
    return out


def _shock(model, variants, styles, params_extra=None, stop=72):
    p = _params(model, variants, styles, params_extra)
    return simdyn.simulate(
        model.replace(equations={"demand_multiplier": SHOCK}),
        presets={"style": styles * len(variants)},
        params=p,
        stop=stop,
        save_per=0.5,
        save=[
            "output",
            "capacity",
            "annual_quit_rate",
            "fatigue",
            "service_quality",
            "backlog",
            "overtime_fraction",
            "delivery_delay_goal",
            "market_share",
        ],
    )


def r5_r6_competitive(model, variants: Variants) -> dict[str, list[bool]]:
    """R5 (directive quits >= 2x, >= 1.5x facilitative at 24; facilitative < 1.3x) and R6 in a
    competitive market (directive < 0.90 at months 60 and 72, facilitative within 2 % at 72)."""
    styles = ["directive", "facilitative"]
    ds = _shock(model, variants, styles)
    r5, r6 = [], []
    for k in range(len(variants)):
        d, f = 2 * k, 2 * k + 1
        qd, qf = _ser(ds, "annual_quit_rate", d), _ser(ds, "annual_quit_rate", f)
        r5.append(
            bool(
                float(qd.max()) >= 2 * float(qd[0])
                and float(qd.sel(time=24)) >= 1.5 * float(qf.sel(time=24))
                and float(qf.max()) < 1.3 * float(qf[0])
            )
        )
        yd = _ser(ds, "output", d) / float(_ser(ds, "output", d)[0])
        yf = _ser(ds, "output", f) / float(_ser(ds, "output", f)[0])
        r6.append(
            bool(
                float(yd.sel(time=60)) < 0.9
                and float(yd.sel(time=72)) < 0.9
                and abs(float(yf.sel(time=72)) - 1) <= 0.02
            )
        )
    return {
        "R5 directive spiral, facilitative bounded": r5,
        "R6 competitive: directive down, facilitative back": r6,
    }


def r6_captive(model, variants: Variants) -> list[bool]:
    """R6 with captive clients: the directive trap locks in (capacity < 0.90 at 120, not
    recovering), facilitative returns within 2 %."""
    styles = ["directive", "facilitative"]
    extra = {
        k: v if isinstance(v, list) else [v] * len(styles)
        for k, v in captive_market(model, styles, 0.95).items()
    }
    ds = _shock(model, variants, styles, params_extra=extra, stop=120)
    out = []
    for k in range(len(variants)):
        yd = _ser(ds, "capacity", 2 * k) / float(_ser(ds, "capacity", 2 * k)[0])
        yf = _ser(ds, "capacity", 2 * k + 1) / float(_ser(ds, "capacity", 2 * k + 1)[0])
        out.append(
            bool(
                float(yd.sel(time=60)) < 0.9
                and float(yd.sel(time=120)) < 0.9
                and float(yd.sel(time=120)) < float(yd.sel(time=90)) + 0.01
                and abs(float(yf.sel(time=120)) - 1) <= 0.02
            )
        )
    return out


def r11_burnout(model, variants: Variants) -> list[bool]:
    """R11: a sustained fatigue cycle without a work-hour cap; with a cap of 20 % overtime it
    is gone and mean capacity is higher."""
    extra = {k: [val, val] for k, val in BURNOUT.items()}
    extra["max_overtime"] = [0.5, 0.2]
    p = _params(model, variants, ["directive", "directive"], extra)
    for i, v in enumerate(variants):  # a knocked-out stretch-goal link stays off
        if v.get("stretch_goal_pressure") == 0:
            p["stretch_goal_pressure"][2 * i : 2 * i + 2] = [0.0, 0.0]
    ds = simdyn.simulate(
        model,
        presets={"style": "directive"},
        params=p,
        stop=360,
        save_per=0.5,
        save=["fatigue", "capacity"],
    )
    out = []
    for k in range(len(variants)):
        f0 = _ser(ds, "fatigue", 2 * k)
        f1 = _ser(ds, "fatigue", 2 * k + 1)
        amp = [float(np.ptp(f0.sel(time=slice(a, a + 90)).values)) for a in (180, 270)]
        capped = float(np.ptp(f1.sel(time=slice(180, 360)).values))
        c0 = float(_ser(ds, "capacity", 2 * k).sel(time=slice(180, 360)).mean())
        c1 = float(_ser(ds, "capacity", 2 * k + 1).sel(time=slice(180, 360)).mean())
        out.append(bool(amp[0] > 0.2 and amp[1] > 0.9 * amp[0] and capped < 0.01 and c1 > c0))
    return out


def m2_surge_sequence(model, variants: Variants) -> list[bool]:
    """M2: backlog first, then overtime, fatigue and quits; quality erodes (directive)."""
    ds = _shock(model, variants, ["directive"], stop=36)
    out = []

    def first(x, cond):
        t = ds.time.values[cond(x)]
        return float(t[0]) if len(t) else np.inf

    for k in range(len(variants)):
        b = _ser(ds, "backlog", k).values
        o = _ser(ds, "overtime_fraction", k).values
        f = _ser(ds, "fatigue", k).values
        q = _ser(ds, "annual_quit_rate", k).values
        s = _ser(ds, "service_quality", k).values
        tb, to, tf = (
            first(b, lambda x: x > 1.05 * x[0]),
            first(o, lambda x: x > 0.02),
            first(f, lambda x: x > 0.05),
        )
        tq, ts = first(q, lambda x: x > 1.2 * x[0]), first(s, lambda x: x < 0.95 * x[0])
        out.append(bool(6 < tb <= to < tf < tq < 30 and to < ts < 30))
    return out


def m2_standards_and_clients(model, variants: Variants) -> list[bool]:
    """M2 (directive): under the surge the delivery-delay standard erodes above its target
    (Oliva & Sterman 2001) and clients leave the slower firm: share down 2 % by month 12
    (Forrester 1968; delivery delay is perceived over 3 months, quality over 6)."""
    ds = _shock(model, variants, ["directive"], stop=36)
    out = []
    for k in range(len(variants)):
        goal = _ser(ds, "delivery_delay_goal", k)
        share = _ser(ds, "market_share", k)
        target = float(goal[0])
        out.append(
            bool(
                float(goal.max()) > 1.05 * target
                and float(share.sel(time=12)) < 0.98 * float(share[0])
            )
        )
    return out


def m3_share_as_the_craft_moves(model, variants: Variants) -> list[bool]:
    """M3: with the craft changing 6 %/yr faster, facilitative keeps >= 97 % of its share over
    5 years, directive keeps < 95 %."""
    styles = ["directive", "facilitative"]
    extra = {"craft_change_rate": [0.06, 0.06]}
    ds = simdyn.simulate(
        model,
        presets={"style": styles * len(variants)},
        params=_params(model, variants, styles, extra),
        stop=60,
        save=["market_share"],
    )
    kept = (ds.market_share.isel(time=-1) / ds.market_share.isel(time=0)).values
    return [bool(kept[2 * k + 1] >= 0.97 and kept[2 * k] < 0.95) for k in range(len(variants))]


def r7_style_ordering(model, variants: Variants) -> list[bool]:
    """R7: facilitative quits 21-51 % below directive; engagement highest under facilitative."""
    styles = ["directive", "transactional", "facilitative", "laissez_faire"]
    p = _params(model, variants, styles)
    ds = simdyn.simulate(
        model,
        presets={"style": styles * len(variants)},
        params=p,
        stop=120,
        save=["annual_quit_rate", "engagement"],
    )
    end = ds.isel(time=-1)
    out = []
    for k in range(len(variants)):
        q = end.annual_quit_rate.values[4 * k : 4 * k + 4]
        g = end.engagement.values[4 * k : 4 * k + 4]
        out.append(
            bool(0.21 <= 1 - q[2] / q[0] <= 0.51 and q[2] < q[3] < q[0] and int(np.argmax(g)) == 2)
        )
    return out


CHECKS: dict[str, Callable[..., list[bool]]] = {
    "R2 worse-before-better": r2_worse_before_better,
    "R3 better-before-worse": r3_better_before_worse,
    "R6 captive: directive locked in": r6_captive,
    "R7 style ordering, Gallup band": r7_style_ordering,
    "R11 burnout cycle, damped by a cap": r11_burnout,
    "M2 surge sequence": m2_surge_sequence,
    "M2 standards erode, clients leave": m2_standards_and_clients,
    "M3 share as the craft moves": m3_share_as_the_craft_moves,
}


def run_all(model, variants: Variants) -> dict[str, list[bool]]:
    """Every check for every variant."""
    results: dict[str, list[bool]] = {}
    for name, check in CHECKS.items():
        results[name] = check(model, variants)
    results.update(r5_r6_competitive(model, variants))
    return results
