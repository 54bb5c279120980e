"""Experiment designs, generated chunk by chunk: any rows ``[lo, hi)`` without the others.

The uncertainty sample has ``U`` rows; every policy (each combination of the levers' values)
runs on the same sample, so the design has ``P x U`` rows, policy-major: row ``r`` is policy
``r // U`` on sample row ``r % U``. Sizes follow SALib's documentation:

============  ===================================================================
design        sample rows ``U``
============  ===================================================================
factorial     product of each uncertainty's levels (its values, or ``levels``)
lhs           ``n`` (a Latin hypercube: each of ``n`` strata of every input once)
montecarlo    ``n``
sobol         ``n * (2D + 2)`` (Saltelli; ``n * (D + 2)`` without second order)
morris        ``n * (D + 1)`` (``n`` trajectories)
============  ===================================================================

Every generator is seeded and counter-based, so rows do not depend on the chunk size: Monte
Carlo and the jitter of the Latin hypercube draw blocks of 1,024 rows from
``SeedSequence(seed, spawn_key=(tag, block))``; the hypercube's strata come from a keyed
Feistel permutation of ``range(n)`` (no ``n``-long permutation is held); Sobol points come from
:class:`scipy.stats.qmc.Sobol` fast-forwarded to the chunk (the same points as
``SALib.sample.sobol.sample`` with the same seed); Morris trajectories from
``SALib.sample.morris.sample`` in blocks of 64 trajectories.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.stats import qmc

from simdyn._types import FloatArray, IntArray
from simdyn.sweep.spec import Sweep, Uncertainty

__all__ = ["DesignRows", "ExperimentDesign"]

_BLOCK = 1024
_MORRIS_BLOCK = 64
_TAG_MC, _TAG_LHS_KEY, _TAG_LHS_JITTER, _TAG_MORRIS = 0x5D01, 0x5D02, 0x5D03, 0x5D04
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class DesignRows:
    """Rows ``[lo, hi)`` of a design.

    Attributes
    ----------
    rows
        Row indices in the whole design.
    policy
        Policy index of each row.
    sample
        Row of the uncertainty sample.
    unit
        The sample in the unit cube, ``(rows, uncertainties)`` (what SALib's analyzers see).
    values
        The uncertainties' values, ``(rows, uncertainties)``.
    """

    rows: IntArray
    policy: IntArray
    sample: IntArray
    unit: FloatArray
    values: FloatArray


class ExperimentDesign:
    """The design of a :class:`~simdyn.sweep.spec.Sweep`: sizes, and rows on demand.

    Examples
    --------
    >>> from simdyn.sweep.spec import Design, Lever, Sweep, Uncertainty
    >>> sw = Sweep("s.toml", uncertainties=(Uncertainty("a", "a", low=0, high=1),
    ...     Uncertainty("b", "b", low=0, high=1)), levers=(Lever("l", "l", (1.0, 2.0)),),
    ...     design=Design("sobol", n=8))
    >>> d = ExperimentDesign(sw)
    >>> d.n_samples, d.n_policies, d.n_rows
    (48, 2, 96)
    >>> d.rows(40, 56).policy.tolist() == [0] * 8 + [1] * 8
    True
    """

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.uncertainties = sweep.uncertainties
        self.d = len(sweep.uncertainties)
        self.kind = sweep.design.kind
        self.seed = sweep.seed
        self.n_policies = sweep.n_policies
        self.n_samples = self._sample_size()
        self.n_rows = self.n_policies * self.n_samples

    def _sample_size(self) -> int:
        dsg = self.sweep.design
        if self.d == 0:
            return 1
        if self.kind == "factorial":
            return math.prod(len(self._levels(u)) for u in self.uncertainties)
        if self.kind == "sobol":
            return dsg.n * (2 * self.d + 2 if dsg.second_order else self.d + 2)
        if self.kind == "morris":
            return dsg.n * (self.d + 1)
        return dsg.n

    @property
    def problem(self) -> dict[str, object]:
        """The SALib problem of the unit cube the sample is drawn in."""
        return {
            "num_vars": self.d,
            "names": [u.name for u in self.uncertainties],
            "bounds": [[0.0, 1.0]] * self.d,
        }

    def policy_values(self, p: IntArray) -> list[np.ndarray]:
        """Each lever's value for policy indices ``p`` (mixed radix, first lever slowest)."""
        out = []
        rest = np.asarray(p, dtype=np.int64)
        sizes = [len(lv.values) for lv in self.sweep.levers]
        for k, lv in enumerate(self.sweep.levers):
            stride = math.prod(sizes[k + 1 :])
            out.append(np.asarray(lv.values, dtype=object)[(rest // stride) % sizes[k]])
        return out

    def rows(self, lo: int, hi: int) -> DesignRows:
        """Rows ``[lo, hi)`` of the design."""
        if not 0 <= lo <= hi <= self.n_rows:
            raise ValueError(f"rows [{lo}, {hi}) outside the design of {self.n_rows} rows")
        rows = np.arange(lo, hi, dtype=np.int64)
        policy, sample = np.divmod(rows, self.n_samples)
        unit = self._unit(sample)
        values = np.empty_like(unit)
        for j, u in enumerate(self.uncertainties):
            values[:, j] = _from_unit(u, unit[:, j], factorial=self.kind == "factorial")
        return DesignRows(rows, policy, sample, unit, values)

    # -- unit-cube samples of sample rows (not necessarily contiguous: a chunk may wrap) ---------

    def _unit(self, sample: IntArray) -> FloatArray:
        if self.d == 0 or sample.size == 0:
            return np.zeros((sample.size, self.d))
        out = np.empty((sample.size, self.d))
        # sample rows of a chunk are at most two runs of consecutive rows (policy boundary)
        cuts = np.flatnonzero(np.diff(sample) != 1) + 1
        for part in np.split(np.arange(sample.size), cuts):
            a, b = int(sample[part[0]]), int(sample[part[-1]]) + 1
            out[part] = self._unit_range(a, b)
        return out

    def _unit_range(self, a: int, b: int) -> FloatArray:
        if self.kind == "factorial":
            return self._factorial(np.arange(a, b))
        if self.kind == "montecarlo":
            return _blocks(self.seed, _TAG_MC, a, b, self.d)
        if self.kind == "lhs":
            return self._lhs(a, b)
        if self.kind == "sobol":
            return self._saltelli(a, b)
        return self._morris(a, b)

    def _levels(self, u: Uncertainty) -> FloatArray:
        if u.dist == "discrete":
            k = len(u.values)
            return (np.arange(k) + 0.5) / k
        n = u.levels or self.sweep.design.levels
        return np.linspace(0.0, 1.0, n)

    def _factorial(self, idx: IntArray) -> FloatArray:
        grids = [self._levels(u) for u in self.uncertainties]
        out = np.empty((idx.size, self.d))
        rest = idx.copy()
        for j in range(self.d - 1, -1, -1):  # last uncertainty fastest
            rest, digit = np.divmod(rest, len(grids[j]))
            out[:, j] = grids[j][digit]
        return out

    def _lhs(self, a: int, b: int) -> FloatArray:
        n = self.sweep.design.n
        idx = np.arange(a, b, dtype=np.uint64)
        jitter = _blocks(self.seed, _TAG_LHS_JITTER, a, b, self.d)
        out = np.empty((b - a, self.d))
        for j in range(self.d):
            key = np.random.SeedSequence(self.seed, spawn_key=(_TAG_LHS_KEY, j))
            keys = key.generate_state(4, np.uint64)
            stratum = _permute(idx, n, keys)
            out[:, j] = (stratum.astype(np.float64) + jitter[:, j]) / n
        return out

    def _saltelli(self, a: int, b: int) -> FloatArray:
        d = self.d
        second = self.sweep.design.second_order
        per = 2 * d + 2 if second else d + 2
        i0, i1 = a // per, -(-b // per)
        sobol = qmc.Sobol(d=2 * d, scramble=True, seed=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # balance needs powers of 2 in total
            if i0:
                sobol.fast_forward(i0)
            base = sobol.random(i1 - i0)
        A, B = base[:, :d], base[:, d:]
        blocks = [A]
        for k in range(d):  # AB_k: A with column k from B
            ab = A.copy()
            ab[:, k] = B[:, k]
            blocks.append(ab)
        if second:
            for k in range(d):  # BA_k: B with column k from A
                ba = B.copy()
                ba[:, k] = A[:, k]
                blocks.append(ba)
        blocks.append(B)
        rows = np.stack(blocks, axis=1).reshape(-1, d)  # base point-major, as SALib orders them
        return rows[a - i0 * per : b - i0 * per]

    def _morris(self, a: int, b: int) -> FloatArray:
        from SALib.sample import morris

        per = self.d + 1
        n_traj = self.sweep.design.n
        t0, t1 = a // per, -(-b // per)
        parts = []
        for blk in range(t0 // _MORRIS_BLOCK, (t1 - 1) // _MORRIS_BLOCK + 1):
            size = min(_MORRIS_BLOCK, n_traj - blk * _MORRIS_BLOCK)
            rng = np.random.default_rng(
                np.random.SeedSequence(self.seed, spawn_key=(_TAG_MORRIS, blk))
            )
            parts.append(
                morris.sample(self.problem, size, num_levels=self.sweep.design.levels, seed=rng)
            )
        rows = np.concatenate(parts)
        first = (t0 // _MORRIS_BLOCK) * _MORRIS_BLOCK * per
        return np.asarray(rows[a - first : b - first], dtype=np.float64)


def _from_unit(u: Uncertainty, x: FloatArray, *, factorial: bool) -> FloatArray:
    """Map unit-cube values to the uncertainty's distribution (inverse CDF)."""
    if u.dist == "discrete":
        k = len(u.values)
        return np.asarray(u.values)[np.minimum((x * k).astype(np.int64), k - 1)]
    lo, hi = u.low, u.high
    if u.dist == "uniform":
        return lo + x * (hi - lo)
    if u.dist == "triangular":
        assert u.mode is not None
        c = (u.mode - lo) / (hi - lo)
        return np.asarray(stats.triang.ppf(x, c, loc=lo, scale=hi - lo), dtype=np.float64)
    assert u.mean is not None
    assert u.sd is not None
    a, b = (lo - u.mean) / u.sd, (hi - u.mean) / u.sd
    out = stats.truncnorm.ppf(x, a, b, loc=u.mean, scale=u.sd)
    return np.clip(np.asarray(out, dtype=np.float64), lo, hi)


def _blocks(seed: int, tag: int, a: int, b: int, d: int) -> FloatArray:
    """Uniform numbers for rows ``[a, b)``: block ``k`` of 1,024 rows from its own stream."""
    parts = []
    for blk in range(a // _BLOCK, (b - 1) // _BLOCK + 1):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(tag, blk)))
        parts.append(rng.random((_BLOCK, d)))
    rows = np.concatenate(parts)
    first = (a // _BLOCK) * _BLOCK
    return rows[a - first : b - first]


def _mix(x: np.ndarray, key: np.uint64) -> np.ndarray:
    """A splitmix64-style hash of ``x`` under ``key``."""
    with np.errstate(over="ignore"):
        z = (x ^ key) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _permute(idx: np.ndarray, n: int, keys: np.ndarray) -> np.ndarray:
    """A keyed bijection of ``range(n)``: a balanced Feistel network with cycle walking."""
    half = max(1, math.ceil(max(n - 1, 1).bit_length() / 2))
    mask = np.uint64((1 << half) - 1)
    shift = np.uint64(half)

    def feistel(x: np.ndarray) -> np.ndarray:
        left, right = x >> shift, x & mask
        for key in keys:
            left, right = right, left ^ (_mix(right, key) & mask)
        return ((left << shift) | right) & _M64

    out = feistel(idx.astype(np.uint64))
    bad = out >= n
    while bad.any():
        out[bad] = feistel(out[bad])
        bad = out >= n
    return out
