"""Former home of the numpy expression printer, now :mod:`simdyn.model.emit.numpy_expr`."""

from simdyn.model.emit.numpy_expr import Code, Emitter, Symbol

__all__ = ["Code", "Emitter", "Symbol"]
