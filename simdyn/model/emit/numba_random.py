"""numpy's default bit generator inside compiled kernels: PCG64, one stream per scenario.

numpy's :class:`~numpy.random.PCG64` (XSL-RR 128/64, not DXSM) keeps a 128-bit state and a
128-bit odd increment. A draw advances ``state = state * MULT + inc`` (mod 2**128) and outputs
``rotr64(hi ^ lo, hi >> 58)`` of the new state; ``Generator.random()`` is
``(next_uint64 >> 11) * 2**-53``. Here the 128-bit numbers are pairs of ``uint64`` (high and low
halves) and the multiply is written with 64-bit halves (the high half of a 64 × 64-bit product
from 32-bit pieces), so a kernel draws, for each scenario, exactly the numbers numpy's generator
for that scenario draws. :func:`pcg64_states` seeds them in Python from the same
:class:`~numpy.random.SeedSequence` derivation as the numpy backend
(:func:`simdyn._rng.scenario_stream`), for a whole chunk at once (numpy's hash written over
arrays: about 1 µs per scenario instead of 10 µs for a ``SeedSequence`` and a ``PCG64`` each).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simdyn._rng import scenario_stream

__all__ = ["pcg64_double", "pcg64_states", "pcg64_step"]

_U32 = np.uint64(32)
_U11 = np.uint64(11)
_U58 = np.uint64(58)
_U63 = np.uint64(63)
_U64 = np.uint64(64)
_ONE = np.uint64(1)
_LOW32 = np.uint64(0xFFFFFFFF)
#: PCG_DEFAULT_MULTIPLIER_128 = 0x2360ED051FC65DA44385DF649FCCF645, as two halves
_MULT_HI = np.uint64(0x2360ED051FC65DA4)
_MULT_LO = np.uint64(0x4385DF649FCCF645)
_TWO_M53 = 1.0 / 9007199254740992.0


@nb.njit(cache=True, error_model="numpy")
def _mulhi(a: np.uint64, b: np.uint64) -> np.uint64:
    """The high 64 bits of the 128-bit product ``a * b``."""
    a0, a1 = a & _LOW32, a >> _U32
    b0, b1 = b & _LOW32, b >> _U32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> _U32) + (p01 & _LOW32) + (p10 & _LOW32)  # < 3 * 2**32: no overflow
    return p11 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32)


@nb.njit(cache=True, error_model="numpy")
def pcg64_step(
    shi: np.uint64, slo: np.uint64, ihi: np.uint64, ilo: np.uint64
) -> tuple[np.uint64, np.uint64]:
    """The next state ``(hi, lo)``: ``state * MULT + inc`` mod 2**128."""
    hi = _mulhi(slo, _MULT_LO) + shi * _MULT_LO + slo * _MULT_HI
    lo = slo * _MULT_LO
    nlo = lo + ilo
    carry = _ONE if nlo < lo else np.uint64(0)
    return hi + ihi + carry, nlo


@nb.njit(cache=True, error_model="numpy")
def pcg64_double(hi: np.uint64, lo: np.uint64) -> float:
    """``Generator.random()`` from a state just stepped to: the XSL-RR output's top 53 bits."""
    x = hi ^ lo
    rot = hi >> _U58
    out = (x >> rot) | (x << ((_U64 - rot) & _U63))
    return float(out >> _U11) * _TWO_M53


def pcg64_states(root: np.random.SeedSequence, first: int, n: int) -> np.ndarray:
    """The PCG64 states of scenarios ``first .. first + n - 1``: ``uint64`` rows state high,
    state low, increment high, increment low (each ``n`` long).

    Scenario ``k``'s generator is ``np.random.default_rng(scenario_stream(root, k))``, as in
    the numpy backend. The seeding is numpy's (``SeedSequence``'s hash of the entropy and the
    spawn key, then ``PCG64``'s ``srandom``) done for all ``n`` scenarios at once; the first and
    the last scenario are checked against numpy's own, and a mismatch (a numpy that seeds
    differently) falls back to numpy's seeding scenario by scenario.
    """
    out = np.empty((4, n), dtype=np.uint64)
    if n == 0:
        return out
    pool_size = scenario_stream(root, first).pool_size
    entropy = _assembled_entropy(root, first, n, pool_size)
    if entropy is not None:
        out = _srandom(_generate_state(_mix_entropy(entropy, pool_size)))
        if all(_state_of(root, first + i) == tuple(out[:, i]) for i in (0, n - 1)):
            return out
    for i in range(n):
        out[:, i] = _state_of(root, first + i)
    return out


def _state_of(root: np.random.SeedSequence, k: int) -> tuple[int, int, int, int]:
    """numpy's PCG64 state of scenario ``k`` (one scenario, from numpy itself)."""
    st = np.random.PCG64(scenario_stream(root, k)).state["state"]
    s, inc = int(st["state"]), int(st["inc"])
    return s >> 64, s & _MASK64, inc >> 64, inc & _MASK64


_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
# numpy.random.SeedSequence's hash constants
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _XSHIFT = 0xCA01F9DD, 0x4973F715, 16


def _words(x: object) -> list[int] | None:
    """An int or a sequence of ints as SeedSequence reads them: 32-bit words, low first."""
    if isinstance(x, int | np.integer):
        v = int(x)
        if v < 0:
            return None
        words = [v & _MASK32] if v == 0 else []
        while v > 0:
            words.append(v & _MASK32)
            v >>= 32
        return words
    if isinstance(x, list | tuple):
        out: list[int] = []
        for item in x:
            w = _words(item)
            if w is None:
                return None
            out += w
        return out
    return None


def _assembled_entropy(
    root: np.random.SeedSequence, first: int, n: int, pool_size: int
) -> np.ndarray | None:
    """Each scenario's SeedSequence entropy words ``(words, n)``: the run entropy (padded to the
    pool size), the root's spawn key, then the scenario's index (one word: below 2**32)."""
    run, key = _words(root.entropy), _words(tuple(root.spawn_key))
    if run is None or key is None or first < 0 or first + n > 2**32:
        return None
    run += [0] * max(pool_size - len(run), 0)
    common = np.array(run + key, dtype=np.uint32)
    out = np.empty((common.size + 1, n), dtype=np.uint32)
    out[:-1] = common[:, None]
    out[-1] = np.arange(first, first + n, dtype=np.uint64).astype(np.uint32)
    return out


class _Hash:
    """SeedSequence's ``hashmix`` with its running constant (the same for every scenario)."""

    def __init__(self, init: int, mult: int) -> None:
        self.const, self.mult = init, mult

    def __call__(self, value: np.ndarray) -> np.ndarray:
        value = value ^ np.uint32(self.const)
        self.const = (self.const * self.mult) & _MASK32
        value = value * np.uint32(self.const)
        return value ^ (value >> np.uint32(_XSHIFT))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r: np.ndarray = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
    out: np.ndarray = r ^ (r >> np.uint32(_XSHIFT))
    return out


def _mix_entropy(entropy: np.ndarray, pool_size: int) -> np.ndarray:
    """``SeedSequence.mix_entropy`` for every column of ``entropy``: the pools ``(size, n)``."""
    h = _Hash(_INIT_A, _MULT_A)
    zero = np.zeros(entropy.shape[1], dtype=np.uint32)
    pool = [h(entropy[i] if i < len(entropy) else zero) for i in range(pool_size)]
    for src in range(pool_size):
        for dst in range(pool_size):
            if src != dst:
                pool[dst] = _mix(pool[dst], h(pool[src]))
    for src in range(pool_size, len(entropy)):
        for dst in range(pool_size):
            pool[dst] = _mix(pool[dst], h(entropy[src]))
    return np.array(pool)


def _generate_state(pool: np.ndarray) -> np.ndarray:
    """``SeedSequence.generate_state(4, np.uint64)`` for every column of ``pool``."""
    h = _Hash(_INIT_B, _MULT_B)
    words = []
    for i in range(8):
        v = pool[i % len(pool)] ^ np.uint32(h.const)
        h.const = (h.const * h.mult) & _MASK32
        v = v * np.uint32(h.const)
        words.append((v ^ (v >> np.uint32(_XSHIFT))).astype(np.uint64))
    return np.array([words[2 * i] | (words[2 * i + 1] << np.uint64(32)) for i in range(4)])


@nb.njit(cache=True, error_model="numpy")
def _srandom(seed: np.ndarray) -> np.ndarray:
    """PCG64's seeding from ``generate_state``'s words (initstate, initseq): the states."""
    n = seed.shape[1]
    out = np.empty((4, n), dtype=np.uint64)
    zero = np.uint64(0)
    for i in range(n):
        # inc = (initseq << 1) | 1; state = 0 stepped, plus initstate, stepped
        ihi = (seed[2, i] << _ONE) | (seed[3, i] >> _U63)
        ilo = (seed[3, i] << _ONE) | _ONE
        shi, slo = pcg64_step(zero, zero, ihi, ilo)
        lo = slo + seed[1, i]
        hi = shi + seed[0, i] + (_ONE if lo < slo else zero)
        shi, slo = pcg64_step(hi, lo, ihi, ilo)
        out[0, i], out[1, i], out[2, i], out[3, i] = shi, slo, ihi, ilo
    return out
