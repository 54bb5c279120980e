"""Loop tables and dominance phases as text (the ``simdyn loops`` command) and Markdown."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from simdyn.analysis.phases import dominance_phases
from simdyn.model import Model
from simdyn.model.loops import Loop

__all__ = ["dominance_text", "loop_frame", "loop_table_markdown", "loops_text"]

_TYPE = {"R": "reinforcing", "B": "balancing", "?": "changes sign"}


def loop_frame(loops: Sequence[Loop]) -> pd.DataFrame:
    """One row per loop: id, polarity, length, named, documented polarity, path."""
    return pd.DataFrame(
        [
            {
                "loop": lp.id,
                "polarity": lp.polarity,
                "length": lp.length,
                "named": bool(lp.name),
                "documented": lp.documented,
                "path": lp.path(),
            }
            for lp in loops
        ]
    ).set_index("loop")


def loop_table_markdown(model: Model) -> str:
    """The Markdown table of the model's named loops, in the file's order (docs/model.md)."""
    found = {lp.name: lp for lp in model.loops() if lp.name}
    lines = ["| loop | type | variables (causal order) | what it does |", "|---|---|---|---|"]
    for name, spec in model.spec.loops.items():
        lp = found[name]
        path = " → ".join(f"`{v}`" for v in (*spec.variables, spec.variables[0]))
        lines.append(
            f"| **{name.replace('_', ' ')}** | {_TYPE[lp.polarity]} ({lp.polarity}) | {path} | "
            f"{lp.description} |"
        )
    return "\n".join(lines) + "\n"


def loops_text(loops: Sequence[Loop], complete: bool, *, limit: int = 40) -> str:
    """The loop table as plain text: named loops first, then the shortest others."""
    ordered = [lp for lp in loops if lp.name] + [lp for lp in loops if not lp.name]
    n_r = sum(lp.polarity == "R" for lp in loops)
    n_b = sum(lp.polarity == "B" for lp in loops)
    head = (
        f"{len(loops)} loops ({n_r} reinforcing, {n_b} balancing, "
        f"{len(loops) - n_r - n_b} changing sign)"
        + ("" if complete else "; more exist: the shortest and the named ones are listed")
    )
    rows = [head, f"{'loop':<24} {'pol':>3} {'len':>3}  path"]
    for lp in ordered[:limit]:
        flag = (
            f"  (documented: {lp.documented})"
            if lp.documented and lp.documented != lp.polarity
            else ""
        )
        rows.append(f"{lp.id:<24} {lp.polarity:>3} {lp.length:>3}  {lp.path()}{flag}")
    if len(ordered) > limit:
        rows.append(f"… and {len(ordered) - limit} more")
    return "\n".join(rows)


def dominance_text(
    dom: xr.Dataset, labels: Sequence[str], *, stock: str | None = None, limit: int = 30
) -> str:
    """Dominance phases of each scenario: ``from–to  loop (polarity)``."""
    pol = dict(zip(dom["loop"].values.tolist(), dom["polarity"].values.tolist(), strict=True))
    out: list[str] = []
    for j, label in enumerate(labels):
        phases = dominance_phases(dom, j, stock=stock)
        out.append(f"{label}: {len(phases)} phases" + (f" (stock {stock})" if stock else ""))
        for start, end, name in phases[:limit]:
            shown = f"{name} ({pol[name]})" if name else "no loop active"
            out.append(f"  {start:g}–{end:g}  {shown}")
        if len(phases) > limit:
            out.append(f"  … and {len(phases) - limit} more")
    return "\n".join(out)


def loops_report(
    runs: Sequence[tuple[str, Model, xr.Dataset | None]],  # a model without a run: loops only
    *,
    stock: str | None = None,
    limit: int | None = 40,
) -> str:
    """Loop table and dominance phases of runs ``(name, model, dataset)`` (``simdyn loops``)."""
    from simdyn.analysis.dominance import loop_dominance
    from simdyn.model.structure import model_loops

    parts: list[str] = []
    for name, model, ds in runs:
        parts.append(f"== {name}: model {model.name}")
        if ds is None:
            found, complete = model_loops(model.compile(), ds)
            parts.append(loops_text(found, complete, limit=limit or len(found)))
            continue
        dom = loop_dominance(ds, model)
        found = dominance_loops(dom)
        complete = bool(dom.attrs.get("loops_complete", 1))
        parts.append(loops_text(found, complete, limit=limit or len(found)))
        labels = [f"scenario {k}" for k in range(dom.sizes["scenario"])]
        parts.append("dominant loop over time")
        parts.append(dominance_text(dom, labels, stock=stock))
        shown = {p[2] for j in range(len(labels)) for p in dominance_phases(dom, j, stock=stock)}
        listed = {lp.id for lp in ([lp for lp in found if lp.name] + found)[: limit or len(found)]}
        extra = [lp for lp in found if lp.id in shown and lp.id not in listed and not lp.name]
        if extra:
            parts.append("loops in these phases")
            parts += [f"{lp.id:<24} {lp.polarity:>3} {lp.length:>3}  {lp.path()}" for lp in extra]
    return "\n".join(parts)


def dominance_loops(dom: xr.Dataset) -> list[Loop]:
    """The loops a dominance Dataset describes, rebuilt from its loop coordinates."""
    return [
        Loop(
            id=str(i),
            variables=tuple(str(p).split(" → ")[:-1]),
            polarity=str(pol),
            name=str(n),
            description=str(d),
        )
        for i, pol, n, d, p in zip(
            dom["loop"].values,
            dom["polarity"].values,
            dom["loop_name"].values,
            dom["description"].values,
            dom["path"].values,
            strict=True,
        )
    ]
