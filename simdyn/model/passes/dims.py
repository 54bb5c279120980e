"""Pass 4: the dimensions of hidden variables, by fixed-point iteration.

A hidden auxiliary takes the dimensions of its equation's value; a hidden stock those of the
auxiliaries of its smooth or delay (input, delay time, initial value). Each round types every
hidden equation with the current dimensions until nothing changes.
"""

from __future__ import annotations

from simdyn.errors import SimdynError
from simdyn.model.passes.draft import Draft

__all__ = ["infer_dims"]


def infer_dims(d: Draft) -> Draft:
    """Set the dimensions of every hidden variable of ``d``."""
    for _ in range(len(d.vars) + 2):
        changed = False
        typer = d.typer()
        for v in d.vars.values():
            if not v.infer_dims:
                continue
            if v.kind == "stock":
                new = typer.union(*(d.vars[dep].dims for dep in v.deps))
            else:
                assert v.eq is not None
                assert not isinstance(v.eq, dict)
                try:
                    new = typer.emit(v.eq).dims
                except SimdynError as exc:
                    raise d.error(exc, v.owner) from None
            if new != v.dims:
                v.dims = new
                changed = True
        if not changed:
            return d
    raise AssertionError("dimension inference did not settle")  # pragma: no cover
