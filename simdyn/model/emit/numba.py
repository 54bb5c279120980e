"""The compiled emitter: a :class:`~simdyn.model.ir.Program` as one numba kernel, time loop inside.

The generated module (see :func:`kernel_source`) has three scalar functions for one scenario
``s`` (column ``j`` of its block) — ``_init``, ``_rhs`` (one stage: the derivatives of every
stock into ``K[k, :, j]``) and ``_observe`` (every saved value into ``out[q, :, s]``) — and
``run``, which integrates a whole chunk: scenarios in blocks of ``block``, blocks spread over
all cores (``prange``), the time loop inside, and inside each step the scenario loop innermost
(stage by stage, so LLVM can vectorize across the scenarios of a block). Every work array is
allocated once per block; a step allocates nothing. The driver follows
:func:`simdyn.integrate.integrate_fixed` operation for operation (stage sums in the same order,
zero coefficients skipped, non-negative stocks clamped after each step, the state checked for
non-finite values after each step), so both backends give the same numbers.

The module is written to a cache folder (:func:`~simdyn.model.emit.numba_cache.cache_dir`) under
the hash of its source and compiled with ``cache=True``: a second
run of the same model, in any process, loads the machine code instead of compiling it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simdyn._types import FloatArray
from simdyn.integrate import ButcherTableau, Status
from simdyn.model import ir
from simdyn.model.emit.numba_cache import module_path
from simdyn.model.emit.numba_expr import (
    ScalarPrinter,
    UnsupportedByCompiled,
    flat_index,
    index_tuples,
    local,
    lookup_source,
)

__all__ = ["CompiledKernel", "UnsupportedByCompiled", "compile_kernel", "kernel_source"]

#: scenarios per block: the innermost loop; a block's work arrays stay in cache
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
    """Prints the scalar functions of one program."""

    def __init__(self, program: ir.Program) -> None:
        self.p = program
        self.rows, self.n_p, self.init_rows, self.n_c = _layout(program)
        self.sp = ScalarPrinter(program, self.rows, self.init_rows)

    def target(self, a: ir.Assign, flat: int) -> str:
        sym = self.p.symbols[a.target]
        if sym.kind == "init":
            return f"C[{self.init_rows[a.target] + flat}, j]"
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

    def load_stocks(self, array: str) -> list[str]:
        return [
            f"{_I1}{local(s.name, k)} = {array}[{s.start + k}, j]"
            for s in self.p.stocks
            for k in range(s.stop - s.start)
        ]

    def init(self) -> list[str]:
        lines = [f"{_I1}t = _START", f"{_I1}ts = _START"]
        for a in self.p.initial:
            lines += self.assign(a, _I1)
        for s in self.p.stocks:
            for k in range(s.stop - s.start):
                lines.append(f"{_I1}Y[{s.start + k}, j] = {local(s.name, k)}")
        return _over_block("_init(P, lo, m, Y, C, _DT, _START, _STOP)", lines)

    def rhs(self) -> list[str]:
        lines = self.load_stocks("Y")
        for a in self.p.rhs:
            lines += self.assign(a, _I1)
        slot = {s.name: s for s in self.p.stocks}
        for r in self.p.rates:
            st = slot[r.target]
            assert r.expr is not None
            for idx in index_tuples(st.shape):
                text = self.sp.emit(r.expr, dict(zip(st.dims, idx, strict=True)))
                lines.append(f"{_I1}K[k, {st.start + flat_index(st.shape, idx)}, j] = {text}")
        return _over_block("_rhs(P, lo, m, Y, C, K, k, t, ts, _DT, _START, _STOP)", lines)

    def observe(self) -> list[str]:
        lines = self.load_stocks("Y")
        for a in self.p.evaluate:
            lines += self.assign(a, _I1)
        o = 0
        for name in self.p.observed:
            sym = self.p.symbols[name]
            for idx in index_tuples(sym.shape):
                lines.append(f"{_I1}if W[{o}] >= 0:")
                lines.append(f"{_I2}out[q, W[{o}], col + s] = {self.sp.ref(name, idx)}")
                o += 1
        return _over_block(
            "_observe(P, lo, m, Y, C, W, out, col, q, t, ts, _DT, _START, _STOP)", lines
        )


def _over_block(signature: str, body: list[str]) -> list[str]:
    """A function of ``signature`` running ``body`` for every scenario ``j`` of a block.

    The scenario loop is innermost around straight-line scalar code, so LLVM can vectorize
    it, and one call covers a whole block (no per-scenario call overhead).
    """
    head = [f"def {signature}:", f"{_I1}for j in range(m):", f"{_I2}s = lo + j"]
    return head + [_I1 + line for line in body]


#: numpy's floating-point semantics (1 / 0 is inf, not an exception), machine code on disk
_OPTIONS = 'cache=True, error_model="numpy"'
_RUN = """
@nb.njit(cache=True, error_model="numpy")
def _check(Y, m, lo, t, ok, fail_time, fail_row):
    # x - x is 0 for a finite x and NaN otherwise: one vectorized pass counts the non-finite
    bad = 0
    for r in range(NS):
        for j in range(m):
            x = Y[r, j]
            bad += (x - x) != 0.0
    if bad == 0:
        return
    for j in range(m):
        if ok[lo + j]:
            for r in range(NS):
                if not np.isfinite(Y[r, j]):
                    ok[lo + j] = False
                    fail_time[lo + j] = t
                    fail_row[lo + j] = r
                    break


@nb.njit(parallel=True, cache=True, error_model="numpy")
def run(P, W, A, B, CN, clamp, dt, start, stop, n_steps, save_every, block, out, col, ok,
        fail_time, fail_row):
    n = P.shape[1]
    n_stages = B.size
    n_blocks = (n + block - 1) // block
    for b in nb.prange(n_blocks):
        lo = b * block
        m = min(n, lo + block) - lo
        Y = np.empty((NS, m))
        Yt = np.empty((NS, m))
        K = np.empty((n_stages, NS, m))
        C = np.empty((NC, m))
        _init(P, lo, m, Y, C, dt, start, stop)
        _check(Y, m, lo, start, ok, fail_time, fail_row)
        q = n_stages - n_stages  # 0, but not a literal (one specialization of each function)
        _observe(P, lo, m, Y, C, W, out, col, q, start, start, dt, start, stop)
        q += 1
        for i in range(n_steps):
            t = start + i * dt
            for st in range(n_stages):
                if st == 0:
                    _rhs(P, lo, m, Y, C, K, st, t, t, dt, start, stop)
                    continue
                for r in range(NS):
                    for j in range(m):
                        Yt[r, j] = Y[r, j]
                    for mm in range(st):
                        w = dt * A[st, mm]
                        if A[st, mm] != 0.0:
                            for j in range(m):
                                Yt[r, j] += w * K[mm, r, j]
                ts = t + CN[st] * dt
                _rhs(P, lo, m, Yt, C, K, st, ts, t, dt, start, stop)
            for r in range(NS):
                for st in range(n_stages):
                    w = dt * B[st]
                    for j in range(m):
                        Y[r, j] += w * K[st, r, j]
            for r in clamp:
                for j in range(m):
                    Y[r, j] = np.maximum(Y[r, j], 0.0)
            t_next = start + (i + 1) * dt
            _check(Y, m, lo, t_next, ok, fail_time, fail_row)
            if (i + 1) % save_every == 0:
                _observe(P, lo, m, Y, C, W, out, col, q, t_next, t_next, dt, start, stop)
                q += 1
"""


def kernel_source(program: ir.Program) -> str:
    """The source of the compiled module of ``program``.

    Raises
    ------
    UnsupportedByCompiled
        For random events, extension and network functions and the fixed ``DELAY``.
    """
    if program.events:
        names = ", ".join(e.name for e in program.events)
        raise UnsupportedByCompiled(f"random events ({names})")
    if program.functions:
        raise UnsupportedByCompiled(f"the function {', '.join(program.functions)}")
    pr = _Printer(program)
    head = [
        "# generated by simdyn.model.emit.numba from the IR of model "
        + "".join(ch for ch in program.spec.name if ch.isalnum() or ch in "_-"),
        "import numba as nb",
        "import numpy as np",
        "from simdyn.model.emit.numba_runtime import pulse as _pulse, ramp as _ramp",
        "from simdyn.model.emit.numba_runtime import safediv as _safediv, step as _step",
        "from simdyn.model.emit.numba_runtime import interp as _interp",
        f"NS = {program.n_state}",
        f"NC = {max(pr.n_c, 1)}",
    ]
    parts = ["\n".join(head)]
    parts += [lookup_source(lk, _OPTIONS) for lk in program.lookups]
    for fn in (pr.init(), pr.rhs(), pr.observe()):
        parts.append(f"@nb.njit({_OPTIONS})\n" + "\n".join(fn) + "\n" + _I1 + "return None")
    parts.append(_RUN)
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
        block: int = DEFAULT_BLOCK,
        out: FloatArray | None = None,
        col: int = 0,
    ) -> tuple[dict[str, FloatArray], Status]:
        """Run ``n`` scenarios; returns saved arrays ``(n_saved, *shape, n)`` and the status.

        The saved values are written into ``out[:, :, col : col + n]`` (rows in the order of
        ``save``, see :meth:`saved_rows`) when given, so that a run in chunks copies nothing.
        """
        P = np.empty((self.n_params, n))
        for const in self.program.constants:
            row = self.constant_rows[const.name]
            size = int(np.prod(const.shape)) if const.shape else 1
            value = np.asarray(params[const.name], dtype=np.float64)
            P[row : row + size] = np.broadcast_to(value.reshape(size, -1), (size, n))
        W, sizes = self._save_rows(save)
        n_save = n_steps // save_every + 1
        if out is None:
            out, col = np.empty((n_save, max(sum(sizes), 1), n)), 0
        status = Status.all_ok(n)
        a, b, c = _tableau_arrays(tableau)
        clamp = np.asarray(
            [r for s in self.program.stocks if s.non_negative for r in range(s.start, s.stop)],
            dtype=np.int64,
        )
        self.run(
            P,
            W,
            a,
            b,
            c,
            clamp,
            float(dt),
            float(start),
            float(stop),
            int(n_steps),
            int(save_every),
            int(block),
            out,
            int(col),
            status.ok,
            status.fail_time,
            status.fail_row,
        )
        result: dict[str, FloatArray] = {}
        offset = 0
        for name, size in zip(save, sizes, strict=True):
            shape = self.program.symbols[name].shape
            block_ = out[:, offset : offset + size, col : col + n]
            result[name] = block_.reshape(n_save, *shape, n)
            offset += size
        return result, status

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


def _tableau_arrays(tb: ButcherTableau) -> tuple[FloatArray, FloatArray, FloatArray]:
    s = tb.stages
    a = np.zeros((s, s))
    for i, row in enumerate(tb.a):
        a[i, : len(row)] = row
    return a, np.asarray(tb.b, dtype=float), np.asarray(tb.c, dtype=float)


_LOADED: dict[str, Any] = {}


def _load(source: str) -> Any:
    """Import the module of ``source`` from the cache folder (writing it there first)."""
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
    _LOADED[name] = module.run
    return module.run


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
    run = _load(source)
    kernel = CompiledKernel(program, source, rows, n_p, observed, run, 0.0, False)
    ready = bool(run.signatures)  # compiled earlier in this process
    hits_before = sum(run.stats.cache_hits.values())
    # compile for the argument types of every later call: a chunk of no scenarios
    kernel.simulate(
        {c.name: np.zeros((*c.shape, 1)) for c in program.constants},
        0,
        tableau=ButcherTableau("euler", ((),), (1.0,), (0.0,), 1),
        start=0.0,
        stop=1.0,
        dt=1.0,
        n_steps=1,
        save_every=1,
        save=list(program.observed)[:1],
    )
    kernel.compile_seconds = time.perf_counter() - t0
    kernel.from_cache = ready or sum(run.stats.cache_hits.values()) > hits_before
    return kernel
