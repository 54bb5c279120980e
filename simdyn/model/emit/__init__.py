"""Emitters: print a :class:`~simdyn.model.ir.Program` as runnable code."""
