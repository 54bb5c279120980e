"""simdyn._pcg64: numpy's PCG64 for a whole chunk at once gives every scenario numpy's numbers.

The numpy backend's random events draw with :class:`ScenarioStreams`; the compiled backend
compiles the same step and output functions. Neither needs numba here.
"""

from __future__ import annotations

import numpy as np
import pytest

import simdyn
from simdyn import _pcg64
from simdyn._pcg64 import ScenarioStreams, pcg64_double, pcg64_states, pcg64_step
from simdyn._rng import scenario_stream

ROOTS = [
    np.random.SeedSequence(0),
    np.random.SeedSequence(2**127 + 12345),
    np.random.SeedSequence([2**70, 3, 0, 9, 11], spawn_key=(2**40, 0)),
    np.random.SeedSequence(5, pool_size=8),
    *np.random.SeedSequence(99).spawn(2),
    np.random.SeedSequence(),
]


def _generators(root: np.random.SeedSequence, first: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(scenario_stream(root, first + i)) for i in range(n)]


@pytest.mark.parametrize("root", ROOTS, ids=lambda r: f"{r.spawn_key}-{r.pool_size}")
def test_stepping_the_arrays_draws_numpys_numbers(root: np.random.SeedSequence) -> None:
    first, n, k = 1000, 200, 2500
    s = pcg64_states(root, first, n)
    hi, lo = s[0], s[1]
    got = np.empty((k, n))
    for q in range(k):
        hi, lo = pcg64_step(hi, lo, s[2], s[3])
        got[q] = pcg64_double(hi, lo)
    gens = _generators(root, first, n)
    np.testing.assert_array_equal(got, np.stack([g.random(k) for g in gens], axis=-1))
    state = [g.bit_generator.state["state"]["state"] for g in gens]
    assert [int(h) << 64 | int(low) for h, low in zip(hi, lo, strict=True)] == state


@pytest.mark.parametrize(
    "first",
    [0, 2**32 - 30, 2**32, 2**33 + 7, 2**64 - 20, 2**70],
    ids=["0", "below-2^32", "2^32", "2^33", "across-2^64", "three-words"],
)
def test_streams_far_out_are_numpys(first: int) -> None:
    """Indices of one, two (seeded at once) and more words (numpy's seeding, one at a time)."""
    root, n = np.random.SeedSequence(31), 60
    streams = ScenarioStreams(root, first, n, width=5)
    got = np.concatenate([streams.draw() for _ in range(40)])
    want = np.stack([g.random(200) for g in _generators(root, first, n)], axis=-1)
    np.testing.assert_array_equal(got, want, strict=True)


@pytest.mark.parametrize(("n", "width"), [(1, 1), (3, 7), (97, 65), (9000, 2), (20, 1000)])
def test_successive_draws_are_successive_random_calls(n: int, width: int) -> None:
    """Every tile shape: rows of several lanes, one lane, a lane in column tiles."""
    root = np.random.SeedSequence(4)
    streams = ScenarioStreams(root, 17, n, width=width)
    draws = [streams.draw() for _ in range(3)]
    cols = [0, n // 2, n - 1]
    gens = [np.random.default_rng(scenario_stream(root, 17 + i)) for i in cols]
    for d in draws:
        assert d.shape == (width, n)
        np.testing.assert_array_equal(d[:, cols], np.stack([g.random(width) for g in gens], -1))


def test_a_jump_is_that_many_steps() -> None:
    for steps in (1, 2, 7, 64, 1000):
        mult, plus = _pcg64._jump(steps)
        state, inc = 12345 << 70 | 99, (2**127 + 2**64 + 5) | 1
        want = state
        for _ in range(steps):
            want = (want * _pcg64._MULT + inc) % 2**128
        assert (state * mult + inc * plus) % 2**128 == want


def test_a_numpy_that_seeds_differently_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    root = np.random.SeedSequence(8)
    want = np.array([_pcg64._state_of(root, 3 + i) for i in range(20)], np.uint64).T
    monkeypatch.setattr(_pcg64, "_mix_entropy", lambda e, size: e[:size] ^ np.uint32(1))
    np.testing.assert_array_equal(pcg64_states(root, 3, 20), want, strict=True)
    s = ScenarioStreams(root, 3, 20, width=3)
    gens = _generators(root, 3, 20)
    np.testing.assert_array_equal(s.draw(), np.stack([g.random(3) for g in gens], -1))


def test_streams_need_a_scenario_and_a_number() -> None:
    with pytest.raises(ValueError, match="width >= 1"):
        ScenarioStreams(np.random.SeedSequence(1), 0, 4, width=0)


#: two events over a dimension resetting the same stock, a scalar one between them
EVENTS = {
    "model": {"name": "numpy_events", "time_units": "day"},
    "time": {"start": 0, "stop": 5, "dt": 0.5, "save_per": 0.5},
    "dimensions": {"site": ["a", "b", "c"]},
    "constants": {"rate": 0.6},
    "stocks": {
        "q": {"initial": "1", "inflows": ["h"], "dims": ["site"]},
        "s": {"initial": "2", "inflows": ["g"]},
    },
    "flows": {"h": {"equation": "0.1 * q + 0.2", "dims": ["site"]}, "g": {"equation": "0.3"}},
    "events": {
        "drop": {"dims": ["site"], "hazard": "rate", "reset": {"q": "q / 2"}},
        "all": {"hazard": "rate / 3", "reset": {"s": "SUM(q[*])"}},
        "bump": {"dims": ["site"], "hazard": "rate * q", "reset": {"q": "q + 5"}},
    },
}


@pytest.mark.parametrize("offset", [0, 2**32 - 2])
def test_the_event_hook_draws_each_scenarios_numpy_numbers(offset: int) -> None:
    """The numpy backend's results, recomputed by hand from each scenario's numpy generator."""
    n, dt = 5, 0.5
    rate = np.linspace(0.2, 1.5, n)
    root = np.random.SeedSequence(21)
    ds = simdyn.simulate(
        simdyn.model_from_dict(EVENTS),
        params={"rate": rate},
        method="euler",
        seed=root,
        scenario_offset=offset,
        chunk_size=2,
        backend="numpy",
    )
    for k in range(n):
        g = np.random.default_rng(scenario_stream(root, offset + k))
        q, s = np.ones(3), 2.0
        for step in range(1, ds.sizes["time"]):
            q, s = q + dt * (0.1 * q + 0.2), s + dt * 0.3
            p = [-np.expm1(-h * dt) for h in (rate[k], rate[k] / 3, rate[k] * q)]
            drop, every, bump = g.random(3) < p[0], g.random(1)[0] < p[1], g.random(3) < p[2]
            q, s = np.where(bump, q + 5, np.where(drop, q / 2, q)), q.sum() if every else s
            np.testing.assert_array_equal(ds["q"].values[step, :, k], q, err_msg=f"{k} {step}")
            assert ds["s"].values[step, k] == s
