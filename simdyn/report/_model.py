"""Plain-text descriptions of models, for ``simdyn models`` and ``simdyn show``."""

from __future__ import annotations

import re
from typing import Any

import simdyn

__all__ = ["describe_model", "list_models_text"]


def list_models_text() -> str:
    """One line per built-in model: its name, time unit and the first sentence of its doc."""
    lines = []
    for name in simdyn.list_models():
        model = simdyn.load_model(name)
        first = re.split(r"(?<=[.!?])\s", " ".join(model.doc.split()), maxsplit=1)[0]
        lines.append(f"{name:<20} [{model.time_units}] {first}".rstrip())
    return "\n".join(lines)


def describe_model(name_or_path: str) -> str:
    """A text description of a model: variables with units and docs, styles, interventions.

    Parameters
    ----------
    name_or_path
        A built-in model name or a model file.
    """
    model = simdyn.load_model(name_or_path)
    out = [f"{model.name} (time unit: {model.time_units})"]
    if model.doc:
        out.append(model.doc.strip())
    if model.key_outputs:
        out.append("key outputs: " + ", ".join(model.key_outputs))
    for title, table in (
        ("stocks", model.stocks),
        ("flows", model.flows),
        ("auxiliaries", model.auxiliaries),
    ):
        if table:
            out.append(f"\n{title}:")
            out += [_line(v) for v in table.values()]
    if model.constants:
        out.append("\nconstants:")
        for c in model.constants.values():
            value = (
                ", ".join(f"{v:g}" for v in c.value)
                if isinstance(c.value, tuple)
                else f"{c.value:g}"
            )
            bounds = ""
            if c.min is not None or c.max is not None:
                lo = "" if c.min is None else f"{c.min:g}"
                hi = "" if c.max is None else f"{c.max:g}"
                bounds = f" [{lo}..{hi}]"
            out.append(_line(c, extra=f" = {value}{bounds}"))
    for dim, elements in model.dimensions.items():
        out.append(f"\ndimension {dim}: " + ", ".join(elements))
    for group, presets in model.presets.items():
        label = "management styles" if group == "style" else f"presets {group}"
        out.append(f"\n{label}:")
        for pname, preset in presets.items():
            values = ", ".join(f"{k} = {v}" for k, v in preset.values.items())
            doc = f" — {preset.doc}" if preset.doc else ""
            out.append(f"  {pname}{doc}\n      {values}")
    return "\n".join(out)


def _line(var: Any, extra: str = "") -> str:
    dims = f"[{', '.join(var.dims)}]" if var.dims else ""
    units = f" ({var.units})" if var.units else ""
    doc = f" — {var.doc.strip().splitlines()[0]}" if var.doc else ""
    return f"  {var.name}{dims}{extra}{units}{doc}"
