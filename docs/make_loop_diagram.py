"""Regenerate docs/model.md's loop table and the learning_org causal-loop diagram.

Run ``python docs/make_loop_diagram.py``. The table (between ``<!-- loops:begin -->`` and
``<!-- loops:end -->``) comes from the model file's ``[loops.*]``; the diagram draws those loops
from the model's causal graph with link widths by link score at month 9 of the directive
organisation's demand shock (+20 % from month 6 to 30), when the work-harder loop is strongest.
"""

from pathlib import Path

import simdyn
from simdyn.analysis import loop_dominance, loop_table_markdown
from simdyn.loop_plots import draw_loop_diagram

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "model.md"
IMAGE = ROOT / "docs" / "img" / "learning_org_loops.png"
BEGIN, END = "<!-- loops:begin -->", "<!-- loops:end -->"


def main() -> None:
    model = simdyn.load_model("learning_org")
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{loop_table_markdown(model)}{END}{tail}", encoding="utf-8")
    shock = model.replace(equations={"demand_multiplier": "1 + 0.2 * (STEP(1, 6) - STEP(1, 30))"})
    ds = simdyn.simulate(shock, presets={"style": "directive"}, stop=60)
    dom = loop_dominance(ds, shock, discover=False)
    named = [lp for lp in shock.loops(ds) if lp.name]
    draw_loop_diagram(
        shock.graph(ds),
        named,
        IMAGE,
        link_scores=dom.link_score.sel(time=9, scenario=0),
        title="learning_org: the named feedback loops (link width: |link score| at month 9, "
        "directive, demand shock)",
    )
    print(f"wrote {DOC} and {IMAGE}")


if __name__ == "__main__":
    main()
