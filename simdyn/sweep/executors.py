"""Where chunks run: in this process, in local worker processes, or on a dask cluster.

All executors take the same ``run(fn, job, chunks, finished)``: ``fn(job, chunk)`` runs one
chunk and writes it to the store itself, returning ``(chunk, rows, seconds)``; ``finished(rows)``
is called in this process as chunks complete, in any order.

- :class:`InProcess` (the default) runs the chunks one after the other.
- :class:`ProcessPool` runs them in ``n`` local processes (``concurrent.futures``).
- :class:`DaskExecutor` submits one task per chunk to ``dask.distributed``: a ``LocalCluster``
  of ``n`` single-threaded worker processes, or an existing scheduler's cluster. A worker that
  dies has its task rerun elsewhere (the region write is idempotent).

Local worker processes ask Linux to kill them when this process dies (``PR_SET_PDEATHSIG``),
so a sweep killed outright leaves no worker behind. Each runs its compiled kernels and its
numpy-backend chunks on one thread (``NUMBA_NUM_THREADS=1``, ``SIMDYN_THREADS=1``): the workers
are the parallelism, and a run spreading its work over every core in every worker would put
several threads on each core.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Protocol

from simdyn.errors import SimdynError

__all__ = ["DaskExecutor", "Executor", "InProcess", "ProcessPool", "make_executor"]

ChunkFn = Callable[[Any, int], tuple[int, int, float]]

#: the environment of a local worker process: one thread for compiled kernels, for the numpy
#: backend's chunks (``simdyn._limits.THREADS_ENV``) and for BLAS
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "SIMDYN_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


class Executor(Protocol):
    """Runs chunks; a context manager that releases its workers on exit."""

    def run(
        self, fn: ChunkFn, job: Any, chunks: Sequence[int], finished: Callable[[int], None]
    ) -> None:
        """Run ``fn(job, c)`` for every chunk ``c``; call ``finished(rows)`` after each."""

    def __enter__(self) -> Executor: ...

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def die_with_parent() -> None:
    """Have Linux send SIGKILL to this process when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


def _start_worker() -> None:
    """Initializer of a process-pool worker: one thread per worker, dies with the sweep."""
    os.environ.update(WORKER_ENV)
    die_with_parent()


class InProcess:
    """Run every chunk in this process, in order."""

    def run(
        self, fn: ChunkFn, job: Any, chunks: Sequence[int], finished: Callable[[int], None]
    ) -> None:
        for c in chunks:
            _, rows, _ = fn(job, c)
            finished(rows)

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class ProcessPool:
    """Run chunks in ``n`` local worker processes."""

    def __init__(self, n: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(
            max_workers=n,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )

    def run(
        self, fn: ChunkFn, job: Any, chunks: Sequence[int], finished: Callable[[int], None]
    ) -> None:
        from concurrent.futures import as_completed

        futures = [self.pool.submit(fn, job, c) for c in chunks]
        for fut in as_completed(futures):
            _, rows, _ = fut.result()
            finished(rows)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Run chunks as dask.distributed tasks: a new ``LocalCluster`` of ``n`` workers, or ``address``."""

    def __init__(self, n: int | None = None, address: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SimdynError(
                "dask is not installed", hint="pip install 'simdyn[dask]', or drop --workers"
            ) from None
        self.cluster: Any = None
        self.client: Any = None
        make_cluster: Any = LocalCluster
        make_client: Any = Client
        if address is None:
            self.cluster = make_cluster(
                n_workers=n or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
                env=WORKER_ENV,
                preload=["simdyn.sweep.executors"],  # dask_setup: die with this process
            )
            self.client = make_client(self.cluster)
        else:
            try:
                self.client = make_client(address, timeout=10)
            except (OSError, TimeoutError) as exc:
                raise SimdynError(
                    f"cannot reach the dask scheduler: {exc}",
                    where="--scheduler",
                    hint="start one with `dask scheduler` and give its tcp:// address",
                ) from None

    def run(
        self, fn: ChunkFn, job: Any, chunks: Sequence[int], finished: Callable[[int], None]
    ) -> None:
        from distributed import as_completed as completed

        as_completed: Any = completed
        token = uuid.uuid4().hex[:8]
        futures = [
            self.client.submit(fn, job, c, key=f"simdyn-chunk-{c}-{token}", pure=False)
            for c in chunks
        ]
        for fut in as_completed(futures):
            _, rows, _ = fut.result()
            finished(rows)
            fut.release()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def dask_setup(worker: Any) -> None:
    """Dask preload hook of a ``LocalCluster`` worker: die with the sweep process."""
    die_with_parent()


def make_executor(
    *, workers: int | None = None, scheduler: str | None = None, processes: bool = False
) -> Executor:
    """The executor for the command line's ``--workers N`` / ``--scheduler ADDRESS``."""
    if workers is not None and scheduler is not None:
        raise SimdynError("give --workers or --scheduler, not both", where="--workers")
    if workers is not None and workers < 1:
        raise SimdynError(f"--workers must be at least 1, not {workers}", where="--workers")
    if scheduler is not None:
        return DaskExecutor(address=scheduler)
    if workers is None:
        return InProcess()
    if processes:
        return ProcessPool(workers)
    return DaskExecutor(n=workers)
