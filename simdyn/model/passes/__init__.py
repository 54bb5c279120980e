"""The compiler passes, in the order :mod:`simdyn.model.compile` runs them.

Each pass takes the :class:`~simdyn.model.passes.draft.Draft` and returns it; the last one,
:func:`lower`, returns the :class:`~simdyn.model.ir.Program` that emitters print.
"""

from simdyn.model.passes.dims import infer_dims
from simdyn.model.passes.draft import Draft
from simdyn.model.passes.expand import expand
from simdyn.model.passes.limit import limit_outflows
from simdyn.model.passes.lower import lower
from simdyn.model.passes.order import order
from simdyn.model.passes.resolve import resolve

__all__ = ["Draft", "expand", "infer_dims", "limit_outflows", "lower", "order", "resolve"]
