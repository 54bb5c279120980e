"""Regenerate the reference tables of learning_org in docs/model.md from the model file.

Run ``python docs/make_model_tables.py``: the text from ``### Stocks`` up to the end of the
style-preset lever table is rewritten from ``simdyn/models/learning_org.toml`` (stocks, flows,
auxiliaries, constants with their ranges and sources, the lever values of each preset).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "simdyn" / "models" / "learning_org.toml"
DOC = ROOT / "docs" / "model.md"
START = "### Stocks\n"
END = "\nEach preset also sets the `init_*` constants"


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _num(v: object) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {x:g}" for k, x in v.items())
    return f"{v:g}" if isinstance(v, float | int) else str(v)


def tables(spec: dict) -> str:
    """The markdown of the four tables and the preset levers."""
    out = [
        START,
        "| stock | initial | inflows | outflows | units | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in spec["stocks"].items():
        ins = ", ".join(f"`{f}`" for f in s.get("inflows", [])) or "—"
        outs = ", ".join(f"`{f}`" for f in s.get("outflows", [])) or "—"
        out.append(
            f"| `{name}` | `{_cell(s['initial'])}` | {ins} | {outs} | {s['units']} | {_cell(s.get('doc', ''))} |"
        )
    for kind, title in (("flows", "flow"), ("auxiliaries", "auxiliary")):
        out += [
            "",
            f"### {kind.capitalize()}",
            "",
            f"| {title} | equation | units | meaning | source |",
            "|---|---|---|---|---|",
        ]
        for name, v in spec[kind].items():
            out.append(
                f"| `{name}` | `{_cell(v['equation'])}` | {v['units']} | {_cell(v.get('doc', ''))} | {_cell(v.get('source', '—'))} |"
            )
    out += [
        "",
        "### Constants",
        "",
        "Default values are the transactional style (the status quo). The range is the constant's `min`/`max` in the "
        "file: its plausible range (with the source of the figure and of its uncertainty), so that a sweep over the "
        "bounds is meaningful; 0 at the bottom of a loop gain switches the loop off.",
        "",
        "| constant | default | units | range | meaning | source |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in spec["constants"].items():
        rng = f"{_num(c.get('min', ''))}–{_num(c.get('max', ''))}"
        out.append(
            f"| `{name}` | {_num(c['value'])} | {c['units']} | {rng} | {_cell(c.get('doc', ''))} | {_cell(c.get('source', ''))} |"
        )
    presets = spec["presets"]["style"]
    levers = [k for k in presets["directive"]["values"] if not k.startswith("init_")]
    out += [
        "",
        "### Style presets (`[presets.style.*]`)",
        "",
        "| lever | " + " | ".join(presets) + " |",
        "|---" * (len(presets) + 1) + "|",
    ]
    for lever in levers:
        out.append(
            f"| `{lever}` | "
            + " | ".join(_num(p["values"][lever]) for p in presets.values())
            + " |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    """Rewrite the tables in docs/model.md."""
    spec = tomllib.loads(MODEL.read_text(encoding="utf-8"))
    text = DOC.read_text(encoding="utf-8")
    i = text.index(START)
    j = text.index(END, i)
    DOC.write_text(text[:i] + tables(spec) + text[j:], encoding="utf-8")


if __name__ == "__main__":
    main()
