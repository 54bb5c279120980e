"""numpy's default bit generator inside compiled kernels: PCG64, one stream per scenario.

numpy's :class:`~numpy.random.PCG64` (XSL-RR 128/64, not DXSM) keeps a 128-bit state and a
128-bit odd increment. A draw advances ``state = state * MULT + inc`` (mod 2**128) and outputs
``rotr64(hi ^ lo, hi >> 58)`` of the new state; ``Generator.random()`` is
``(next_uint64 >> 11) * 2**-53``. Here the 128-bit numbers are pairs of ``uint64`` (high and low
halves) and the multiply is written with 64-bit halves (the high half of a 64 × 64-bit product
from 32-bit pieces), so a kernel draws, for each scenario, exactly the numbers numpy's generator
for that scenario draws. :func:`pcg64_states` seeds them in Python from the same
:class:`~numpy.random.SeedSequence` derivation as the numpy backend
(:func:`simdyn._rng.scenario_stream`).
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
    the numpy backend.
    """
    out = np.empty((4, n), dtype=np.uint64)
    mask = (1 << 64) - 1
    for i in range(n):
        st = np.random.PCG64(scenario_stream(root, first + i)).state["state"]
        s, inc = int(st["state"]), int(st["inc"])
        out[:, i] = (s >> 64, s & mask, inc >> 64, inc & mask)
    return out
