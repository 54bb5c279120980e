"""Random events (``[events.*]``) in the compiled kernel draw numpy's numbers and give its results.

The kernel carries numpy's PCG64 for every scenario (``numba_random``), seeded from the numpy
backend's streams, and applies the events after each step as ``simulate._event_hook`` does:
the saved values and the status are the same, bit for bit, whatever the chunk size, the block
boundaries and the method, with fixed ``DELAY`` s recording after the events.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simdyn
from simdyn._rng import scenario_stream
from simdyn.model.compile import to_ir
from simdyn.model.emit.numba import kernel_source

nb = pytest.importorskip("numba")

from simdyn import _pcg64  # noqa: E402
from simdyn._pcg64 import pcg64_states  # noqa: E402
from simdyn.model.emit import numba_cache  # noqa: E402
from simdyn.model.emit.numba_random import pcg64_double, pcg64_step  # noqa: E402

METHODS = ("euler", "rk2", "rk4")

#: a scalar event and dimensioned ones; two events reset the same stock; every value is the
#: state's before any reset ("echo" reads q[a], which "turnover" resets); a hazard that depends
#: on the state; a non-negative stock; a fixed DELAY of a stock that events reset
EVENTS: dict[str, Any] = {
    "model": {"name": "compiled_events", "time_units": "day"},
    "time": {"start": 0, "stop": 6, "dt": 0.25, "save_per": 0.5},
    "dimensions": {"site": ["a", "b", "c"]},
    "constants": {
        "rate": 0.4,
        "level": 2.0,
        "hire": {"value": [0.5, 1.0, 1.5], "dims": ["site"]},
    },
    "stocks": {
        "s": {"initial": "1", "inflows": ["g"], "outflows": ["loss"], "non_negative": True},
        "q": {"initial": "hire", "inflows": ["h"], "dims": ["site"]},
    },
    "flows": {
        "g": {"equation": "0.3 * s + 0.1 * SUM(q[*])"},
        "loss": {"equation": "0.5 + 0.1 * late_s"},
        "h": {"equation": "0.2 * q - 0.05 * s", "dims": ["site"]},
    },
    "auxiliaries": {"late_s": {"equation": "DELAY(s, 1, 1)"}},
    "events": {
        "crash": {"hazard": "rate", "reset": {"s": "s * 0.5 + q[b]"}},
        "turnover": {
            "dims": ["site"],
            "hazard": "rate * q / (1 + q)",
            "reset": {"q": "hire + level * s"},
        },
        "boom": {"hazard": "rate * s", "reset": {"s": "level + 1"}},
        "echo": {"dims": ["site"], "hazard": "rate", "reset": {"q": "q[a]"}},
    },
}


def _model() -> simdyn.Model:
    return simdyn.model_from_dict(EVENTS)


def _params(n: int) -> dict[str, Any]:
    return {"rate": np.linspace(0.0, 2.0, n), "level": np.linspace(3.0, -1.0, n)}


def _same(got: Any, ref: Any) -> None:
    """Every saved value and the status identical, bit for bit."""
    assert set(got.data_vars) == set(ref.data_vars)
    for name, var in ref.data_vars.items():
        np.testing.assert_array_equal(got[name].values, var.values, err_msg=name, strict=True)


@nb.njit
def _draws(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    out = np.empty((S.shape[1], k))
    last = np.empty((2, S.shape[1]), dtype=np.uint64)
    for i in range(S.shape[1]):
        shi, slo, ihi, ilo = S[0, i], S[1, i], S[2, i], S[3, i]
        for q in range(k):
            shi, slo = pcg64_step(shi, slo, ihi, ilo)
            out[i, q] = pcg64_double(shi, slo)
        last[0, i], last[1, i] = shi, slo
    return out, last


@pytest.mark.parametrize(
    "root",
    [
        np.random.SeedSequence(0),
        np.random.SeedSequence(2**127 + 12345),
        np.random.SeedSequence([1, 2, 3], spawn_key=(4, 5)),
        *np.random.SeedSequence(99).spawn(3),
        np.random.SeedSequence(),
    ],
    ids=lambda r: str(r.spawn_key),
)
def test_pcg64_draws_numpys_numbers_for_every_scenario(root: np.random.SeedSequence) -> None:
    first, n, k = 1000, 64, 3000
    states = pcg64_states(root, first, n)
    gens = [np.random.default_rng(scenario_stream(root, first + i)) for i in range(n)]
    for i, g in enumerate(gens):
        st = g.bit_generator.state["state"]
        assert int(states[0, i]) << 64 | int(states[1, i]) == st["state"]
        assert int(states[2, i]) << 64 | int(states[3, i]) == st["inc"]
    got, last = _draws(states, k)
    want = np.stack([g.random(k) for g in gens])
    np.testing.assert_array_equal(got, want, strict=True)
    for i, g in enumerate(gens):  # and the state after the draws is numpy's
        assert int(last[0, i]) << 64 | int(last[1, i]) == g.bit_generator.state["state"]["state"]


ROOTS = [
    np.random.SeedSequence(0),
    np.random.SeedSequence(2**127 + 12345),
    np.random.SeedSequence([2**70, 3, 0, 9, 11], spawn_key=(2**40, 0)),
    np.random.SeedSequence(5, pool_size=8),
    *np.random.SeedSequence(99).spawn(2),
    np.random.SeedSequence(),
]


@pytest.mark.parametrize("root", ROOTS, ids=lambda r: f"{r.spawn_key}-{r.pool_size}")
@pytest.mark.parametrize("first", [0, 70_000, 2**32 - 3])
def test_the_seeding_of_all_scenarios_at_once_is_numpys(
    root: np.random.SeedSequence, first: int
) -> None:
    n = 40
    want = np.array([_pcg64._state_of(root, first + i) for i in range(n)], np.uint64).T
    np.testing.assert_array_equal(pcg64_states(root, first, n), want, strict=True)
    entropy = _pcg64._assembled_entropy(root, first, n, 4)
    if first + n > 2**32:  # indices of one and of two words: pcg64_states seeds two runs
        assert entropy is None
        return
    assert entropy is not None
    pools = _pcg64._mix_entropy(entropy, 4)
    for i in (0, 17, n - 1):
        np.testing.assert_array_equal(pools[:, i], scenario_stream(root, first + i).pool)
    fast = _pcg64._srandom(_pcg64._generate_state(pools))
    np.testing.assert_array_equal(fast, want, strict=True)


def test_a_numpy_that_seeds_differently_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    root = np.random.SeedSequence(8)
    want = pcg64_states(root, 3, 20)
    monkeypatch.setattr(_pcg64, "_mix_entropy", lambda e, size: e[:size] ^ np.uint32(1))
    np.testing.assert_array_equal(pcg64_states(root, 3, 20), want, strict=True)


def test_the_numpy_backend_seeds_scenario_k_with_stream_k() -> None:
    root = np.random.SeedSequence(7)
    ss = scenario_stream(root, 12)
    assert ss.entropy == root.entropy
    assert ss.spawn_key == (12,)


@pytest.mark.parametrize("method", METHODS)
def test_events_give_the_numpy_results_bit_for_bit(method: str) -> None:
    model = _model()
    n = 700  # blocks of 256, 256 and 188
    ref = simdyn.simulate(model, params=_params(n), method=method, backend="numpy", seed=11)
    got = simdyn.simulate(model, params=_params(n), method=method, backend="compiled", seed=11)
    assert got.attrs["backend"] == "compiled"
    _same(got, ref)
    # the events fire: the runs differ from one without them (hazard 0)
    assert not np.array_equal(got.s.values[:, 0], got.s.values[:, -1])


def test_results_do_not_depend_on_chunks_or_blocks() -> None:
    model = _model()
    n = 613
    ref = simdyn.simulate(model, params=_params(n), method="rk4", backend="numpy", seed=5)
    for chunk in (1, 100, 257, 613):
        got = simdyn.simulate(
            model, params=_params(n), method="rk4", backend="compiled", seed=5, chunk_size=chunk
        )
        _same(got, ref)
    # a piece of the batch run on its own, with its offset, draws the same numbers
    part = simdyn.simulate(
        model,
        params={k: v[300:] for k, v in _params(n).items()},
        method="rk4",
        backend="compiled",
        seed=5,
        scenario_offset=300,
    )
    _same(part, ref.isel(scenario=slice(300, None)).assign_coords(scenario=part.scenario))


def test_the_seed_chooses_the_streams() -> None:
    model = _model()
    kw: dict[str, Any] = {"params": _params(300), "method": "euler", "backend": "compiled"}
    a, b, c = (simdyn.simulate(model, seed=s, **kw) for s in (1, 1, 2))
    _same(a, b)
    assert not np.array_equal(a.q.values, c.q.values)
    _same(c, simdyn.simulate(model, seed=2, **{**kw, "backend": "numpy"}))
    root = np.random.SeedSequence(2)
    _same(simdyn.simulate(model, seed=root, **kw), c)


def test_a_reset_that_makes_a_state_non_finite_fails_the_scenario_as_numpy_does() -> None:
    # x overflows to inf in the step from TIME 4 (its inflow stays finite); "rescue" resets
    # it to 0 (finite again) where it fires, "poison" makes y NaN; a scenario fails at the
    # first step after which its state is non-finite once the events are applied
    model = simdyn.model_from_dict(
        {
            "model": {"name": "failing_events", "time_units": "s"},
            "time": {"start": 0, "stop": 12, "dt": 2},
            "constants": {"rescue_rate": 1.0, "poison_rate": 0.1},
            "stocks": {
                "x": {"initial": "1", "inflows": ["blow"]},
                "y": {"initial": "1", "inflows": ["drift"]},
            },
            "flows": {
                "blow": {"equation": "IF_THEN_ELSE(TIME >= 4, 1e308, 0)"},
                "drift": {"equation": "0.1"},
            },
            "events": {
                "rescue": {"hazard": "rescue_rate", "reset": {"x": "0"}},
                "poison": {"hazard": "poison_rate", "reset": {"y": "y / 0 - y / 0"}},
            },
        }
    )
    params = {"rescue_rate": [1e9, 0.0, 1.0, 1e9] * 100, "poison_rate": [0.0, 0.0, 0.0, 0.1] * 100}
    ref = simdyn.simulate(model, params=params, method="euler", backend="numpy", seed=3)
    got = simdyn.simulate(model, params=params, method="euler", backend="compiled", seed=3)
    _same(got, ref)
    status = got.status.values
    assert status[0] == 0  # always rescued
    assert status[1] == 1  # never rescued
    assert got.failed_time.values[1] == 6.0
    assert 0 < status[2::4].sum() < 100  # rescued by chance
    assert 0 < status[3::4].sum() < 100  # poisoned by chance
    assert np.isnan(got.y.values[-1, 3::4][status[3::4] == 1]).all()


def test_auto_uses_the_compiled_backend_for_a_large_event_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _model()
    # the kernel and RK2's parallel driver (more than one block) are on disk now
    simdyn.simulate(model, params=_params(300), method="rk2", seed=4, backend="compiled")
    monkeypatch.setattr(importlib.import_module("simdyn.simulate"), "AUTO_CACHED", 1000)
    big = simdyn.simulate(model, params=_params(300), method="rk2", seed=4)
    assert big.attrs["backend"] == "compiled"
    _same(big, simdyn.simulate(model, params=_params(300), method="rk2", seed=4, backend="numpy"))


def test_the_kernel_cache_key_covers_every_helper_an_event_kernel_imports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = kernel_source(to_ir(_model().spec))
    imported = {
        line.split()[1].rsplit(".", 1)[1] + ".py"
        for line in source.splitlines()
        if line.startswith("from simdyn.")
    }
    assert imported == set(numba_cache.HELPER_MODULES)
    # a change of the random-stream helpers gives the kernel another file
    here = Path(numba_cache.__file__).parent
    for name in (*numba_cache.HELPER_MODULES, *numba_cache.DRIVER_MODULES):
        shutil.copy(here / name, tmp_path / name)
    before = numba_cache.module_path(source)
    with (tmp_path / "numba_random.py").open("a") as f:
        f.write("\n# another release\n")
    numba_cache._runtime_digest.cache_clear()
    monkeypatch.setattr(numba_cache, "__file__", str(tmp_path / "numba_cache.py"))
    try:
        assert numba_cache.module_path(source) != before
    finally:
        monkeypatch.undo()
        numba_cache._runtime_digest.cache_clear()
    assert numba_cache.module_path(source) == before
