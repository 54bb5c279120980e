"""How many recorded steps the compiled kernel keeps for its fixed ``DELAY`` s (a ring buffer).

A block records every fixed ``DELAY``'s input after each step into row ``k % rows`` of its
history ``H`` (step ``k``). A read at ``t - tau`` (``runtime.History.lookup``'s rule, in
:func:`~simdyn.model.emit.numba_runtime.history`) uses two neighbouring recorded steps no older
than the step ``ceil(tau / dt) + 1`` before the latest, so ``ceil(tau_max / dt) + 3`` rows
(one to spare for the rounding of the step times) hold every row a read can reach, whatever
``n_steps`` is.

``tau_max`` is bounded before the run from the chunk's constants: a delay time that is a number
or a constant (one number per scenario, or one per element: the largest of them all), directly
or through auxiliaries that are such a number or constant. A delay
time that is any other expression (of time, of the state, arithmetic of constants) has no bound
known before the run, and the kernel keeps every step (``n_steps + 1`` rows), as it does when a
bound is not finite.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np

from simdyn.expr import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp
from simdyn.model import ir

__all__ = ["history_rows"]

#: rows beyond ``tau / dt``: the two steps a read interpolates between, and one for rounding
_SPARE = 3


def history_rows(
    program: ir.Program, constant_rows: Mapping[str, int], P: np.ndarray, dt: float, n_steps: int
) -> int:
    """Rows of a block's history ring for a chunk with constants ``P`` (``1``: no ``DELAY``)."""
    if not program.histories:
        return 1
    full = n_steps + 1
    taus = [node.args[0] for node in _history_reads(program)]
    bound = -math.inf
    for tau in taus:
        value = _bound(program, tau, constant_rows, P)
        if value is None or not math.isfinite(value):
            return full
        bound = max(bound, value)
    if not taus or dt <= 0 or not math.isfinite(dt):
        return full
    rows = math.ceil(max(bound, 0.0) / dt) + _SPARE
    return full if not math.isfinite(rows) else max(1, min(full, rows))


def _bound(
    program: ir.Program,
    tau: Node,
    constant_rows: Mapping[str, int],
    P: np.ndarray,
    depth: int = 0,
) -> float | None:
    """The largest value ``tau`` takes in the chunk, or ``None`` when it is not known."""
    if isinstance(tau, Num):
        return float(tau.value)
    if isinstance(tau, Name | Subscript) and tau.name not in constant_rows:
        exprs = _definition(program, tau.name)  # a DELAY's delay time is a hidden auxiliary
        if exprs is None or depth > 4:
            return None
        bounds = [_bound(program, e, constant_rows, P, depth + 1) for e in exprs]
        return None if any(b is None for b in bounds) else max(b for b in bounds if b is not None)
    if isinstance(tau, Name | Subscript):
        sym = program.symbols[tau.name]
        size = int(np.prod(sym.shape)) if sym.shape else 1
        row = constant_rows[tau.name]
        values = P[row : row + size]
        if not values.size:
            return -math.inf
        if np.isnan(values).any():
            return None
        return float(values.max())
    return None


def _definition(program: ir.Program, name: str) -> tuple[Node, ...] | None:
    """The expressions of auxiliary ``name`` (one, or one per element), if it is one."""
    for a in program.evaluate:
        if a.target == name:
            return (a.expr,) if a.expr is not None else tuple(a.elements)
    return None


def _history_reads(program: ir.Program) -> Iterator[Call]:
    """Every ``$history:`` pseudo-call of the program's expressions."""
    assigns = [*program.initial, *program.rhs, *program.rates, *program.evaluate]
    for ev in program.events:
        assigns += [ev.hazard, *ev.resets]
    for a in assigns:
        exprs = (a.expr,) if a.expr is not None else tuple(a.elements)
        for e in exprs:
            yield from _calls(e)


def _calls(node: Node) -> Iterator[Call]:
    if isinstance(node, Call):
        if node.func.startswith("$history:"):
            yield node
        for arg in node.args:
            yield from _calls(arg)
    elif isinstance(node, BinOp):
        yield from _calls(node.left)
        yield from _calls(node.right)
    elif isinstance(node, UnaryOp):
        yield from _calls(node.operand)
    elif isinstance(node, If):
        for part in (node.cond, node.then, node.otherwise):
            yield from _calls(part)
