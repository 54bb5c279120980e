"""The compiled emitter: a :class:`~simdyn.model.ir.Program` as one numba kernel, time loop inside.

The generated module (see :func:`kernel_source`) has four scalar functions, each looping over
the scenarios ``j`` of a block — ``_init``, ``_rhs`` (one stage: the derivatives of every stock),
``_record`` (the inputs of fixed ``DELAY`` s after a step, into the block's history ``H``, one
row per step at the times ``T``) and ``_observe`` (every saved value into ``out[q, :, s]``, counting the non-finite ones of each
scenario into ``nf``), with ``_events`` (random events after a step, from each scenario's PCG64
stream: :mod:`.numba_events`) — and ``run``, which integrates a
whole chunk: scenarios in blocks of ``BL``, blocks spread over all cores (``prange``), the time
loop inside, and inside each stage the scenario loop innermost over straight-line code, so LLVM
vectorizes it across the scenarios of a block. A block's numbers live in two flat work arrays
whose rows sit at literal offsets (see :class:`_Printer`), allocated once per block; a step
allocates nothing. The driver follows :func:`simdyn.integrate.integrate_fixed` operation for
operation (each stage's state is the step's state plus the weighted earlier derivatives added
in stage order, zero coefficients skipped; the step's sum added in stage order; non-negative
stocks clamped after each step, the state checked for non-finite values after each step), so
both backends give the same numbers. Every function also takes the run's graph, ``GI`` and
``GF`` (see :mod:`~simdyn.model.emit.numba_network`; empty for a model without network builtins).
That staged ``run`` is the driver of a model with network builtins; any other model is run by
the fused ``run_<method>`` of :mod:`.numba_step`, which do the same sums with a whole step in
one scenario loop. Each driver is compiled on its first use (:meth:`CompiledKernel.prepare`).

The module is written to a cache folder (:func:`~simdyn.model.emit.numba_cache.cache_dir`) under
the hash of its source and compiled with ``cache=True``: a second
run of the same model, in any process, loads the machine code instead of compiling it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simdyn._pcg64 import pcg64_states
from simdyn._types import FloatArray, IntArray
from simdyn.errors import ScenarioError
from simdyn.expr import Name, Node
from simdyn.integrate import ButcherTableau, Status
from simdyn.model import ir
from simdyn.model.emit import numba_network
from simdyn.model.emit.numba_adaptive import adaptive_source
from simdyn.model.emit.numba_cache import module_path
from simdyn.model.emit.numba_events import IMPORTS as events_imports
from simdyn.model.emit.numba_events import events_functions
from simdyn.model.emit.numba_expr import (
    ScalarPrinter,
    UnsupportedByCompiled,
    flat_index,
    index_tuples,
    local,
    lookup_source,
    slot,
)
from simdyn.model.emit.numba_history import history_rows
from simdyn.model.emit.numba_step import step_drivers, step_functions

__all__ = [
    "CompiledKernel",
    "UnsupportedByCompiled",
    "compile_kernel",
    "first_nonfinite",
    "kernel_source",
]

#: scenarios per block: the innermost loop; a block's work arrays stay in the core's caches
DEFAULT_BLOCK = 256
_I1, _I2 = "    ", "        "


def _layout(program: ir.Program) -> tuple[dict[str, int], int, dict[str, int], int]:
    """Rows of each constant in ``P`` and of each ``INIT`` value in ``C``."""
    rows: dict[str, int] = {}
    n = 0
    for c in program.constants:
        rows[c.name] = n
        n += int(np.prod(c.shape)) if c.shape else 1
    init_rows: dict[str, int] = {}
    m = 0
    for name in program.inits:
        sym = program.symbols[name]
        init_rows[name] = m
        m += int(np.prod(sym.shape)) if sym.shape else 1
    return rows, n, init_rows, m


class _Printer:
    """Prints the scalar functions of one program over a block's flat work arrays.

    ``B`` (``NB`` rows of ``BL`` numbers): the block's constants, then its ``INIT`` values, then
    the derivatives of the current stage (from row ``DO // BL``). ``Y`` (``NS`` rows): the state;
    ``Z[k]`` (``NS`` rows): the state of each later stage ``k``. Every offset is a literal, so LLVM sees that the rows never overlap and
    vectorizes the scenario loop without run-time alias checks.
    """

    def __init__(self, program: ir.Program) -> None:
        self.p = program
        self.rows, self.n_p, init_rows, self.n_c = _layout(program)
        self.init_rows = {k: v + self.n_p for k, v in init_rows.items()}
        self.d_row = self.n_p + self.n_c
        self.history_rows: dict[str, int] = {}
        self.n_h = 0
        for h in program.histories:
            self.history_rows[h.name] = self.n_h
            self.n_h += int(np.prod(h.shape)) if h.shape else 1
        # network builtins: scratch rows of B past the derivatives (see numba_network)
        self.net = numba_network.network_printer(
            program, DEFAULT_BLOCK, self.d_row + program.n_state
        )
        self.sp = ScalarPrinter(
            program, self.rows, self.init_rows, DEFAULT_BLOCK, self.history_rows, self.net
        )

    def target(self, a: ir.Assign, flat: int) -> str:
        sym = self.p.symbols[a.target]
        if sym.kind == "init":
            return slot((self.init_rows[a.target] + flat) * DEFAULT_BLOCK)
        return local(a.target, flat)

    def assign(self, a: ir.Assign, indent: str) -> list[str]:
        lines = []
        if a.expr is None:
            for i, e in enumerate(a.elements):
                lines.append(f"{indent}{self.target(a, i)} = {self.sp.emit(e, {})}")
            return lines
        for idx in index_tuples(a.shape):
            text = self.sp.emit(a.expr, dict(zip(a.dims, idx, strict=True)))
            if a.non_negative:
                text = f"np.maximum({text}, 0.0)"
            lines.append(f"{indent}{self.target(a, flat_index(a.shape, idx))} = {text}")
        return lines

    def body(
        self,
        signature: str,
        assigns: Sequence[ir.Assign],
        tail: list[str] | Callable[[], list[str]],
        tail_refs: Sequence[Node] = (),
        preload: Sequence[str] | None = None,
    ) -> list[str]:
        """The function ``signature``: ``preload`` (default: the stocks loaded), ``assigns``,
        then ``tail`` (lines, or a function returning them; it reads ``tail_refs``), over a
        block; in phases around the products when the program calls network builtins."""
        loaded = [s.name for s in self.p.stocks] if preload is None else []
        start = self.load_stocks() if preload is None else list(preload)
        lines_of = tail if callable(tail) else lambda: list(tail)
        if self.net is None:
            lines = start + [ln for a in assigns for ln in self.assign(a, _I1)]
            return _over_block(signature, lines + lines_of())
        return self.net.function(
            signature, start, loaded, assigns, self.assign, lines_of, tail_refs, self.sp
        )

    def load_stocks(self) -> list[str]:
        return [
            f"{_I1}{local(s.name, k)} = {slot((s.start + k) * DEFAULT_BLOCK, 'Y')}"
            for s in self.p.stocks
            for k in range(s.stop - s.start)
        ]

    def store_histories(self, row: str) -> list[str]:
        """Each fixed ``DELAY``'s input into row ``row`` of ``H``."""
        lines = []
        for h in self.p.histories:
            for idx in index_tuples(h.shape):
                col = (self.history_rows[h.name] + flat_index(h.shape, idx)) * DEFAULT_BLOCK
                lines.append(f"{_I1}H[{row}, {col} + j] = {self.sp.ref(h.input, idx)}")
        return lines

    def init(self) -> list[str]:
        lines = self.store_histories("0")
        for s in self.p.stocks:
            for k in range(s.stop - s.start):
                lines.append(
                    f"{_I1}{slot((s.start + k) * DEFAULT_BLOCK, 'Y')} = {local(s.name, k)}"
                )
        refs = [s.name for s in self.p.stocks] + [h.input for h in self.p.histories]
        return self.body(
            "_init(Y, B, m, _DT, _START, _STOP, H, T, nh, GI, GF)",
            self.p.initial,
            lines,
            _refs(refs),
            [f"{_I1}t = _START", f"{_I1}ts = _START"],
        )

    def rate_exprs(self) -> list[tuple[int, str]]:
        """The state row and expression of each derivative."""
        stocks = {s.name: s for s in self.p.stocks}
        out = []
        for r in self.p.rates:
            st = stocks[r.target]
            assert r.expr is not None
            for idx in index_tuples(st.shape):
                text = self.sp.emit(r.expr, dict(zip(st.dims, idx, strict=True)))
                out.append((st.start + flat_index(st.shape, idx), text))
        return out

    def rhs(self) -> list[str]:
        def rates() -> list[str]:
            return [
                f"{_I1}{slot((self.d_row + row) * DEFAULT_BLOCK)} = {text}"
                for row, text in self.rate_exprs()
            ]

        refs = [r.expr for r in self.p.rates if r.expr is not None]
        sig = "_rhs(Y, B, m, t, ts, _DT, _START, _STOP, H, T, nh, GI, GF)"
        return self.body(sig, self.p.rhs, rates, refs)

    def steps(self) -> list[str]:
        """``_step_<method>`` of every fixed-step method (:mod:`.numba_step`; no network)."""
        return step_functions(
            self.p,
            lambda: [ln for a in self.p.rhs for ln in self.assign(a, _I1)],
            self.rate_exprs,
            DEFAULT_BLOCK,
        )

    def record(self) -> list[str]:
        """``_record``: each fixed ``DELAY``'s input after a step, into row ``nh`` of ``H``."""
        signature = "_record(Y, B, m, t, ts, _DT, _START, _STOP, H, T, nh, GI, GF)"
        if not self.p.histories:  # never called (NH = 0): nothing to compile
            return [f"def {signature}:", f"{_I1}pass"]
        return self.body(
            signature,
            self.p.evaluate,
            self.store_histories("nh % H.shape[0]"),
            _refs(h.input for h in self.p.histories),
        )

    def observe(self) -> list[str]:
        lines = [f"{_I1}bad = 0"]
        o = 0
        for name in self.p.observed:
            sym = self.p.symbols[name]
            for idx in index_tuples(sym.shape):
                lines.append(f"{_I1}if W[{o}] >= 0:")
                lines.append(f"{_I2}x = {self.sp.ref(name, idx)}")
                lines.append(f"{_I2}out[q, W[{o}], col + lo + j] = x")
                lines.append(f"{_I2}bad += (x - x) != 0.0")
                o += 1
        lines.append(f"{_I1}nf[lo + j] += bad")
        sig = (
            "_observe(Y, B, m, lo, W, out, col, nf, q, t, ts, _DT, _START, _STOP, H, T, nh, GI, GF)"
        )
        return self.body(sig, self.p.evaluate, lines, _refs(self.p.observed))


def _refs(names: Any) -> list[Node]:
    """The names a function's tail reads, as expressions."""
    return [Name(name, 0) for name in names]


def _over_block(signature: str, body: list[str]) -> list[str]:
    """A function of ``signature`` running ``body`` for every scenario ``j`` of a block.

    The scenario loop is innermost around straight-line scalar code, so LLVM can vectorize
    it, and one call covers a whole block (no per-scenario call overhead).
    """
    head = [f"def {signature}:", f"{_I1}for j in range(m):"]
    return head + ([_I1 + line for line in body] or [_I2 + "pass"])  # a model without stocks


#: numpy's floating-point semantics (1 / 0 is inf, not an exception), machine code on disk
_OPTIONS = 'cache=True, error_model="numpy"'
_HELPERS = """
@nb.njit(cache=True, error_model="numpy")
def _nonfinite(Y, m):
    # x - x is 0 for a finite x and NaN otherwise: one vectorized pass counts the non-finite
    bad = 0
    for r in range(NS):
        for j in range(m):
            x = Y[r * BL + j]
            bad += (x - x) != 0.0
    return bad


@nb.njit(cache=True, error_model="numpy")
def _fail(Y, m, lo, t, ok, fail_time, fail_row):
    for j in range(m):
        if ok[lo + j]:
            for r in range(NS):
                if not np.isfinite(Y[r * BL + j]):
                    ok[lo + j] = False
                    fail_time[lo + j] = t
                    fail_row[lo + j] = r
                    break


@nb.njit(cache=True, error_model="numpy")
def _axpy(Z, B, w, m):
    # a state plus w times the stage's derivatives, in place
    for r in range(NS):
        o = r * BL
        d = DO + r * BL
        for j in range(m):
            Z[o + j] += w * B[d + j]


@nb.njit(cache=True, error_model="numpy")
def _start_stage(Y, Z, B, w, m):
    # a later stage's state: Y plus w times stage 0's derivatives
    for r in range(NS):
        o = r * BL
        d = DO + r * BL
        for j in range(m):
            Z[o + j] = Y[o + j] + w * B[d + j]


@nb.njit(cache=True, error_model="numpy")
def _copy_stage(Y, Z, m):
    # a later stage's state: Y (stage 0 does not add to it)
    for r in range(NS):
        o = r * BL
        for j in range(m):
            Z[o + j] = Y[o + j]


@nb.njit(cache=True, error_model="numpy")
def _finish(Y, B, w, m, clamp):
    # the last term of the step, non-negative stocks clamped, non-finite states counted
    bad = 0
    for r in range(NS):
        o = r * BL
        d = DO + r * BL
        if clamp[r]:
            for j in range(m):
                x = np.maximum(Y[o + j] + w * B[d + j], 0.0)
                Y[o + j] = x
                bad += (x - x) != 0.0
        else:
            for j in range(m):
                x = Y[o + j] + w * B[d + j]
                Y[o + j] = x
                bad += (x - x) != 0.0
    return bad


"""


_DRIVER = """
@nb.njit(parallel=True, cache=True, error_model="numpy")
def run(P, W, A, Bw, CN, clamp, dt, start, stop, n_steps, save_every, out, col, nf, ok,
        fail_time, fail_row, R0, GI, GF, h_rows):
    n = P.shape[1]
    ns = Bw.size
    n_blocks = (n + BL - 1) // BL
    T = np.empty(n_steps + 1)  # the times of the recorded steps (of fixed DELAYs' inputs)
    for k in range(n_steps + 1):
        T[k] = start + k * dt
    for b in nb.prange(n_blocks):
        lo = b * BL
        m = min(n, lo + BL) - lo
        Y = np.empty(NS * BL)
        Z = np.empty((ns, NS * BL))
        B = np.empty(NB * BL)
        H = np.empty((h_rows if NH > 0 else 1, max(NH, 1) * BL))  # step k in row k % h_rows
        R = _streams(R0, lo, m)  # the scenarios' random streams (random events)
        for r in range(NP):
            for j in range(m):
                B[r * BL + j] = P[r, lo + j]
        zero = ns - ns  # 0, but not a literal (one specialization of each function)
        nh = zero  # steps recorded in H
        _init(Y, B, m, dt, start, stop, H, T, nh, GI, GF)
        nh += 1
        if _nonfinite(Y, m):
            _fail(Y, m, lo, start, ok, fail_time, fail_row)
        q = zero
        _observe(
            Y, B, m, lo, W, out, col, nf, q, start, start, dt, start, stop, H, T, nh, GI, GF
        )
        q += 1
        for i in range(n_steps):
            t = start + i * dt
            bad = 0
            for st in range(ns):
                if st == 0:
                    _rhs(Y, B, m, t, t, dt, start, stop, H, T, nh, GI, GF)
                else:
                    _rhs(Z[st], B, m, t + CN[st] * dt, t, dt, start, stop, H, T, nh, GI, GF)
                for st2 in range(st + 1, ns):
                    w = dt * A[st2, st]
                    if st == 0 and A[st2, st] != 0.0:
                        _start_stage(Y, Z[st2], B, w, m)
                    elif st == 0:
                        _copy_stage(Y, Z[st2], m)
                    elif A[st2, st] != 0.0:
                        _axpy(Z[st2], B, w, m)
                if st < ns - 1:
                    _axpy(Y, B, dt * Bw[st], m)
                else:
                    bad = _finish(Y, B, dt * Bw[st], m, clamp)
            t_next = start + (i + 1) * dt
            if NE > 0:  # random events, then the non-finite states after them
                bad = _events(Y, B, R, m, t_next, t_next, dt, start, stop, H, T, nh, GI, GF)
            if NH > 0:
                _record(Y, B, m, t_next, t_next, dt, start, stop, H, T, nh, GI, GF)
                nh += 1
            if bad:
                _fail(Y, m, lo, t_next, ok, fail_time, fail_row)
            if (i + 1) % save_every == 0:
                _observe(
                    Y, B, m, lo, W, out, col, nf, q, t_next, t_next, dt, start, stop, H, T, nh,
                    GI, GF,
                )
                q += 1
"""


def kernel_source(program: ir.Program) -> str:
    """The source of the compiled module of ``program``.

    Raises
    ------
    UnsupportedByCompiled
        For extension functions other than the network builtins.
    """
    pr = _Printer(program)
    functions = [pr.init(), pr.rhs(), pr.record(), pr.observe()]
    n_rows = pr.d_row + program.n_state + (pr.net.n_rows if pr.net is not None else 0)
    head = [
        "# generated by simdyn.model.emit.numba from the IR of model "
        + "".join(ch for ch in program.spec.name if ch.isalnum() or ch in "_-"),
        "import numba as nb",
        "import numpy as np",
        "from simdyn.model.emit.numba_runtime import pulse as _pulse, ramp as _ramp",
        "from simdyn.model.emit.numba_runtime import safediv as _safediv, step as _step",
        "from simdyn.model.emit.numba_runtime import history as _history, interp as _interp",
        f"BL = {DEFAULT_BLOCK}",
        f"NS = {program.n_state}",
        f"NP = {pr.n_p}",
        f"NB = {max(n_rows, 1)}",
        f"DO = {pr.d_row * DEFAULT_BLOCK}",
        f"NH = {pr.n_h}",
        f"NE = {len(program.events)}",
        *events_imports,
    ]
    if pr.net is not None:
        head += pr.net.layout.constants()
    parts = ["\n".join(head)]
    if pr.net is not None:
        parts.append(numba_network.HELPERS.strip())
    parts += [lookup_source(lk, _OPTIONS) for lk in program.lookups]
    for fn in functions:
        parts.append(f"@nb.njit({_OPTIONS})\n" + "\n".join(fn) + "\n" + _I1 + "return None")
    parts += events_functions(pr, DEFAULT_BLOCK)
    parts.append(_HELPERS)
    parts.append(_DRIVER)
    # one block needs no threads (waking them costs more than a small run on a busy machine)
    serial = _DRIVER.replace("parallel=True, ", "").replace("def run(", "def run_serial(")
    parts.append(serial.replace("nb.prange(", "range("))
    if pr.net is None:
        # fused fixed steps (numba_step.py), and dopri5, bs23 (numba_adaptive.py): no network
        parts += [f"@nb.njit({_OPTIONS})\n{fn}" for fn in pr.steps()]
        parts += step_drivers(_DRIVER)
        parts.append(adaptive_source(pr.rhs(), pr.observe()))
    return "\n\n\n".join(parts)


@dataclass
class CompiledKernel:
    """A model's compiled kernel and how to lay out its inputs and outputs.

    ``compile_seconds`` is the time it took to import numba and compile the kernel, or to load
    it (``from_cache``: from the disk cache, or compiled earlier in this process).
    """

    program: ir.Program
    source: str
    constant_rows: dict[str, int]
    n_params: int
    observed_rows: dict[str, tuple[int, int]]
    run: Any
    compile_seconds: float
    from_cache: bool
    run_serial: Any = None
    graph: numba_network.GraphLayout | None = None
    module: Any = None  # the generated module (its adaptive driver: emit/numba_adaptive.py)
    ready_drivers: set[str] = field(default_factory=set)  # drivers compiled or loaded

    def graph_arrays(
        self, network: Any = None, teams: IntArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        """The arrays of ``network`` (a :class:`~simdyn.network.GraphOperators`; ``teams``: each
        node's team code) that :meth:`simulate` passes to the kernel (``graph=``)."""
        if self.graph is None:
            return numba_network.empty_graph(None)
        if network is None:
            raise ScenarioError(
                f"model {self.program.spec.name!r} calls network builtins",
                where="network",
                hint="pass network=...",
            )
        return self.graph.arrays(network, teams)

    def simulate(
        self,
        params: Mapping[str, FloatArray],
        n: int,
        *,
        tableau: ButcherTableau,
        start: float,
        stop: float,
        dt: float,
        n_steps: int,
        save_every: int,
        save: Sequence[str],
        out: FloatArray | None = None,
        col: int = 0,
        nonfinite: IntArray | None = None,
        parallel: bool | None = None,
        seed: np.random.SeedSequence | None = None,
        first: int = 0,
        graph: tuple[IntArray, FloatArray] | None = None,
    ) -> tuple[dict[str, FloatArray], Status]:
        """Run ``n`` scenarios; returns saved arrays ``(n_saved, *shape, n)`` and the status.

        The saved values are written into ``out[:, :, col : col + n]`` (rows in the order of
        ``save``, see :meth:`saved_rows`) when given, so that a run in chunks copies nothing.
        ``nonfinite[col : col + n]``, when given, gets each scenario's number of non-finite
        saved values (see :func:`first_nonfinite`). ``parallel``: spread the blocks over all
        cores (default: when there is more than one block). ``seed`` (the run's root seed) and
        ``first`` (the index of the first of these scenarios in the whole batch) seed the
        random events: scenario ``first + k`` draws from the stream the numpy backend gives it.
        ``graph``: the network's arrays (:meth:`graph_arrays`), for a model with network
        builtins.
        """
        GI, GF = graph if graph is not None else self.graph_arrays()
        P = self.constants_array(params, n)
        W, sizes = self._save_rows(save)
        n_save = n_steps // save_every + 1
        if out is None:
            out, col = np.empty((n_save, max(sum(sizes), 1), n)), 0
        status = Status.all_ok(n)
        counts = np.zeros(n, dtype=np.int64)
        a, b, c = _tableau_arrays(tableau)
        if parallel is None:
            parallel = n > DEFAULT_BLOCK or self.run_serial is None
        self.fixed_driver(tableau, parallel)(
            P,
            W,
            a,
            b,
            c,
            self.clamp_rows(),
            float(dt),
            float(start),
            float(stop),
            int(n_steps),
            int(save_every),
            out,
            int(col),
            counts,
            status.ok,
            status.fail_time,
            status.fail_row,
            self._streams(seed, first, n),
            GI,
            GF,
            history_rows(self.program, self.constant_rows, P, float(dt), int(n_steps)),
        )
        if nonfinite is not None:
            nonfinite[col : col + n] = counts
        return self.split_saved(out, save, sizes, col, n), status

    def fixed_driver(self, tableau: ButcherTableau, parallel: bool) -> Any:
        """The driver of ``tableau``'s fixed steps: the fused ``run_<method>`` (several blocks,
        on every core) or ``run_<method>_serial`` (one block), each compiled or loaded on its
        first use (the time added to :attr:`compile_seconds`), or for a model with network
        builtins the staged ``run``."""
        name = f"run_{tableau.name}" + ("" if parallel else "_serial")
        if not hasattr(self.module, name):
            return self.run if parallel else self.run_serial
        if name not in self.ready_drivers:
            self.ready_drivers.add(name)  # before warming: the warm-up run calls this
            self.prepare(name, lambda: _warm_up(self, self.program, tableau, (parallel,)))
        return getattr(self.module, name)

    def prepare(self, driver: str, warm: Callable[[], object]) -> None:
        """Compile (or load from the disk cache) the module's ``driver`` by running ``warm``
        (a chunk of no scenarios): the time goes to :attr:`compile_seconds`, and
        :attr:`from_cache` stays true only when the driver, too, came from the cache."""
        run = getattr(self.module, driver)
        t0 = time.perf_counter()
        ready = bool(run.signatures)  # compiled earlier in this process
        hits_before = sum(run.stats.cache_hits.values())
        # numba's SSA pass recurses once per basic block it walks back through, and _observe
        # has one block per saved value: thousands of them (node-level variables) need more
        # than Python's default limit (Python calls in the pass use no C stack)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20_000))
        try:
            warm()
        finally:
            sys.setrecursionlimit(limit)
        self.compile_seconds += time.perf_counter() - t0
        self.from_cache = self.from_cache and (
            ready or sum(run.stats.cache_hits.values()) > hits_before
        )

    def constants_array(self, params: Mapping[str, FloatArray], n: int) -> FloatArray:
        """``P``: each constant's values for ``n`` scenarios in its rows."""
        P = np.empty((self.n_params, n))
        for const in self.program.constants:
            row = self.constant_rows[const.name]
            size = int(np.prod(const.shape)) if const.shape else 1
            value = np.asarray(params[const.name], dtype=np.float64)
            P[row : row + size] = np.broadcast_to(value.reshape(size, -1), (size, n))
        return P

    def clamp_rows(self) -> IntArray:
        """1 for each state row of a non-negative stock (clamped at zero after a step)."""
        clamp = np.zeros(max(self.program.n_state, 1), dtype=np.int64)
        for st in self.program.stocks:
            if st.non_negative:
                clamp[st.start : st.stop] = 1
        return clamp

    def split_saved(
        self, out: FloatArray, save: Sequence[str], sizes: Sequence[int], col: int, n: int
    ) -> dict[str, FloatArray]:
        """Each saved variable's view ``(n_saved, *shape, n)`` of ``out[:, :, col : col + n]``."""
        result: dict[str, FloatArray] = {}
        offset = 0
        for name, size in zip(save, sizes, strict=True):
            shape = self.program.symbols[name].shape
            result[name] = out[:, offset : offset + size, col : col + n].reshape(
                out.shape[0], *shape, n
            )
            offset += size
        return result

    def _streams(self, seed: np.random.SeedSequence | None, first: int, n: int) -> np.ndarray:
        """The PCG64 states of the scenarios' random events (no rows without events)."""
        if not self.program.events:
            return np.zeros((0, n), dtype=np.uint64)
        return pcg64_states(seed if seed is not None else np.random.SeedSequence(), first, n)

    def saved_rows(self, save: Sequence[str]) -> int:
        """Rows of the ``out`` array that :meth:`simulate` fills for ``save``."""
        return max(sum(self._save_rows(save)[1]), 1)

    def _save_rows(self, save: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        total = sum(size for _, size in self.observed_rows.values())
        W = np.full(max(total, 1), -1, dtype=np.int64)
        sizes = []
        offset = 0
        for name in save:
            first, size = self.observed_rows[name]
            W[first : first + size] = np.arange(offset, offset + size)
            sizes.append(size)
            offset += size
        return W, sizes


def first_nonfinite(
    saved: Mapping[str, FloatArray], names: Sequence[str], times: FloatArray, cols: IntArray
) -> tuple[FloatArray, np.ndarray]:
    """The first saved time, and the first of ``names`` then, at which each of ``cols`` is not
    finite (NaN and ``""`` where none is).

    ``saved[name]`` is laid out ``(n_times, *shape, n)``; ``cols`` are the scenarios to look
    at (those with non-finite saved values, usually none), so the search costs nothing when
    every scenario stays finite. The answer is what
    :meth:`simdyn.integrate.watch.SaveWatch.check` finds when called at every saved time.
    """
    fail_time = np.full(cols.size, np.nan)
    fail_name = np.full(cols.size, "", dtype=object)
    if not cols.size or not names:
        return fail_time, fail_name
    bad = np.stack(
        [
            ~np.isfinite(saved[nm][..., cols].reshape(len(times), -1, cols.size)).all(axis=1)
            for nm in names
        ],
        axis=1,
    )  # (n_times, len(names), len(cols))
    anywhere = bad.any(axis=1)
    found = anywhere.any(axis=0)
    k = np.argmax(anywhere, axis=0)
    which = np.argmax(bad[k, :, np.arange(cols.size)], axis=1)
    fail_time[found] = np.asarray(times, dtype=float)[k[found]]
    fail_name[found] = np.asarray(names, dtype=object)[which[found]]
    return fail_time, fail_name


def _tableau_arrays(tb: ButcherTableau) -> tuple[FloatArray, FloatArray, FloatArray]:
    s = tb.stages
    a = np.zeros((s, s))
    for i, row in enumerate(tb.a):
        a[i, : len(row)] = row
    return a, np.asarray(tb.b, dtype=float), np.asarray(tb.c, dtype=float)


_LOADED: dict[str, Any] = {}


def _load(source: str) -> Any:
    """The module of ``source``, imported from the cache folder (written there first)."""
    path = module_path(source)
    name = path.stem
    if name in _LOADED:
        return _LOADED[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source, encoding="utf-8")
        os.replace(tmp, path)  # atomic: numba's cache is keyed by this file
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _LOADED[name] = module
    return module


def compile_kernel(program: ir.Program) -> CompiledKernel:
    """Generate, compile (or load from the disk cache) and wrap the kernel of ``program``."""
    source = kernel_source(program)
    rows, n_p, _init_rows, _n_c = _layout(program)
    observed: dict[str, tuple[int, int]] = {}
    o = 0
    for name in program.observed:
        sym = program.symbols[name]
        size = int(np.prod(sym.shape)) if sym.shape else 1
        observed[name] = (o, size)
        o += size
    t0 = time.perf_counter()
    module = _load(source)
    net = numba_network.network_printer(program, DEFAULT_BLOCK, 0)
    graph = net.layout if net is not None else None  # where the run's graph goes in GI, GF
    kernel = CompiledKernel(
        program, source, rows, n_p, observed, module.run, 0.0, True, module.run_serial, graph
    )
    kernel.module = module
    kernel.compile_seconds = time.perf_counter() - t0
    if graph is not None:  # the staged driver, the one a network model runs with
        euler = ButcherTableau("euler", ((),), (1.0,), (0.0,), 1)
        kernel.prepare("run", lambda: _warm_up(kernel, program, euler, (False, True)))
    return kernel


def _warm_up(
    kernel: CompiledKernel,
    program: ir.Program,
    tableau: ButcherTableau,
    parallel: Sequence[bool],
) -> None:
    """Compile (or load) the drivers of ``tableau`` (serial and/or parallel) for the argument
    types of every later call: a chunk of no scenarios."""
    for par in parallel:
        kernel.simulate(
            {c.name: np.zeros((*c.shape, 1)) for c in program.constants},
            0,
            tableau=tableau,
            start=0.0,
            stop=1.0,
            dt=1.0,
            n_steps=1,
            save_every=1,
            save=list(program.observed)[:1],
            parallel=par,
            graph=numba_network.empty_graph(kernel.graph),
        )
