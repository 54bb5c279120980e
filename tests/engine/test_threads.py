"""The numpy backend's chunks on a thread pool: results do not depend on the number of threads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

import simdyn
from simdyn._limits import THREADS_ENV, resolve_threads
from simdyn.network import org_graph
from simdyn.simulate import DEFAULT_CHUNK_SIZE, _Run, threaded_chunk_size
from simdyn.sweep.executors import WORKER_ENV


def _noisy() -> simdyn.Model:
    """Random draws, random events and scenarios that fail (``1 / (x - 3)`` and ``x²`` growth)."""
    return simdyn.model_from_dict(
        {
            "model": {"name": "noisy", "time_units": "s"},
            "time": {"start": 0, "stop": 4, "dt": 0.125},
            "constants": {"g": {"value": 0.1}},
            "stocks": {"x": {"initial": "1", "inflows": ["grow"]}},
            "flows": {"grow": {"equation": "g * x * x + NORMAL(0, 0.1)"}},
            "auxiliaries": {"ratio": {"equation": "1 / (x - 3)"}},
            "events": {"shock": {"hazard": "0.5", "reset": {"x": "x / 2"}}},
        }
    )


def _assert_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert a.identical(b)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values)


def _runs(model: simdyn.Model, **kw: Any) -> list[xr.Dataset]:
    return [simdyn.simulate(model, backend="numpy", threads=t, **kw) for t in (1, 2, 3)]


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_thread_count_does_not_change_results_with_failures_and_random_events(
    method: str,
) -> None:
    g = np.linspace(0.0, 1.5, 3000)
    runs = _runs(_noisy(), params={"g": g}, seed=7, method=method, chunk_size=256)
    assert (runs[0]["status"] == 1).any()
    assert (runs[0]["status"] == 0).any()
    for other in runs[1:]:
        _assert_identical(runs[0], other)
    # the default chunks (smaller when threaded) give the same numbers
    default = simdyn.simulate(_noisy(), params={"g": g}, seed=7, method=method, threads=2)
    _assert_identical(runs[0], default)


def test_thread_count_does_not_change_a_network_model() -> None:
    kw = {"network": org_graph(12, seed=1), "seed": 3, "method": "euler", "chunk_size": 3}
    runs = _runs(simdyn.load_model("learning_org_network"), params={"delegation": [0.1] * 9}, **kw)
    for other in runs[1:]:
        _assert_identical(runs[0], other)


@pytest.mark.parametrize("method", ["dopri5", "RK45"])
def test_thread_count_does_not_change_adaptive_runs(method: str, make_model: Any) -> None:
    m = make_model(
        {"ratio": "1 / (x - 3)"},
        constants={"g": {"value": 0.1}},
        stocks={"x": {"initial": "1", "inflows": ["grow"]}},
        flows={"grow": {"equation": "g * x * x"}},
        time={"start": 0, "stop": 4, "dt": 0.25},
    )
    g = np.linspace(0.0, 1.5, 40)
    runs = _runs(m, params={"g": g}, method=method, chunk_size=None if method == "RK45" else 7)
    assert (runs[0]["status"] == 1).any()
    for other in runs[1:]:
        _assert_identical(runs[0], other)


def test_progress_counts_every_chunk_once_on_threads() -> None:
    seen: list[tuple[int, int]] = []
    simdyn.simulate(
        "sir",
        params={"contact_rate": np.linspace(0.2, 0.8, 1000)},
        chunk_size=64,
        threads=2,
        backend="numpy",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert len(seen) == 16  # 15 chunks of 64 and one of 40
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (1000, 1000)
    assert {t for _, t in seen} == {1000}


def test_a_failing_chunk_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    chunk = _Run.chunk

    def failing(self: Any, lo: int, hi: int, *args: Any) -> Any:
        started.append(lo)
        if lo == 0:
            raise simdyn.ModelError("boom")
        return chunk(self, lo, hi, *args)

    monkeypatch.setattr(_Run, "chunk", failing)
    with pytest.raises(simdyn.ModelError, match="boom"):
        simdyn.simulate(
            "sir",
            params={"contact_rate": np.linspace(0.2, 0.8, 2000)},
            chunk_size=10,
            threads=2,
            backend="numpy",
        )
    assert len(started) < 200  # the chunks not yet started were cancelled


def test_threads_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert resolve_threads(None) >= 1
    monkeypatch.setenv(THREADS_ENV, "1")
    assert resolve_threads(None) == 1
    assert resolve_threads(2) == 2  # an explicit number wins
    monkeypatch.setenv(THREADS_ENV, "two")
    with pytest.raises(simdyn.ScenarioError, match="SIMDYN_THREADS must be a positive whole"):
        resolve_threads(None)
    with pytest.raises(simdyn.ScenarioError, match="threads must be a positive whole number"):
        simdyn.simulate("teacup", threads=0)
    # sweep workers run their chunks on one thread: the workers are the parallelism
    assert WORKER_ENV[THREADS_ENV] == "1"


def test_threaded_chunks_give_every_thread_work() -> None:
    cm = simdyn.load_model("sir").compile()
    for n in (8192, 10_000, 50_000, 100_000, 100_001):
        size = threaded_chunk_size(n, 2, cm)
        chunks = -(-n // size)
        assert chunks % 2 == 0
        assert size <= DEFAULT_CHUNK_SIZE
        assert n - (chunks - 1) * size >= size - chunks  # no stub of a chunk at the end
    assert threaded_chunk_size(1000, 2, cm) == 1000  # too few to split
    single = threaded_chunk_size(100_001, 1, cm)
    assert -(-100_001 // single) == -(-100_001 // DEFAULT_CHUNK_SIZE)  # the fewest chunks
