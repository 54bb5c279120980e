"""Find each management style's steady state of ``learning_org`` and write it into the model file.

Run ``python docs/make_steady_states.py``: every style preset is run for 1,500 months (Euler,
the model's dt) from its current start values; the end state becomes the preset's ``init_*``
values, and the transactional one also the default ``init_*`` constants (the model's defaults
are transactional management in its steady state). The market is sized afterwards so that the
competitors' quality equals the transactional firm's service quality and that firm runs at
``UTILISATION`` of its capacity; both steps are repeated until the file no longer changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import simdyn

MODEL = Path(__file__).resolve().parents[1] / "simdyn" / "models" / "learning_org.toml"
STYLES = ["directive", "transactional", "facilitative", "laissez_faire"]
UTILISATION = 0.95
#: init constant -> (stock or auxiliary, divide by headcount)
INITS = {
    "init_novices_1": "novices_1",
    "init_novices_2": "novices_2",
    "init_novices_3": "novices_3",
    "init_experienced": "experienced",
    "init_average_skill": "average_skill",
    "init_unapplied_knowledge": "unapplied_per_person",
    "init_routines": "routines",
    "init_autonomy": "autonomy",
    "init_engagement": "engagement",
    "init_fatigue": "fatigue",
    "init_work_pressure": "pressure_to_work",
    "init_improvement_pressure": "pressure_to_improve",
    "init_attractiveness": "attractiveness",
}


def steady_states(months: float = 1500) -> dict[str, dict[str, float]]:
    """The end state of each style after ``months``, as ``init_*`` values."""
    model = simdyn.load_model("learning_org")
    ds = simdyn.simulate(model, presets={"style": STYLES}, stop=months, save_per=months)
    end = ds.isel(time=-1)
    out: dict[str, dict[str, float]] = {}
    for i, style in enumerate(STYLES):
        d = end.isel(scenario=i)
        values = {}
        for const, var in INITS.items():
            if var == "unapplied_per_person":
                v = float(d.unapplied_knowledge) / float(d.headcount)
            else:
                v = float(d[var])
            values[const] = round(v, 5)
        values["_quality"] = float(d.service_quality)
        values["_capacity"] = float(d.capacity)
        out[style] = values
    return out


def _set_constant(text: str, name: str, value: float) -> str:
    pattern = rf"(\[constants\.{name}\]\nvalue = )[^\n]*"
    new, n = re.subn(pattern, rf"\g<1>{value:g}", text)
    if n != 1:
        raise SystemExit(f"{MODEL}: constant {name} not found")
    return new


def _set_preset(text: str, style: str, values: dict[str, float]) -> str:
    head = f"[presets.style.{style}]"
    i = text.index(head)
    j = text.index("\nvalues = {", i)
    k = text.index("}\n", j)
    line = text[j:k]
    for const, v in values.items():
        if const.startswith("_"):
            continue
        line = re.sub(rf"\b{const} = [^,}}]*", f"{const} = {v:g}", line)
    return text[:j] + line + text[k:]


def _write_once() -> dict[str, dict[str, float]]:
    states = steady_states()
    text = MODEL.read_text(encoding="utf-8")
    for style, values in states.items():
        text = _set_preset(text, style, values)
    for const, v in states["transactional"].items():
        if not const.startswith("_"):
            text = _set_constant(text, const, v)
    t = states["transactional"]
    share = simdyn.load_model("learning_org").constants["reference_share"].value
    text = _set_constant(text, "competitor_initial_quality", round(t["_quality"], 5))
    text = _set_constant(text, "market_demand_base", round(UTILISATION * t["_capacity"] / share))
    MODEL.write_text(text, encoding="utf-8")
    return states


def main(rounds: int = 20) -> None:
    """Write the steady states and the market size into the model file, to a fixed point.

    The market size moves the steady state (utilisation sets the pressure to improve, and
    team reflection follows it on both sides of balance), so the two are found again until
    the model file no longer changes.
    """
    done = 0
    while True:
        before = MODEL.read_text(encoding="utf-8")
        states = _write_once()
        done += 1
        if MODEL.read_text(encoding="utf-8") == before:
            break
        if done == rounds:
            raise SystemExit(f"{MODEL}: no fixed point after {rounds} rounds")
    print(f"fixed point after {done} round(s)")
    for style, values in states.items():
        print(style, {k: v for k, v in values.items() if k in ("init_engagement", "_capacity")})


if __name__ == "__main__":
    main()
