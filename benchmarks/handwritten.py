"""Hand-written numba kernels for SIR and workforce20: the compiled limit of the backends benchmark.

Written the fastest way we know: scenarios in blocks of ``BLOCK``, the scenario loop innermost
(so LLVM vectorizes across scenarios), the time loop around it, ``prange`` over blocks, state in
per-block arrays allocated once. They follow simdyn's conventions exactly (outflows of a
non-negative stock limited to what it holds in a step, stocks clamped at zero, ``STEP`` at the
start of a step), so the benchmark checks their trajectories against simdyn before timing.
"""

from __future__ import annotations

import numba as nb
import numpy as np

BLOCK = 256
_EPS = 1e-9


@nb.njit(inline="always")
def _limit(stock: float, raw: float, dt: float) -> float:
    """simdyn's outflow scale ``MIN(1, SAFEDIV(MAX(stock, 0), DT * MAX(raw, 0), 1))``."""
    cap = dt * max(raw, 0.0)
    scale = max(stock, 0.0) / cap if cap != 0.0 else 1.0
    return min(1.0, scale)


@nb.njit(inline="always")
def _sir_rates(s: float, i: float, beta: float, rt: float, pop: float, dt: float) -> tuple:  # type: ignore[type-arg]
    raw_inf = beta * s * i / pop
    raw_rec = i / rt
    inf = raw_inf * _limit(s, raw_inf, dt)
    rec = raw_rec * _limit(i, raw_rec, dt)
    return -inf, inf - rec, rec, inf, rec


@nb.njit(parallel=True, cache=True)
def sir(
    beta: np.ndarray,
    rt: np.ndarray,
    i0: np.ndarray,
    pop: float,
    dt: float,
    n_steps: int,
    save_every: int,
    rk4: bool,
    out: np.ndarray,
) -> None:
    """SIR for ``len(beta)`` scenarios; ``out[k, v, s]`` gets S, I, R, infection, recovery."""
    n = beta.size
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in nb.prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        S = np.empty(m)
        I = np.empty(m)  # noqa: E741
        R = np.empty(m)
        for j in range(m):
            S[j] = pop - i0[lo + j]
            I[j] = i0[lo + j]
            R[j] = 0.0
        k = 0
        for step in range(n_steps + 1):
            if step % save_every == 0:
                for j in range(m):
                    r = _sir_rates(S[j], I[j], beta[lo + j], rt[lo + j], pop, dt)
                    out[k, 0, lo + j] = S[j]
                    out[k, 1, lo + j] = I[j]
                    out[k, 2, lo + j] = R[j]
                    out[k, 3, lo + j] = r[3]
                    out[k, 4, lo + j] = r[4]
                k += 1
            if step == n_steps:
                break
            for j in range(m):
                s, i, rr = S[j], I[j], R[j]
                bj, tj = beta[lo + j], rt[lo + j]
                k1 = _sir_rates(s, i, bj, tj, pop, dt)
                if rk4:
                    h = dt * 0.5
                    k2 = _sir_rates(s + h * k1[0], i + h * k1[1], bj, tj, pop, dt)
                    k3 = _sir_rates(s + h * k2[0], i + h * k2[1], bj, tj, pop, dt)
                    k4 = _sir_rates(s + dt * k3[0], i + dt * k3[1], bj, tj, pop, dt)
                    w1, w2 = dt / 6, dt / 3
                    s = s + w1 * k1[0] + w2 * k2[0] + w2 * k3[0] + w1 * k4[0]
                    i = i + w1 * k1[1] + w2 * k2[1] + w2 * k3[1] + w1 * k4[1]
                    rr = rr + w1 * k1[2] + w2 * k2[2] + w2 * k3[2] + w1 * k4[2]
                else:
                    s, i, rr = s + dt * k1[0], i + dt * k1[1], rr + dt * k1[2]
                S[j] = max(s, 0.0)
                I[j] = max(i, 0.0)
                R[j] = rr


@nb.njit(inline="always")
def _interp(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    if x <= xs[0]:
        return float(ys[0])
    last = xs.size - 1
    if x >= xs[last]:
        return float(ys[last])
    q = 1
    while xs[q] < x:
        q += 1
    w = (x - xs[q - 1]) / (xs[q] - xs[q - 1])
    return float(ys[q - 1] + w * (ys[q] - ys[q - 1]))


QX = np.array([0.0, 1.0, 2.0, 3.0])
QY = np.array([0.8, 1.0, 1.6, 2.5])
PX = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
PY = np.array([0.7, 0.9, 1.0, 1.15, 1.2])
#: constants of workforce20.toml in the order of ``c`` below
WF_CONSTANTS = (
    "target_staff",
    "hiring_adjustment_time",
    "hiring_delay",
    "training_time",
    "promotion_time",
    "junior_quit_time",
    "senior_quit_time",
    "arrival_rate",
    "arrival_step",
    "step_time",
    "recruit_productivity",
    "junior_productivity",
    "senior_productivity",
    "perception_time",
)
#: saved variables of the workforce kernel (a subset of the model's, all stocks among them)
WF_SAVED = ("recruits", "juniors", "seniors", "backlog", "delivered", "staff", "completion")


@nb.njit(inline="always")
def _wf_rates(y: tuple, c: np.ndarray, s: int, ts: float, dt: float) -> tuple:  # type: ignore[type-arg]
    """Derivatives of workforce20's 9 stocks (5 visible, DELAY3's 3, SMTH1's 1) of scenario ``s``."""
    recruits, juniors, seniors, backlog = y[0], y[1], y[2], y[3]
    perceived = y[8]
    st = c[2, s] / 3.0
    out1, out2, out3 = y[5] / st, y[6] / st, y[7] / st
    quit_mult = _interp(perceived, QX, QY)
    prod_mult = _interp(perceived, PX, PY)
    staff = recruits + juniors + seniors
    training = recruits / c[3, s]
    promotion = juniors / c[4, s]
    jq = juniors * quit_mult / c[5, s]
    sq = seniors * quit_mult / c[6, s]
    capacity = recruits * c[10, s] + juniors * c[11, s] + seniors * c[12, s]
    arrivals = c[7, s] + (c[8, s] if ts + _EPS * dt >= c[9, s] else 0.0)
    completion = min(capacity * prod_mult, backlog)
    requests = max((c[0, s] - staff) / c[1, s] + (jq + sq), 0.0)
    pressure = backlog / (capacity + 1.0)
    return (
        out3 - training,
        training - promotion - jq,
        promotion - sq,
        arrivals - completion,
        completion,
        requests - out1,
        out1 - out2,
        out2 - out3,
        (pressure - perceived) / c[13, s],
    )


@nb.njit(inline="always")
def _axpy(y: tuple, h: float, k: tuple) -> tuple:  # type: ignore[type-arg]
    return (
        y[0] + h * k[0],
        y[1] + h * k[1],
        y[2] + h * k[2],
        y[3] + h * k[3],
        y[4] + h * k[4],
        y[5] + h * k[5],
        y[6] + h * k[6],
        y[7] + h * k[7],
        y[8] + h * k[8],
    )


@nb.njit(inline="always")
def _wf_init(c: np.ndarray, s: int, Y: np.ndarray, j: int) -> None:
    r, jn, sn, bl = 10.0, 30.0, 50.0, 100.0
    staff = r + jn + sn
    capacity = r * c[10, s] + jn * c[11, s] + sn * c[12, s]
    pressure = bl / (capacity + 1.0)
    quit_mult = _interp(pressure, QX, QY)
    requests = max(
        (c[0, s] - staff) / c[1, s] + (jn * quit_mult / c[5, s] + sn * quit_mult / c[6, s]), 0.0
    )
    st = c[2, s] / 3.0
    Y[0, j], Y[1, j], Y[2, j], Y[3, j], Y[4, j] = r, jn, sn, bl, 0.0
    Y[5, j] = Y[6, j] = Y[7, j] = requests * st
    Y[8, j] = pressure


@nb.njit(parallel=True, cache=True)
def workforce(
    consts: np.ndarray, dt: float, n_steps: int, save_every: int, rk4: bool, out: np.ndarray
) -> None:
    """workforce20 for ``consts.shape[1]`` scenarios (``consts[i, s]`` in ``WF_CONSTANTS`` order).

    ``out[k, v, s]`` gets the variables of ``WF_SAVED``.
    """
    n = consts.shape[1]
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in nb.prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        Y = np.empty((9, m))
        for j in range(m):
            _wf_init(consts, lo + j, Y, j)
        k = 0
        for step in range(n_steps + 1):
            if step % save_every == 0:
                for j in range(m):
                    s = lo + j
                    for v in range(5):
                        out[k, v, s] = Y[v, j]
                    out[k, 5, s] = Y[0, j] + Y[1, j] + Y[2, j]
                    cap = (
                        Y[0, j] * consts[10, s] + Y[1, j] * consts[11, s] + Y[2, j] * consts[12, s]
                    )
                    out[k, 6, s] = min(cap * _interp(Y[8, j], PX, PY), Y[3, j])
                k += 1
            if step == n_steps:
                break
            ts = step * dt
            for j in range(m):
                s = lo + j
                y = (
                    Y[0, j],
                    Y[1, j],
                    Y[2, j],
                    Y[3, j],
                    Y[4, j],
                    Y[5, j],
                    Y[6, j],
                    Y[7, j],
                    Y[8, j],
                )
                k1 = _wf_rates(y, consts, s, ts, dt)
                if rk4:
                    k2 = _wf_rates(_axpy(y, 0.5 * dt, k1), consts, s, ts, dt)
                    k3 = _wf_rates(_axpy(y, 0.5 * dt, k2), consts, s, ts, dt)
                    k4 = _wf_rates(_axpy(y, dt, k3), consts, s, ts, dt)
                    y = _axpy(
                        _axpy(_axpy(_axpy(y, dt / 6, k1), dt / 3, k2), dt / 3, k3), dt / 6, k4
                    )
                else:
                    y = _axpy(y, dt, k1)
                for q in range(9):
                    Y[q, j] = y[q]
