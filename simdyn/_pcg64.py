"""numpy's default bit generator for a whole chunk at once: one PCG64 stream per scenario.

Scenario ``k``'s random events draw from ``np.random.default_rng(scenario_stream(root, k))``
(:func:`simdyn._rng.scenario_stream`). Calling that generator once per scenario per draw costs a
Python call each; here the states of all the scenarios of a chunk are ``uint64`` arrays and
every draw advances them all together, giving each scenario exactly the numbers its own numpy
generator gives.

The algorithm, written once
---------------------------
numpy's :class:`~numpy.random.PCG64` (XSL-RR 128/64, not DXSM) keeps a 128-bit state and a
128-bit odd increment. A draw advances ``state = state * MULT + inc`` (mod 2**128) and outputs
``rotr64(hi ^ lo, hi >> 58)`` of the new state; ``Generator.random()`` is
``(next_uint64 >> 11) * 2**-53``. The 128-bit numbers are pairs of ``uint64`` (high and low
halves); the multiply is written with 64-bit halves (the high half of a 64 × 64-bit product
from 32-bit pieces), which ``uint64`` arithmetic computes exactly because it wraps mod 2**64.

:func:`pcg64_step` and :func:`pcg64_double` use only operators that mean the same on ``uint64``
arrays and on ``uint64`` scalars: numpy runs them over a chunk's arrays
(:class:`ScenarioStreams`), and the compiled backend compiles the very same functions with numba
for one scenario at a time inside its kernels (``simdyn.model.emit.numba_random``). They call
no other function, so numba can compile them as they are.

:func:`pcg64_states` seeds the states from the :class:`~numpy.random.SeedSequence` derivation:
numpy's hash of the entropy and the spawn key, then ``PCG64``'s ``srandom``, written over arrays
(about 1 µs per scenario instead of 10 µs for a ``SeedSequence`` and a ``PCG64`` each). The
first and last scenario of every batch are checked against numpy's own seeding, and a mismatch
(a numpy that seeds differently) falls back to numpy's seeding, scenario by scenario.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from simdyn._rng import scenario_stream

__all__ = ["ScenarioStreams", "UInt64Array", "pcg64_double", "pcg64_states", "pcg64_step"]

UInt64Array: TypeAlias = NDArray[np.uint64]

_U32 = np.uint64(32)
_U11 = np.uint64(11)
_U58 = np.uint64(58)
_U63 = np.uint64(63)
_U64 = np.uint64(64)
_ONE = np.uint64(1)
_LOW32 = np.uint64(0xFFFFFFFF)
#: PCG_DEFAULT_MULTIPLIER_128, as two halves
_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_MULT_HI = np.uint64(_MULT >> 64)
_MULT_LO = np.uint64(_MULT & 0xFFFFFFFFFFFFFFFF)
_TWO_M53 = 1.0 / 9007199254740992.0


def pcg64_step(
    shi: UInt64Array,
    slo: UInt64Array,
    ihi: UInt64Array,
    ilo: UInt64Array,
    mhi: np.uint64 = _MULT_HI,
    mlo: np.uint64 = _MULT_LO,
) -> tuple[UInt64Array, UInt64Array]:
    """The next states ``(hi, lo)``: ``state * mult + inc`` mod 2**128, PCG64's ``MULT`` unless
    another multiplier ``(mhi, mlo)`` is given (a jump of several draws at once).

    ``state * mult`` mod 2**128 is ``mulhi(slo, mlo) + shi * mlo + slo * mhi`` (high half, mod
    2**64) and ``slo * mlo`` (low half); ``mulhi`` adds the four 32 × 32-bit products of the
    pieces (the middle sum stays below 3 * 2**32). The carry of the low halves' sum is the top
    bit of ``(a & b) | ((a | b) & ~sum)``.
    """
    m0, m1 = mlo & _LOW32, mlo >> _U32
    a0, a1 = slo & _LOW32, slo >> _U32
    p00, p01, p10, p11 = a0 * m0, a0 * m1, a1 * m0, a1 * m1
    mid = (p00 >> _U32) + (p01 & _LOW32) + (p10 & _LOW32)
    mulhi = p11 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32)
    hi = mulhi + shi * mlo + slo * mhi
    lo = slo * mlo
    nlo = lo + ilo
    carry = ((lo & ilo) | ((lo | ilo) & ~nlo)) >> _U63
    return hi + ihi + carry, nlo


def pcg64_double(hi: UInt64Array, lo: UInt64Array) -> NDArray[np.floating[Any]]:
    """``Generator.random()`` from states just stepped to: the XSL-RR output's top 53 bits."""
    x = hi ^ lo
    rot = hi >> _U58
    out = (x >> rot) | (x << ((_U64 - rot) & _U63))
    return (out >> _U11) * _TWO_M53  # exact: below 2**53, times a power of two


#: numbers per numpy call when streams draw: few enough that every temporary (64 KiB) stays in
#: the cache and below malloc's ``mmap`` threshold, enough to pay numpy's cost per call rarely
_TILE = 8192


class ScenarioStreams:
    """The random-event streams of scenarios ``first .. first + n - 1``, ``width`` numbers a draw.

    ``draw()[j, i]`` is the ``j``-th of the next ``width`` numbers of scenario ``first + i``'s
    generator ``np.random.default_rng(scenario_stream(root, first + i))``: successive draws give
    what successive ``random(width)`` calls give.

    Each stream is dealt into ``width`` lanes: lane ``j`` holds the state that gives the ``j``-th
    number of the next draw. PCG64 stepped ``width`` times is again a step,
    ``state * MULT**width + inc * (1 + MULT + … + MULT**(width - 1))`` (mod 2**128), so one
    :func:`pcg64_step` with that multiplier and increment moves every lane on to the next draw.
    A draw is then one output and one step over the ``(width, n)`` lanes, in tiles.

    Examples
    --------
    >>> root = np.random.SeedSequence(5)
    >>> streams = ScenarioStreams(root, 10, 3, width=4)
    >>> u, v = streams.draw(), streams.draw()
    >>> g = np.random.default_rng(scenario_stream(root, 12))
    >>> bool((u[:, 2] == g.random(4)).all() and (v[:, 2] == g.random(4)).all())
    True
    """

    def __init__(self, root: np.random.SeedSequence, first: int, n: int, width: int) -> None:
        if width < 1 or n < 1:
            raise ValueError(f"streams need n >= 1 and width >= 1, not n={n}, width={width}")
        s = pcg64_states(root, first, n)
        self._lanes = np.empty((2, width, n), dtype=np.uint64)
        hi, lo = s[0], s[1]
        for j in range(width):
            hi, lo = pcg64_step(hi, lo, s[2], s[3])
            self._lanes[0, j], self._lanes[1, j] = hi, lo
        mult, plus = _jump(width)
        zero = np.zeros(n, dtype=np.uint64)
        self._mult = _halves(mult)
        self._inc = pcg64_step(s[2], s[3], zero, zero, *_halves(plus))  # inc * plus
        self._rows, self._cols = max(1, _TILE // n), min(n, _TILE)

    def draw(self) -> NDArray[np.float64]:
        """The next ``width`` numbers of every stream, ``(width, n)``; the lanes move on."""
        lanes, (ihi, ilo) = self._lanes, self._inc
        width, n = lanes.shape[1:]
        out = np.empty((width, n))
        for r in range(0, width, self._rows):
            rows = slice(r, r + self._rows)
            for c in range(0, n, self._cols):
                cols = slice(c, c + self._cols)
                hi, lo = lanes[0, rows, cols], lanes[1, rows, cols]
                out[rows, cols] = pcg64_double(hi, lo)
                lanes[0, rows, cols], lanes[1, rows, cols] = pcg64_step(
                    hi, lo, ihi[cols], ilo[cols], *self._mult
                )
        return out


def _jump(steps: int) -> tuple[int, int]:
    """``(mult, plus)`` with ``steps`` PCG64 steps ``== state * mult + inc * plus`` (mod 2**128):
    the square-and-multiply of Brown's "Random number generation with arbitrary strides"."""
    mask = (1 << 128) - 1
    cur_mult, cur_plus, mult, plus = _MULT, 1, 1, 0
    while steps:
        if steps & 1:
            mult, plus = (mult * cur_mult) & mask, (plus * cur_mult + cur_plus) & mask
        cur_plus = ((cur_mult + 1) * cur_plus) & mask
        cur_mult = (cur_mult * cur_mult) & mask
        steps >>= 1
    return mult, plus


def _halves(x: int) -> tuple[np.uint64, np.uint64]:
    return np.uint64(x >> 64), np.uint64(x & _MASK64)


def pcg64_states(root: np.random.SeedSequence, first: int, n: int) -> UInt64Array:
    """The PCG64 states of scenarios ``first .. first + n - 1``: ``uint64`` rows state high,
    state low, increment high, increment low (each ``n`` long).

    Scenario ``k``'s generator is ``np.random.default_rng(scenario_stream(root, k))``, as in
    the numpy backend. The scenarios are seeded in runs whose indices have the same number of
    32-bit words (below 2**32, below 2**64, …), each run at once.
    """
    out = np.empty((4, n), dtype=np.uint64)
    start, end = first, first + n
    while start < end:
        stop = end if start < 0 else min(end, 1 << (32 * _width(start)))
        out[:, start - first : stop - first] = _run_states(root, start, stop - start)
        start = stop
    return out


def _width(k: int) -> int:
    """How many 32-bit words SeedSequence makes of the index ``k >= 0``."""
    return max(1, (k.bit_length() + 31) // 32)


def _run_states(root: np.random.SeedSequence, first: int, n: int) -> UInt64Array:
    """The states of scenarios whose indices are all as long; numpy's if the check fails."""
    pool_size = root.pool_size
    entropy = _assembled_entropy(root, first, n, pool_size)
    if entropy is not None:
        out = _srandom(_generate_state(_mix_entropy(entropy, pool_size)))
        if all(_state_of(root, first + i) == tuple(out[:, i]) for i in (0, n - 1)):
            return out
    out = np.empty((4, n), dtype=np.uint64)
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
) -> NDArray[np.uint32] | None:
    """Each scenario's SeedSequence entropy words ``(words, n)``: the run entropy (padded to the
    pool size), the root's spawn key, then the scenario's index: one or two words, as many for
    every index of the run (else ``None``)."""
    run, key = _words(root.entropy), _words(tuple(root.spawn_key))
    if run is None or key is None or first < 0 or n < 1:
        return None
    width = _width(first)
    if _width(first + n - 1) != width or width > 2:
        return None
    run += [0] * max(pool_size - len(run), 0)
    common = np.array(run + key, dtype=np.uint32)
    out = np.empty((common.size + width, n), dtype=np.uint32)
    out[: common.size] = common[:, None]
    index = np.uint64(first) + np.arange(n, dtype=np.uint64)
    out[common.size] = index & _LOW32
    if width == 2:
        out[common.size + 1] = index >> _U32
    return out


class _Hash:
    """SeedSequence's ``hashmix`` with its running constant (the same for every scenario)."""

    def __init__(self, init: int, mult: int) -> None:
        self.const, self.mult = init, mult

    def __call__(self, value: NDArray[np.uint32]) -> NDArray[np.uint32]:
        value = value ^ np.uint32(self.const)
        self.const = (self.const * self.mult) & _MASK32
        value = value * np.uint32(self.const)
        return value ^ (value >> np.uint32(_XSHIFT))


def _mix(x: NDArray[np.uint32], y: NDArray[np.uint32]) -> NDArray[np.uint32]:
    r: NDArray[np.uint32] = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
    out: NDArray[np.uint32] = r ^ (r >> np.uint32(_XSHIFT))
    return out


def _mix_entropy(entropy: NDArray[np.uint32], pool_size: int) -> NDArray[np.uint32]:
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


def _generate_state(pool: NDArray[np.uint32]) -> UInt64Array:
    """``SeedSequence.generate_state(4, np.uint64)`` for every column of ``pool``."""
    h = _Hash(_INIT_B, _MULT_B)
    words = []
    for i in range(8):
        v = pool[i % len(pool)] ^ np.uint32(h.const)
        h.const = (h.const * h.mult) & _MASK32
        v = v * np.uint32(h.const)
        words.append((v ^ (v >> np.uint32(_XSHIFT))).astype(np.uint64))
    return np.array([words[2 * i] | (words[2 * i + 1] << _U32) for i in range(4)])


def _srandom(seed: UInt64Array) -> UInt64Array:
    """PCG64's seeding from ``generate_state``'s words (initstate, initseq): the states.

    ``inc = (initseq << 1) | 1``; the state is 0 stepped (that is ``inc``), plus ``initstate``,
    stepped again.
    """
    ihi = (seed[2] << _ONE) | (seed[3] >> _U63)
    ilo = (seed[3] << _ONE) | _ONE
    lo = ilo + seed[1]
    hi = ihi + seed[0] + (lo < ilo).astype(np.uint64)
    shi, slo = pcg64_step(hi, lo, ihi, ilo)
    return np.array([shi, slo, ihi, ilo])
