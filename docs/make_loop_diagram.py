"""Draw the main feedback structure of learning_org from its dependency graph.

Run ``python docs/make_loop_diagram.py``; writes ``docs/img/learning_org_loops.png``. An arrow
A -> B means B's equation (or, for a stock, one of its flows) depends on A, possibly through
auxiliaries that are not drawn.
"""

import re
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "simdyn" / "models" / "learning_org.toml"
OUT = ROOT / "docs" / "img" / "learning_org_loops.png"

KEY = [
    "pressure_to_work",
    "pressure_to_improve",
    "performance_goal",
    "output",
    "work_hours",
    "total_hours",
    "fatigue",
    "engagement",
    "autonomy",
    "quits",
    "novices",
    "skill_stock",
    "unapplied_knowledge",
    "routines",
    "attractiveness",
    "development_hours_delivered",
]


def dependency_graph(spec):
    g = nx.DiGraph()
    names = set(spec["stocks"]) | set(spec["flows"]) | set(spec["auxiliaries"])
    for table in ("flows", "auxiliaries"):
        for name, v in spec[table].items():
            for tok in set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", v["equation"])):
                if tok in names and tok != name:
                    g.add_edge(tok, name)
    for name, v in spec["stocks"].items():
        for f in v["inflows"] + v["outflows"]:
            g.add_edge(f, name)
    return g


def contract(g, keep):
    """Edges between kept nodes through paths of non-kept nodes."""
    h = nx.DiGraph()
    h.add_nodes_from(keep)
    for src in keep:
        stack, seen = list(g.successors(src)), set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            if n in keep:
                if n != src:
                    h.add_edge(src, n)
            else:
                stack.extend(g.successors(n))
    return h


def main():
    spec = tomllib.loads(MODEL.read_text())
    g = dependency_graph(spec)
    g.add_edge("novices_1", "novices")
    h = contract(g, set(KEY))
    pos = nx.circular_layout(KEY)
    fig, ax = plt.subplots(figsize=(11, 11))
    nx.draw_networkx_nodes(h, pos, node_size=2600, node_color="#dde8f5", ax=ax)
    nx.draw_networkx_labels(h, pos, labels={n: n.replace("_", "\n") for n in h}, font_size=8, ax=ax)
    nx.draw_networkx_edges(
        h,
        pos,
        arrowsize=12,
        node_size=2600,
        width=0.8,
        edge_color="#555555",
        connectionstyle="arc3,rad=0.08",
        ax=ax,
    )
    ax.set_title("learning_org: dependencies among the main loop variables")
    ax.axis("off")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110, bbox_inches="tight")
    cycles = sum(1 for _ in nx.simple_cycles(h))
    print(f"wrote {OUT} ({h.number_of_edges()} edges, {cycles} cycles)")


if __name__ == "__main__":
    main()
