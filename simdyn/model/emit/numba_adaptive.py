"""Per-scenario adaptive stepping (``dopri5``, ``bs23``) inside a compiled kernel.

:func:`adaptive_source` is what :func:`simdyn.model.emit.numba.kernel_source` adds to every
generated module: for each pair, ``run_<pair>`` (``run_dopri5``, ``run_bs23``; and a
``_serial`` form for one block) integrates a chunk with that pair, scenarios in blocks of ``BL``
spread over all cores (``prange``) and, inside a block, one scenario after the other, each with
its own time, step size and error control. It calls the module's ``_rhs`` and ``_observe`` made
functions of one scenario (``_rhs1``, ``_observe1``: the same body without the loop over the
block, see :func:`single_scenario`), so the derivatives are the fixed-step kernel's own code;
the pair's coefficients are literals in its attempt, error and dense-output functions, and the
small helpers are inlined, so a step neither loops over zero weights nor counts references.
The driver follows
:func:`simdyn.integrate.integrate_embedded` operation for operation — scipy's initial step and
step control (safety 0.9, step ratio in [0.2, 10], no growth after a rejection, RMS norm of
``atol + rtol·|y|``), the same sums in the same order, the pair's dense output at the saved times,
non-negative stocks clamped in the saved values, the same failures (a non-finite derivative, a
step below round-off, a collapsed step size) — so both backends take the same steps.

:func:`simulate_adaptive` lays out a chunk's inputs, runs the driver and returns the saved values
and each scenario's :class:`~simdyn.integrate.Status` (with ``steps``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.integrate import EMBEDDED_PAIRS, EmbeddedPair, Status

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

_FUNCTIONS = """
@nb.njit(cache=True, error_model="numpy", inline="always")
def _ad_rhs(S, B, K, k, j, t, dt, start, stop, H, T, nh):
    # the derivatives at the state in S (scenario j of the block) into K[k]; the first
    # non-finite row, or -1
    _rhs1(S, B, j, t, t, dt, start, stop, H, T, nh)
    bad = -1
    for r in range(NS):
        x = B[DO + r * BL + j]
        K[k, r] = x
        if bad < 0 and not np.isfinite(x):
            bad = r
    return bad


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ad_save(S, B, j, lo, q, x, clamp, t_eval, ok, fail_time, fail_row, W, out, col, nf,
             dt, start, stop, H, T, nh):
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
    _observe1(S, B, j, lo, W, out, col, nf, q, tq, tq, dt, start, stop, H, T, nh)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _ad_initial(S, B, K, j, y, t, length, max_step, rtol, atol, iexpo, dt, start, stop, H, T,
                nh):
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
    bad = _ad_rhs(S, B, K, 1, j, t + h0, dt, start, stop, H, T, nh)
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


@nb.njit(cache=True, error_model="numpy", inline="always")
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
"""

_SCENARIO = """
@nb.njit(cache=True, error_model="numpy")
def _ad_scenario_PAIR(j, lo, Y0, B, S, K, y, yn, xs, expo, iexpo, t_eval, rtol,
                 atol, max_step, dt, start, stop, clamp, W, out, col, nf, ok, fail_time,
                 fail_row, steps, info, fail_t, H, T, nh):
    # integrate scenario j of the block from its initial state in Y0
    s = lo + j
    ns = NK - 1
    n_save = t_eval.size
    t = t_eval[0]
    t_end = t_eval[n_save - 1]
    for r in range(NS):
        y[r] = Y0[r * BL + j]
        S[r * BL + j] = y[r]
    _ad_save(S, B, j, lo, nh, y, clamp, t_eval, ok, fail_time, fail_row, W, out, col, nf,
             dt, start, stop, H, T, nh)
    k_next = nh + 1  # nh is 0 (no fixed DELAY): the first save is done
    n_steps = 0
    if NS == 0:
        for q in range(1, n_save):
            _ad_save(S, B, j, lo, q, y, clamp, t_eval, ok, fail_time, fail_row, W, out, col,
                     nf, dt, start, stop, H, T, nh)
        steps[s] = 0
        return
    # why the scenario stopped: (attempt * 4 + phase, kind), the failing row, -1 for none
    key, kind, row = -1, 0, -1
    for r in range(NS):
        S[r * BL + j] = y[r]
    bad = _ad_rhs(S, B, K, 0, j, t, dt, start, stop, H, T, nh)
    if bad >= 0:
        key, kind, row = 0, 0, bad
    h_abs = 0.0
    if key < 0:
        h_abs, bad = _ad_initial(S, B, K, j, y, t, t_end - t, max_step, rtol, atol, iexpo,
                                 dt, start, stop, H, T, nh)
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
        bad = _ad_attempt_PAIR(S, B, K, j, y, yn, t, h, dt, start, stop, H, T, nh)
        if bad >= 0:
            key, kind, row = 4 * attempt + 2, 0, bad
            break
        err, worst = _ad_error_PAIR(y, yn, K, h, rtol, atol)
        h_abs = _ad_control(err, h_abs, rejected, expo)
        if err < 1.0:
            k_next = _ad_dense_PAIR(S, B, K, j, lo, k_next, y, xs, t, h, clamp, t_eval, ok,
                               fail_time, fail_row, W, out, col, nf, dt, start, stop, H, T,
                               nh)
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
                 dt, start, stop, H, T, nh)
    steps[s] = n_steps
    info[s, 0] = key
    info[s, 1] = kind
    if key >= 0:
        fail_t[s] = t
        # a failure leaves its saves empty: the state row that went non-finite names it
        if k_next < n_save and fail_time[s] == t_eval[k_next]:
            fail_row[s] = row
"""

_DRIVER = """
@nb.njit(parallel=True, cache=True, error_model="numpy")
def run_PAIR(P, W, expo, iexpo, t_eval, rtol, atol, max_step, dt, start,
                 stop, clamp, out, col, nf, ok, fail_time, fail_row, steps, info, fail_t):
    n = P.shape[1]
    n_blocks = (n + BL - 1) // BL
    T = np.zeros(1)
    for b in nb.prange(n_blocks):
        lo = b * BL
        m = min(n, lo + BL) - lo
        Y0 = np.empty(NS * BL)
        S = np.empty(NS * BL)
        B = np.empty(NB * BL)
        H = np.empty((1, BL))
        K = np.empty((NK, max(NS, 1)))
        y = np.empty(max(NS, 1))
        yn = np.empty(max(NS, 1))
        xs = np.empty(max(NS, 1))
        for r in range(NP):
            for j in range(m):
                B[r * BL + j] = P[r, lo + j]
        zero = n - n  # 0, but not a literal (one specialization of each function)
        GI = np.zeros(1, dtype=np.int64)  # no graph (a network model has no adaptive driver)
        GF = np.zeros(1)
        _init(Y0, B, m, dt, start, stop, H, T, zero, GI, GF)
        for j in range(m):
            _ad_scenario_PAIR(j, lo, Y0, B, S, K, y, yn, xs, expo, iexpo, t_eval,
                         rtol, atol, max_step, dt, start, stop, clamp, W, out, col, nf, ok,
                         fail_time, fail_row, steps, info, fail_t, H, T, zero)
"""


def single_scenario(function: list[str]) -> str:
    """A block function of the generated module (``def _rhs(Y, B, m, ...)`` looping over the
    scenarios ``j`` of a block) as a function of one scenario (``def _rhs1(Y, B, j, ...)``):
    the same body, without the loop, and without the network's arrays (``GI, GF``: a model with
    network builtins has no adaptive driver)."""
    head, loop, *body = function
    head = head.replace(", GI, GF)", ")")
    assert loop == "    for j in range(m):", loop
    name, _, args = head.removeprefix("def ").partition("(")
    assert args.startswith("Y, B, m, "), head
    lines = [f"def {name}1(Y, B, j, {args.removeprefix('Y, B, m, ')}"]
    lines += [line.removeprefix("    ") for line in body]
    return '@nb.njit(cache=True, error_model="numpy")\n' + "\n".join(lines) + "\n    return None"


def _sum(weights: Sequence[float]) -> str:
    """``Σ w_i K[i, r]`` over the nonzero weights, left to right, as numpy's driver sums."""
    terms = [f"{float(w)!r} * K[{i}, r]" for i, w in enumerate(weights) if w != 0.0]
    return "(" + " + ".join(terms) + ")" if terms else "0.0"


_INLINE = '@nb.njit(cache=True, error_model="numpy", inline="always")'


def _attempt(pair: EmbeddedPair) -> list[str]:
    """``_ad_attempt_<pair>``: one trial step, the pair's weights written in as literals."""
    n = pair.stages
    lines = [
        _INLINE,
        f"def _ad_attempt_{pair.name}(S, B, K, j, y, yn, t, h, dt, start, stop, H, T, nh):",
        "    # stage derivatives into K[1:], the new state into yn; the first non-finite row",
        "    # of the first stage that has one, or -1",
    ]
    for st in range(1, n):
        lines += [
            "    for r in range(NS):",
            f"        S[r * BL + j] = y[r] + h * {_sum(pair.a[st])}",
            f"    bad = _ad_rhs(S, B, K, {st}, j, t + {float(pair.c[st])!r} * h, dt, start, stop,"
            " H, T, nh)",
            "    if bad >= 0:",
            "        return bad",
        ]
    return [
        *lines,
        "    for r in range(NS):",
        f"        yn[r] = y[r] + h * {_sum(pair.b)}",
        "        S[r * BL + j] = yn[r]",
        f"    return _ad_rhs(S, B, K, {n}, j, t + h, dt, start, stop, H, T, nh)",
    ]


def _error(pair: EmbeddedPair) -> list[str]:
    """``_ad_error_<pair>``: the RMS of the weighted error estimate and its largest row."""
    return [
        _INLINE,
        f"def _ad_error_{pair.name}(y, yn, K, h, rtol, atol):",
        "    acc = 0.0",
        "    worst = 0",
        "    big = 0.0",
        "    nan = False",
        "    for r in range(NS):",
        "        sc = atol + np.maximum(np.abs(y[r]), np.abs(yn[r])) * rtol",
        f"        w = h * {_sum(pair.e)} / sc",
        "        acc = w * w if r == 0 else acc + w * w",
        "        a = np.abs(w)",
        "        if not nan:  # np.argmax: the first NaN, else the first largest",
        "            if a != a:",
        "                worst = r",
        "                nan = True",
        "            elif r == 0 or a > big:",
        "                worst = r",
        "                big = a",
        "    return np.sqrt(acc / NS), worst",
    ]


def _dense(pair: EmbeddedPair) -> list[str]:
    """``_ad_dense_<pair>``: every saved time inside an accepted step, from the pair's dense
    output ``y + h Σ_d (Σ_i p[i][d] K_i) θ^(d+1)``; returns the next save."""
    lines = [
        _INLINE,
        f"def _ad_dense_{pair.name}(S, B, K, j, lo, k_next, y, xs, t, h, clamp, t_eval, ok,",
        "        fail_time, fail_row, W, out, col, nf, dt, start, stop, H, T, nh):",
        "    n_save = t_eval.size",
        "    t_new = t + h",
        "    while k_next < n_save and t_eval[k_next] <= t_new:",
        "        theta = (t_eval[k_next] - t) / h",
        "        for r in range(NS):",
        "            acc = 0.0",
        "            power = 1.0",
    ]
    for d in range(len(pair.p[0])):
        lines += [
            "            power = power * theta",
            f"            acc = acc + {_sum([row[d] for row in pair.p])} * power",
        ]
    return [
        *lines,
        "            xs[r] = y[r] + h * acc",
        "        _ad_save(S, B, j, lo, k_next, xs, clamp, t_eval, ok, fail_time, fail_row, W,",
        "                 out, col, nf, dt, start, stop, H, T, nh)",
        "        k_next += 1",
        "    return k_next",
    ]


def _pair_source(pair: EmbeddedPair) -> list[str]:
    """Everything one pair runs: its attempt, error and dense output, and its drivers
    ``run_<pair>`` (blocks over all cores) and ``run_<pair>_serial``."""
    own = [_SCENARIO, _DRIVER]
    own = [part.replace("PAIR", pair.name).replace("NK", str(pair.stages + 1)) for part in own]
    serial = own[1].replace("parallel=True, ", "").replace("nb.prange(", "range(")
    serial = serial.replace(f"def run_{pair.name}(", f"def run_{pair.name}_serial(")
    return [
        "\n".join(_attempt(pair)),
        "\n".join(_error(pair)),
        "\n".join(_dense(pair)),
        *(part.strip("\n") for part in (*own, serial)),
    ]


def adaptive_source(rhs: list[str], observe: list[str]) -> str:
    """The adaptive drivers' source (``run_dopri5``, ``run_bs23`` and their ``_serial``
    forms), for the generated module: they call its ``_init``, and ``rhs`` and ``observe``
    (the module's ``_rhs`` and ``_observe``) made functions of one scenario."""
    parts = [
        f"STALL = {STALL_STEPS}",
        single_scenario(rhs),
        single_scenario(observe),
        _FUNCTIONS.strip("\n"),
    ]
    for pair in EMBEDDED_PAIRS.values():
        parts += _pair_source(pair)
    return "\n\n\n".join(parts)


def prepare_adaptive(kernel: CompiledKernel, pair: EmbeddedPair, parallel: bool) -> None:
    """Compile (or load from the disk cache) ``kernel``'s driver of ``pair`` (its parallel or
    its serial form), once per kernel (:meth:`~simdyn.model.emit.numba.CompiledKernel.prepare`:
    the time it takes is added to its ``compile_seconds``)."""
    driver = f"run_{pair.name}" + ("" if parallel else "_serial")
    if driver in kernel.ready_drivers:
        return
    kernel.ready_drivers.add(driver)
    kernel.prepare(
        driver,
        lambda: simulate_adaptive(  # a chunk of no scenarios: the types of every later call
            kernel,
            {c.name: np.zeros((*c.shape, 1)) for c in kernel.program.constants},
            0,
            pair=pair,
            t_eval=np.array([0.0, 1.0]),
            rtol=1e-3,
            atol=1e-6,
            dt=1.0,
            save=list(kernel.program.observed)[:1],
            parallel=parallel,
            warm=True,
        ),
    )


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
    P = kernel.constants_array(params, n)
    W, sizes = kernel._save_rows(save)
    t_eval = np.ascontiguousarray(t_eval, dtype=np.float64)
    if out is None:
        out, col = np.empty((len(t_eval), max(sum(sizes), 1), n)), 0
    status = Status.all_ok(n)
    status.steps = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    info = np.full((n, 2), -1, dtype=np.int64)
    fail_t = np.full(n, np.nan)
    if parallel is None:
        parallel = n > kernel.module.BL  # one block needs no threads
    if not warm:
        prepare_adaptive(kernel, pair, parallel)
    driver = f"run_{pair.name}" + ("" if parallel else "_serial")
    getattr(kernel.module, driver)(
        P,
        W,
        -1.0 / (pair.error_order + 1),
        1 / (pair.error_order + 1),
        t_eval,
        float(rtol),
        float(atol),
        float(max_step),
        float(dt),
        float(t_eval[0]),
        float(t_eval[-1]),
        kernel.clamp_rows(),
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
    result = kernel.split_saved(out, save, sizes, col, n)
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
