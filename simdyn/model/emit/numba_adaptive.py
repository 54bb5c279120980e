"""Per-scenario adaptive stepping (``dopri5``, ``bs23``) inside a compiled kernel.

:func:`adaptive_source` is the driver that :func:`simdyn.model.emit.numba.kernel_source` adds to
every generated module: ``run_adaptive`` integrates a chunk with an embedded Runge–Kutta pair,
scenarios in blocks of ``BL`` spread over all cores (``prange``) and, inside a block, one scenario
after the other, each with its own time, step size and error control. It calls the module's
``_rhs`` and ``_observe`` on views of the block's work arrays offset by the scenario (``m = 1``),
so the derivatives are the fixed-step kernel's own code. The driver follows
:func:`simdyn.integrate.integrate_embedded` operation for operation — scipy's initial step and
step control (safety 0.9, step ratio in [0.2, 10], no growth after a rejection, RMS norm of
``atol + rtol·|y|``), the same sums in the same order, the pair's dense output at the saved times,
non-negative stocks clamped in the saved values, the same failures (a non-finite derivative, a
step below round-off, a collapsed step size) — so both backends take the same steps.

:func:`simulate_adaptive` lays out a chunk's inputs, runs the driver and returns the saved values
and each scenario's :class:`~simdyn.integrate.Status` (with ``steps``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.integrate import BS23, EmbeddedPair, Status

if TYPE_CHECKING:
    from simdyn.model.emit.numba import CompiledKernel

__all__ = ["adaptive_source", "failure_message", "prepare_adaptive", "simulate_adaptive"]

#: consecutive steps shorter than 1e-12 of the span after which a scenario stops (as numpy's)
STALL_STEPS = 100
#: what stopped a scenario (``info[s, 1]``), as :mod:`simdyn.integrate.embedded` words it
FAILURES = (
    "a derivative became non-finite",
    "the step size became too small",
    "the step size collapsed",
)

_FUNCTIONS = '''
@nb.njit(cache=True, error_model="numpy")
def _ad_comb(K, w, n_k, r):
    # sum_i w[i] K[i, r], zero weights skipped, in order (the numpy driver's _combine)
    acc = 0.0
    first = True
    for i in range(n_k):
        if w[i] != 0.0:
            if first:
                acc = w[i] * K[i, r]
                first = False
            else:
                acc = acc + w[i] * K[i, r]
    return acc


@nb.njit(cache=True, error_model="numpy")
def _ad_rhs(S, B, K, k, j, t, dt, start, stop, H, T, nh, one):
    # the derivatives at the state in S (scenario j of the block) into K[k]; the first
    # non-finite row, or -1
    _rhs(S[j:], B[j:], one, t, t, dt, start, stop, H, T, nh)
    bad = -1
    for r in range(NS):
        x = B[DO + r * BL + j]
        K[k, r] = x
        if bad < 0 and not np.isfinite(x):
            bad = r
    return bad


@nb.njit(cache=True, error_model="numpy")
def _ad_save(S, B, j, lo, q, x, clamp, t_eval, ok, fail_time, fail_row, W, out, col, nf,
             dt, start, stop, H, T, nh, one):
    # save q of scenario j: the state x (NaN where not reached), non-negative rows clamped,
    # checked (the first non-finite saved state fails the scenario) and observed
    s = lo + j
    for r in range(NS):
        v = x[r]
        if clamp[r]:
            v = np.maximum(v, 0.0)
        S[r * BL + j] = v
        if ok[s] and not np.isfinite(v):
            ok[s] = False
            fail_time[s] = t_eval[q]
            fail_row[s] = r
    tq = t_eval[q]
    _observe(S[j:], B[j:], one, s, W, out, col, nf, q, tq, tq, dt, start, stop, H, T, nh)


@nb.njit(cache=True, error_model="numpy")
def _ad_initial(S, B, K, j, y, t, length, max_step, rtol, atol, iexpo, dt, start, stop, H, T,
                nh, one):
    # scipy's select_initial_step (K[0] holds f; f1 goes to K[1]); the step and the first
    # non-finite row of f1 (or -1)
    d0 = 0.0
    d1 = 0.0
    for r in range(NS):
        sc = atol + np.abs(y[r]) * rtol
        a = y[r] / sc
        b = K[0, r] / sc
        d0 = a * a if r == 0 else d0 + a * a
        d1 = b * b if r == 0 else d1 + b * b
    d0 = np.sqrt(d0 / NS)
    d1 = np.sqrt(d1 / NS)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / (d1 if d1 > 0 else 1.0)
    h0 = np.minimum(h0, length)
    for r in range(NS):
        S[r * BL + j] = y[r] + h0 * K[0, r]
    bad = _ad_rhs(S, B, K, 1, j, t + h0, dt, start, stop, H, T, nh, one)
    d2 = 0.0
    for r in range(NS):
        sc = atol + np.abs(y[r]) * rtol
        a = (K[1, r] - K[0, r]) / sc
        d2 = a * a if r == 0 else d2 + a * a
    d2 = np.sqrt(d2 / NS) / h0
    big = np.maximum(d1, d2)
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = np.maximum(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / (big if big > 0 else 1.0)) ** iexpo
    return np.minimum(np.minimum(100 * h0, h1), min(length, max_step)), bad


@nb.njit(cache=True, error_model="numpy")
def _ad_error(y, yn, K, E, n_k, h, rtol, atol):
    # the RMS of the weighted error estimate and its largest row (np.argmax: the first NaN)
    acc = 0.0
    worst = 0
    big = 0.0
    nan = False
    for r in range(NS):
        sc = atol + np.maximum(np.abs(y[r]), np.abs(yn[r])) * rtol
        w = h * _ad_comb(K, E, n_k, r) / sc
        acc = w * w if r == 0 else acc + w * w
        a = np.abs(w)
        if not nan:
            if a != a:
                worst = r
                nan = True
            elif r == 0 or a > big:
                worst = r
                big = a
    return np.sqrt(acc / NS), worst


@nb.njit(cache=True, error_model="numpy")
def _ad_attempt(S, B, K, j, y, yn, t, h, A, Bw, CN, dt, start, stop, H, T, nh, one):
    # one trial step: stage derivatives into K[1:], the new state into yn; the first
    # non-finite row of the first stage that has one, or -1
    ns = Bw.size
    for st in range(1, ns):
        for r in range(NS):
            S[r * BL + j] = y[r] + h * _ad_comb(K, A[st], st, r)
        bad = _ad_rhs(S, B, K, st, j, t + CN[st] * h, dt, start, stop, H, T, nh, one)
        if bad >= 0:
            return bad
    for r in range(NS):
        yn[r] = y[r] + h * _ad_comb(K, Bw, ns, r)
        S[r * BL + j] = yn[r]
    return _ad_rhs(S, B, K, ns, j, t + h, dt, start, stop, H, T, nh, one)


@nb.njit(cache=True, error_model="numpy")
def _ad_dense(S, B, K, j, lo, k_next, y, xs, t, h, PT, clamp, t_eval, ok, fail_time,
              fail_row, W, out, col, nf, dt, start, stop, H, T, nh, one):
    # every saved time inside the accepted step [t, t + h], from the pair's dense output;
    # the next save
    n_save = t_eval.size
    n_k = PT.shape[1]
    t_new = t + h
    while k_next < n_save and t_eval[k_next] <= t_new:
        theta = (t_eval[k_next] - t) / h
        for r in range(NS):
            acc = 0.0
            power = 1.0
            for d in range(PT.shape[0]):
                power = power * theta
                acc += _ad_comb(K, PT[d], n_k, r) * power
            xs[r] = y[r] + h * acc
        _ad_save(S, B, j, lo, k_next, xs, clamp, t_eval, ok, fail_time, fail_row, W, out,
                 col, nf, dt, start, stop, H, T, nh, one)
        k_next += 1
    return k_next


@nb.njit(cache=True, error_model="numpy")
def _ad_control(err, h_abs, rejected, expo):
    # the next step size after an attempt with error err (scipy's factors)
    if err < 1.0:
        grow = 10.0 if err == 0 else np.minimum(10.0, 0.9 * err ** expo)
        if rejected:
            grow = np.minimum(1.0, grow)
        return h_abs * grow
    v = 0.9 * err ** expo
    if v != v:
        v = 0.0
    elif v == np.inf:
        v = 1.7976931348623157e308
    return h_abs * np.maximum(0.2, v)
'''

_SCENARIO = '''
@nb.njit(cache=True, error_model="numpy")
def _ad_scenario(j, lo, Y0, B, S, K, y, yn, xs, A, Bw, CN, E, PT, expo, iexpo, t_eval, rtol,
                 atol, max_step, dt, start, stop, clamp, W, out, col, nf, ok, fail_time,
                 fail_row, steps, info, fail_t, H, T, nh, one):
    # integrate scenario j of the block from its initial state in Y0
    s = lo + j
    ns = Bw.size
    n_save = t_eval.size
    t = t_eval[0]
    t_end = t_eval[n_save - 1]
    for r in range(NS):
        y[r] = Y0[r * BL + j]
        S[r * BL + j] = y[r]
    _ad_save(S, B, j, lo, 0, y, clamp, t_eval, ok, fail_time, fail_row, W, out, col, nf,
             dt, start, stop, H, T, nh, one)
    k_next = 1
    n_steps = 0
    if NS == 0:
        for q in range(1, n_save):
            _ad_save(S, B, j, lo, q, y, clamp, t_eval, ok, fail_time, fail_row, W, out, col,
                     nf, dt, start, stop, H, T, nh, one)
        steps[s] = 0
        return
    # why the scenario stopped: (attempt * 4 + phase, kind), the failing row, -1 for none
    key, kind, row = -1, 0, -1
    for r in range(NS):
        S[r * BL + j] = y[r]
    bad = _ad_rhs(S, B, K, 0, j, t, dt, start, stop, H, T, nh, one)
    if bad >= 0:
        key, kind, row = 0, 0, bad
    h_abs = 0.0
    if key < 0:
        h_abs, bad = _ad_initial(S, B, K, j, y, t, t_end - t, max_step, rtol, atol, iexpo,
                                 dt, start, stop, H, T, nh, one)
        if bad >= 0:
            key, kind, row = 1, 0, bad
    active = key < 0 and not t >= t_end
    tiny = 1e-12 * (t_end - t_eval[0])
    rejected = False
    worst = 0
    stalled = 0
    attempt = 0
    while active:
        attempt += 1
        min_step = 10 * np.abs(np.nextafter(t, np.inf) - t)
        if not rejected:
            if h_abs > max_step:
                h_abs = max_step
            elif h_abs < min_step:
                h_abs = min_step
        elif h_abs < min_step:
            key, kind, row = 4 * attempt, 1, worst
            break
        h = np.minimum(t + h_abs, t_end) - t
        h_abs = h
        stalled = stalled + 1 if h <= tiny else 0
        if stalled >= STALL:
            key, kind, row = 4 * attempt + 1, 2, worst
            break
        bad = _ad_attempt(S, B, K, j, y, yn, t, h, A, Bw, CN, dt, start, stop, H, T, nh, one)
        if bad >= 0:
            key, kind, row = 4 * attempt + 2, 0, bad
            break
        err, worst = _ad_error(y, yn, K, E, ns + 1, h, rtol, atol)
        h_abs = _ad_control(err, h_abs, rejected, expo)
        if err < 1.0:
            k_next = _ad_dense(S, B, K, j, lo, k_next, y, xs, t, h, PT, clamp, t_eval, ok,
                               fail_time, fail_row, W, out, col, nf, dt, start, stop, H, T,
                               nh, one)
            for r in range(NS):
                y[r] = yn[r]
                K[0, r] = K[ns, r]
            t = t + h
            n_steps += 1
            rejected = False
            active = not t >= t_end
        else:
            rejected = True
    for r in range(NS):
        xs[r] = np.nan
    for q in range(k_next, n_save):
        _ad_save(S, B, j, lo, q, xs, clamp, t_eval, ok, fail_time, fail_row, W, out, col, nf,
                 dt, start, stop, H, T, nh, one)
    steps[s] = n_steps
    info[s, 0] = key
    info[s, 1] = kind
    if key >= 0:
        fail_t[s] = t
        # a failure leaves its saves empty: the state row that went non-finite names it
        if k_next < n_save and fail_time[s] == t_eval[k_next]:
            fail_row[s] = row
'''

_DRIVER = '''
@nb.njit(parallel=True, cache=True, error_model="numpy")
def run_adaptive(P, W, A, Bw, CN, E, PT, expo, iexpo, t_eval, rtol, atol, max_step, dt, start,
                 stop, clamp, out, col, nf, ok, fail_time, fail_row, steps, info, fail_t):
    n = P.shape[1]
    ns = Bw.size
    n_blocks = (n + BL - 1) // BL
    T = np.zeros(1)
    for b in nb.prange(n_blocks):
        lo = b * BL
        m = min(n, lo + BL) - lo
        Y0 = np.empty(NS * BL)
        S = np.empty(NS * BL)
        B = np.empty(NB * BL)
        H = np.empty((1, BL))
        K = np.empty((ns + 1, max(NS, 1)))
        y = np.empty(max(NS, 1))
        yn = np.empty(max(NS, 1))
        xs = np.empty(max(NS, 1))
        for r in range(NP):
            for j in range(m):
                B[r * BL + j] = P[r, lo + j]
        zero = ns - ns  # 0 and 1, but not literals (one specialization of each function)
        one = zero + 1
        _init(Y0, B, m, dt, start, stop, H, T, zero)
        for j in range(m):
            _ad_scenario(j, lo, Y0, B, S, K, y, yn, xs, A, Bw, CN, E, PT, expo, iexpo, t_eval,
                         rtol, atol, max_step, dt, start, stop, clamp, W, out, col, nf, ok,
                         fail_time, fail_row, steps, info, fail_t, H, T, zero, one)
'''


def adaptive_source() -> str:
    """The adaptive driver's source (``run_adaptive`` and ``run_adaptive_serial``), for the
    generated module: it calls that module's ``_init``, ``_rhs`` and ``_observe``."""
    serial = _DRIVER.replace("parallel=True, ", "").replace(
        "def run_adaptive(", "def run_adaptive_serial("
    )
    return "\n\n\n".join(
        [
            f"STALL = {STALL_STEPS}",
            _FUNCTIONS.strip("\n"),
            _SCENARIO.strip("\n"),
            _DRIVER.strip("\n"),
            serial.replace("nb.prange(", "range(").strip("\n"),
        ]
    )


def _pair_arrays(pair: EmbeddedPair) -> tuple[FloatArray, ...]:
    s = pair.stages
    a = np.zeros((s, s))
    for i, row in enumerate(pair.a):
        a[i, : len(row)] = row
    b = np.asarray(pair.b, dtype=float)
    c = np.asarray(pair.c, dtype=float)
    e = np.asarray(pair.e, dtype=float)
    pt = np.ascontiguousarray(np.asarray(pair.p, dtype=float).T)  # (degree, stages + 1)
    return a, b, c, e, pt


_READY: dict[int, bool] = {}


def prepare_adaptive(kernel: CompiledKernel) -> None:
    """Compile (or load from the disk cache) ``kernel``'s adaptive driver, once per kernel.

    The time it takes is added to ``kernel.compile_seconds``; ``kernel.from_cache`` stays true
    only when the driver, too, came from the cache.
    """
    if _READY.get(id(kernel.module)):
        return
    run = kernel.module.run_adaptive
    t0 = time.perf_counter()
    ready = bool(run.signatures)
    hits_before = sum(run.stats.cache_hits.values())
    for parallel in (False, True):  # a chunk of no scenarios: the types of every later call
        simulate_adaptive(
            kernel,
            {c.name: np.zeros((*c.shape, 1)) for c in kernel.program.constants},
            0,
            pair=BS23,
            t_eval=np.array([0.0, 1.0]),
            rtol=1e-3,
            atol=1e-6,
            dt=1.0,
            save=list(kernel.program.observed)[:1],
            parallel=parallel,
            warm=True,
        )
    kernel.compile_seconds += time.perf_counter() - t0
    kernel.from_cache = kernel.from_cache and (
        ready or sum(run.stats.cache_hits.values()) > hits_before
    )
    _READY[id(kernel.module)] = True


def simulate_adaptive(
    kernel: CompiledKernel,
    params: Mapping[str, FloatArray],
    n: int,
    *,
    pair: EmbeddedPair,
    t_eval: FloatArray,
    rtol: float,
    atol: float,
    dt: float,
    save: Sequence[str],
    out: FloatArray | None = None,
    col: int = 0,
    nonfinite: IntArray | None = None,
    parallel: bool | None = None,
    max_step: float = np.inf,
    warm: bool = False,
) -> tuple[dict[str, FloatArray], Status, IntArray, FloatArray]:
    """Run ``n`` scenarios with ``pair``, each under its own step-size control.

    Returns the saved arrays ``(n_saved, *shape, n)`` (written into ``out[:, :, col : col + n]``
    when given), the status with ``steps``, and per scenario why it stopped (``info[s]``:
    ``attempt * 4 + phase`` or -1, and the index into :data:`FAILURES`) and at what time, for
    :func:`failure_message`. ``dt`` is the model's ``DT`` (the equations' ``DT`` and the
    outflow limits of non-negative stocks use it); ``t_eval`` the saved times, from start to
    stop.
    """
    if not warm:
        prepare_adaptive(kernel)
    program = kernel.program
    P = np.empty((kernel.n_params, n))
    for const in program.constants:
        row = kernel.constant_rows[const.name]
        size = int(np.prod(const.shape)) if const.shape else 1
        value = np.asarray(params[const.name], dtype=np.float64)
        P[row : row + size] = np.broadcast_to(value.reshape(size, -1), (size, n))
    W, sizes = kernel._save_rows(save)
    t_eval = np.ascontiguousarray(t_eval, dtype=np.float64)
    if out is None:
        out, col = np.empty((len(t_eval), max(sum(sizes), 1), n)), 0
    status = Status.all_ok(n)
    status.steps = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    info = np.full((n, 2), -1, dtype=np.int64)
    fail_t = np.full(n, np.nan)
    clamp = np.zeros(max(program.n_state, 1), dtype=np.int64)
    for st in program.stocks:
        if st.non_negative:
            clamp[st.start : st.stop] = 1
    if parallel is None:
        parallel = n > 256
    module = kernel.module
    a, b, c, e, pt = _pair_arrays(pair)
    (module.run_adaptive if parallel else module.run_adaptive_serial)(
        P,
        W,
        a,
        b,
        c,
        e,
        pt,
        -1.0 / (pair.error_order + 1),
        1 / (pair.error_order + 1),
        t_eval,
        float(rtol),
        float(atol),
        float(max_step),
        float(dt),
        float(t_eval[0]),
        float(t_eval[-1]),
        clamp,
        out,
        int(col),
        counts,
        status.ok,
        status.fail_time,
        status.fail_row,
        status.steps,
        info,
        fail_t,
    )
    if nonfinite is not None:
        nonfinite[col : col + n] = counts
    result: dict[str, FloatArray] = {}
    offset = 0
    for name, size in zip(save, sizes, strict=True):
        shape = program.symbols[name].shape
        result[name] = out[:, offset : offset + size, col : col + n].reshape(len(t_eval), *shape, n)
        offset += size
    return result, status, info, fail_t


def failure_message(info: IntArray, fail_t: FloatArray, chunk: int) -> str:
    """The message the numpy driver gives a batch cut into chunks of ``chunk`` scenarios: in
    the first chunk with a failure, the failure of the earliest attempt (then phase, then
    scenario), ``"<why> at t = <time>"``; ``""`` when none failed."""
    for lo in range(0, info.shape[0], max(chunk, 1)):
        keys = info[lo : lo + chunk, 0]
        failed = np.flatnonzero(keys >= 0)
        if failed.size:
            first = lo + int(failed[np.argmin(keys[failed])])
            return f"{FAILURES[int(info[first, 1])]} at t = {float(fail_t[first]):g}"
    return ""
