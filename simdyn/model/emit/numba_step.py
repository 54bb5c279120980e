"""The fused fixed step: one tableau's whole step for a block of scenarios in one scenario loop.

For a model without network builtins, :func:`step_functions` writes, for each fixed-step
method, ``_step_<method>``: inside one loop over the scenarios ``j`` of a block, every stage's
auxiliaries and derivatives, the stage states and the step's sum, all in local variables, then
the new state (non-negative stocks clamped) stored once and its non-finite values counted. The
stage states and the sum are formed as the staged driver of :mod:`.numba` forms them, which is
how :func:`simdyn.integrate.integrate_fixed` does (each stage's state is the step's state plus
the weighted earlier derivatives in stage order, zero weights skipped; the step's sum added in
stage order, each term ``(dt · b) · k``), so the numbers are the same; what is saved is the
memory traffic of the derivatives and stage states between stages, which for a small model is
most of a step's work. :func:`step_drivers` writes ``run_<method>`` (and ``run_<method>_serial``
for one block): the staged driver with its stage loop replaced by one call of the step.
A driver is compiled only when a run first uses its method
(:func:`simdyn.model.emit.numba.prepare_fixed`).

A model with network builtins keeps the staged driver: its products read a whole block's
values between phases of the scenario loop (:mod:`.numba_network`), which one loop cannot do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from simdyn.integrate import FIXED_METHODS, ButcherTableau
from simdyn.model import ir
from simdyn.model.emit.numba_expr import local

__all__ = ["FUSED_TABLEAUS", "step_drivers", "step_functions"]

#: the fixed-step methods with a fused step, each once (``heun`` is ``rk2``)
FUSED_TABLEAUS: tuple[ButcherTableau, ...] = tuple(
    {tb.name: tb for tb in FIXED_METHODS.values()}.values()
)
_I1, _I2 = "    ", "        "
#: the staged driver's stage loop, which a fused driver replaces by one call
STAGE_LOOP_START = "            for st in range(ns):\n"
STAGE_LOOP_END = "            t_next = start + (i + 1) * dt\n"
#: the staged driver's stage states
STAGE_STATES = "        Z = np.empty((ns, NS * BL))\n"


def step_functions(
    program: ir.Program,
    body: Callable[[], list[str]],
    rates: Callable[[], list[tuple[int, str]]],
    block: int,
) -> list[str]:
    """The source of ``_step_<method>`` for every method of :data:`FUSED_TABLEAUS`.

    ``body()`` gives the lines (indented for a function body) that compute every auxiliary of
    the right-hand side from the stock locals; ``rates()`` the state row and expression of each
    derivative; ``block`` is the block size (the rows' stride in ``Y``).
    """
    rows = rates()
    stocks = [local(s.name, k) for s in program.stocks for k in range(s.stop - s.start)]
    clamp = {r for s in program.stocks if s.non_negative for r in range(s.start, s.stop)}
    return ["\n".join(_step(tb, stocks, body, rows, clamp, block)) for tb in FUSED_TABLEAUS]


def step_drivers(driver: str) -> list[str]:
    """``run_<method>`` and ``run_<method>_serial`` for each fused method, from the staged
    ``driver`` (the parallel one)."""
    head, rest = driver.split(STAGE_LOOP_START, 1)
    _, tail = rest.split(STAGE_LOOP_END, 1)
    out = []
    for tb in FUSED_TABLEAUS:
        call = f"            bad = _step_{tb.name}(Y, B, m, t, dt, start, stop, H, T, nh, GI, GF)\n"
        fused = (head + call + STAGE_LOOP_END + tail).replace("def run(", f"def run_{tb.name}(")
        fused = fused.replace(STAGE_STATES, "")  # the step keeps its stage states in registers
        serial = fused.replace("parallel=True, ", "").replace(
            f"def run_{tb.name}(", f"def run_{tb.name}_serial("
        )
        out += [fused, serial.replace("nb.prange(", "range(")]
    return out


def _step(
    tb: ButcherTableau,
    stocks: Sequence[str],
    body: Callable[[], list[str]],
    rows: Sequence[tuple[int, str]],
    clamp: set[int],
    block: int,
) -> list[str]:
    """``_step_<tb.name>``: the lines of one fused step of ``tb``."""
    ns, n_state = tb.stages, len(stocks)
    a = [[tb.a[s2][s] if s < len(tb.a[s2]) else 0.0 for s in range(ns)] for s2 in range(ns)]
    head = [f"def _step_{tb.name}(Y, B, m, ts, _DT, _START, _STOP, H, T, nh, GI, GF):"]
    # the weights dt * a and dt * b, and the stage times, as the staged driver computes them
    for s2 in range(ns):
        for s in range(s2):
            if a[s2][s] != 0.0:
                head.append(f"{_I1}_w{s2}_{s} = _DT * {a[s2][s]!r}")
    head += [f"{_I1}_b{s} = _DT * {tb.b[s]!r}" for s in range(ns)]
    head += [f"{_I1}_t{s} = ts + {tb.c[s]!r} * _DT" for s in range(1, ns)]
    head += [f"{_I1}_t0 = ts", f"{_I1}bad = 0", f"{_I1}for j in range(m):"]
    lines = [f"{_I2}_y{r} = Y[{r * block} + j]" for r in range(n_state)]
    for st in range(ns):
        state = [f"_y{r}" if st == 0 else f"_z{st}_{r}" for r in range(n_state)]
        lines += [f"{_I2}{stocks[r]} = {state[r]}" for r in range(n_state)]
        lines.append(f"{_I2}t = _t{st}")
        lines += [_I1 + ln for ln in body()]
        lines += [f"{_I2}_k{st}_{r} = {expr}" for r, expr in rows]
        lines += _after_stage(st, ns, a, n_state)
    for r in range(n_state):
        x = f"_s{r} + _b{ns - 1} * _k{ns - 1}_{r}" if ns > 1 else f"_y{r} + _b0 * _k0_{r}"
        x = f"np.maximum({x}, 0.0)" if r in clamp else x
        lines += [
            f"{_I2}_x = {x}",
            f"{_I2}Y[{r * block} + j] = _x",
            f"{_I2}bad += (_x - _x) != 0.0",
        ]
    return head + lines + [f"{_I1}return bad"]


def _after_stage(st: int, ns: int, a: list[list[float]], n_state: int) -> list[str]:
    """After stage ``st``'s derivatives: the later stages' states and the step's running sum."""
    lines = []
    for s2 in range(st + 1, ns):
        for r in range(n_state):
            k = f"_w{s2}_{st} * _k{st}_{r}"
            if st == 0:
                lines.append(f"{_I2}_z{s2}_{r} = " + (f"_y{r} + {k}" if a[s2][0] else f"_y{r}"))
            elif a[s2][st] != 0.0:
                lines.append(f"{_I2}_z{s2}_{r} = _z{s2}_{r} + {k}")
    if st < ns - 1:
        prev = "_y" if st == 0 else "_s"
        lines += [f"{_I2}_s{r} = {prev}{r} + _b{st} * _k{st}_{r}" for r in range(n_state)]
    return lines
