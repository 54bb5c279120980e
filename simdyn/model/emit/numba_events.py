"""Random events (``[events.*]``) in the compiled kernel: the functions ``_streams`` and ``_events``.

Each scenario draws from its own PCG64 stream (:mod:`.numba_random`), seeded in Python from the
same :class:`~numpy.random.SeedSequence` as the numpy backend's, so both backends draw the same
numbers. A block keeps its scenarios' streams in one flat ``uint64`` work array ``R`` of four
rows of ``BL`` (state high, state low, increment high, increment low); ``_streams`` fills it
from the chunk's seeds ``R0`` (``(4, n)``; ``(0, n)`` for a model without events).

``_events`` runs after each step, before the fixed ``DELAY`` s record their inputs (the order of
:func:`simdyn.simulate._after_step`). For every scenario ``j`` of the block (the loop innermost,
as in every kernel function) it evaluates every variable at the step's state, then every
event's hazard and reset values (all of them before any reset, as the numpy backend does), and
then, per event in model order and per element in C order, draws ``u`` and, where
``u < 1 - exp(-max(hazard, 0) * dt)``, resets the listed stocks: the draws of one scenario come
in the order of :func:`simdyn.simulate._event_hook` (per step, per event, per element). It
returns the number of non-finite states after the resets, which the driver checks instead of
the count from before them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from simdyn.expr.ast import Name, Node
from simdyn.model import ir
from simdyn.model.emit.numba_expr import ScalarPrinter, flat_index, index_tuples, local, slot

__all__ = ["IMPORTS", "BlockPrinter", "events_functions"]

#: the lines the kernel module needs to import the stream helpers
IMPORTS = (
    "from simdyn.model.emit.numba_random import pcg64_double as _pcg64_double",
    "from simdyn.model.emit.numba_random import pcg64_step as _pcg64_step",
)
_I1, _I2 = "    ", "        "
_OPTIONS = 'cache=True, error_model="numpy"'
_SIGNATURE = "_events(Y, B, R, m, t, ts, _DT, _START, _STOP, H, T, nh, GI, GF)"
_STREAMS = f"""@nb.njit({_OPTIONS})
def _streams(R0, lo, m):
    # the block's PCG64 streams (rows: state high, state low, increment high, increment low)
    R = np.empty(4 * BL, dtype=np.uint64)
    for r in range(R0.shape[0]):
        for j in range(m):
            R[r * BL + j] = R0[r, lo + j]
    return R"""


class BlockPrinter(Protocol):
    """What :func:`events_functions` needs of the kernel's printer."""

    p: ir.Program
    sp: ScalarPrinter

    def body(
        self,
        signature: str,
        assigns: Sequence[ir.Assign],
        tail: list[str] | Callable[[], list[str]],
        tail_refs: Sequence[Node] = (),
    ) -> list[str]: ...


def events_functions(pr: BlockPrinter, block: int) -> list[str]:
    """The source of ``_streams`` and ``_events`` (``block``: scenarios per block)."""
    return [_STREAMS, _events(pr, block)]


def _events(pr: BlockPrinter, block: int) -> str:
    head = f"@nb.njit({_OPTIONS})"
    if not pr.p.events:
        return f"{head}\ndef {_SIGNATURE}:\n{_I1}return 0  # the model has no random events"
    rows = [slot(r * block, "R") for r in range(4)]

    def tail() -> list[str]:
        lines = [f"{_I1}shi, slo, ihi, ilo = {', '.join(rows)}"]
        lines += _values(pr)
        lines += _draws(pr)
        return [*lines, f"{_I1}{rows[0]}, {rows[1]} = shi, slo"]

    refs: list[Node] = []
    for ev in pr.p.events:
        refs += [x.expr for x in (ev.hazard, *ev.resets) if x.expr is not None]
        refs += [Name(reset.target, 0) for reset in ev.resets]
    # every variable at the step's state (in phases around network products, if any), then
    # the events
    function = pr.body(_SIGNATURE, pr.p.evaluate, tail, refs)
    return "\n".join([head, *function, f"{_I1}return _nonfinite(Y, m)"])


def _values(pr: BlockPrinter) -> list[str]:
    """Every event's hazard and reset values, per element, from the state before any reset."""
    lines = []
    for e, ev in enumerate(pr.p.events):
        for idx in index_tuples(ev.shape):
            env = dict(zip(ev.dims, idx, strict=True))
            k = flat_index(ev.shape, idx)
            assert ev.hazard.expr is not None
            lines.append(f"{_I1}{_hazard(e, k)} = {pr.sp.emit(ev.hazard.expr, env)}")
            for r, reset in enumerate(ev.resets):
                assert reset.expr is not None
                lines.append(f"{_I1}{_reset(e, r, k)} = {pr.sp.emit(reset.expr, env)}")
    return lines


def _draws(pr: BlockPrinter) -> list[str]:
    """One draw per event and element, in order; the stocks reset where the event fires."""
    lines = []
    slots = {s.name: s for s in pr.p.stocks}
    touched: dict[str, tuple[int, int]] = {}
    for e, ev in enumerate(pr.p.events):
        for k in range(len(list(index_tuples(ev.shape)))):
            lines += [
                f"{_I1}shi, slo = _pcg64_step(shi, slo, ihi, ilo)",
                f"{_I1}fire = _pcg64_double(shi, slo) < "
                f"-np.expm1(-np.maximum({_hazard(e, k)}, 0.0) * _DT)",
            ]
            for r, reset in enumerate(ev.resets):
                stock = local(reset.target, k)
                lines.append(f"{_I1}{stock} = {_reset(e, r, k)} if fire else {stock}")
                touched[stock] = (slots[reset.target].start, k)
    for stock, (start, k) in touched.items():
        lines.append(f"{_I1}{slot((start + k) * pr.sp.block, 'Y')} = {stock}")
    return lines


def _hazard(e: int, k: int) -> str:
    return f"e{e}_hazard_{k}"


def _reset(e: int, r: int, k: int) -> str:
    return f"e{e}_reset{r}_{k}"
