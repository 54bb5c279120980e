"""Compile a :class:`~simdyn.model.spec.ModelSpec`: a list of passes, then an emitter.

::

    ModelSpec ─resolve─▶ Draft ─expand─▶ ─limit_outflows─▶ ─infer_dims─▶ ─order─▶ ─lower─▶ Program
    Program ─emit_numpy─▶ CompiledModel (one generated numpy module, bound per chunk)

====================  ===========================================================================
``resolve``           dimension order; every equation parsed; stock rates from flows
``expand``            smooths, delays and ``INIT`` → hidden stocks and auxiliaries
``limit_outflows``    non-negative stocks scale their outflows (hidden auxiliaries)
``infer_dims``        dimensions of the hidden variables (fixed point)
``order``             evaluation order; algebraic loops and circular initial values are errors
``lower``             typed, dimension-checked assignments and the state layout (:mod:`.ir`)
====================  ===========================================================================

Emitters read only the :class:`~simdyn.model.ir.Program`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from simdyn.model.compiled import Bound, CompiledModel, EventSlot, StockSlot, VarInfo
from simdyn.model.emit.numpy import emit_numpy
from simdyn.model.ir import Program
from simdyn.model.passes import Draft, expand, infer_dims, limit_outflows, lower, order, resolve
from simdyn.model.spec import ModelSpec

__all__ = [
    "PASSES",
    "Bound",
    "CompiledModel",
    "EventSlot",
    "StockSlot",
    "VarInfo",
    "compile_model",
    "to_ir",
]

#: the passes that turn a spec into a draft ready for :func:`~simdyn.model.passes.lower`
PASSES: tuple[Callable[[Draft], Draft], ...] = (resolve, expand, limit_outflows, infer_dims, order)


def to_ir(spec: ModelSpec, *, nodelist: Sequence[Any] | None = None) -> Program:
    """Run the passes over ``spec``; ``nodelist`` gives the elements of ``node``, if used."""
    draft = Draft(spec, nodelist)
    for run in PASSES:
        draft = run(draft)
    return lower(draft)


def compile_model(
    spec: ModelSpec,
    *,
    nodelist: Sequence[Any] | None = None,
    emit: Callable[[Program], CompiledModel] = emit_numpy,
) -> CompiledModel:
    """Compile ``spec`` with ``emit`` (the numpy emitter by default)."""
    return emit(to_ir(spec, nodelist=nodelist))
