"""The front door: load, compile, chunk, integrate and return an ``xarray.Dataset``."""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from simdyn._limits import (
    check_chunk_size,
    check_run_memory,
    estimate_run_bytes,
    resolve_budget,
    resolve_threads,
)
from simdyn._pcg64 import ScenarioStreams
from simdyn._rng import Seed
from simdyn._types import FloatArray, IntArray
from simdyn.errors import ScenarioError
from simdyn.integrate import (
    EMBEDDED_PAIRS,
    FIXED_METHODS,
    SCIPY_METHODS,
    Status,
    integrate_embedded,
    integrate_fixed,
    integrate_scipy,
)
from simdyn.integrate.watch import SaveWatch
from simdyn.model.compile import to_ir
from simdyn.model.compiled import Bound, CompiledModel
from simdyn.model.functions import BindContext
from simdyn.model.model import Model, load_model
from simdyn.model.params import Params, chunk, did_you_mean
from simdyn.model.start import START_PREFIX, start_model
from simdyn.model.timegrid import TimeGrid
from simdyn.results import to_dataset

if TYPE_CHECKING:
    from simdyn.model.emit.numba import CompiledKernel
    from simdyn.network import GraphOperators

__all__ = [
    "BACKENDS",
    "DEFAULT_CHUNK_SIZE",
    "TimeGrid",
    "default_chunk_size",
    "simulate",
    "start_state",
    "use_backend",
]

#: Scenarios integrated together by default (see :func:`default_chunk_size`).
DEFAULT_CHUNK_SIZE = 8192
#: Scenarios per call of a compiled kernel (it splits them into blocks over all cores).
COMPILED_CHUNK_SIZE = 65536
METHODS = (*FIXED_METHODS, *EMBEDDED_PAIRS, *SCIPY_METHODS)


def simulate(
    model: Model | str,
    *,
    params: Mapping[str, Any] | None = None,
    presets: Mapping[str, str | Sequence[str]] | None = None,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    save_per: float | None = None,
    method: str | None = None,
    save: Sequence[str] | None = None,
    chunk_size: int | None = None,
    network: Any = None,
    seed: Seed = None,
    scenario_offset: int = 0,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    progress: Callable[[int, int], None] | None = None,
    start_from: StartFrom | None = None,
    max_memory: int | str | None = None,
    backend: str | None = None,
    threads: int | None = None,
) -> xr.Dataset:
    """Simulate a batch of scenarios.

    Parameters
    ----------
    model
        A :class:`~simdyn.model.Model` or the name/path of one.
    params
        Constant values. A number or a 1-D array per scalar constant; arrays of length ``n``
        make ``n`` scenarios (numbers are shared). A dimensioned constant takes an array of its
        shape (shared) or with a trailing scenario axis; ``"name[element]"`` sets one element.
    presets
        Preset per group (``{"style": "facilitative"}``), or a list with one name per scenario.
        ``params`` override preset values.

    Other Parameters
    ----------------
    start, stop, dt, save_per
        Time settings (default: the model's ``[time]`` table; ``save_per`` defaults to ``dt``).
    method
        ``"euler"``, ``"rk2"``, ``"rk4"`` (fixed step), ``"dopri5"``, ``"bs23"`` (adaptive,
        each scenario with its own step size) or a scipy method (``"RK45"``, ``"RK23"``,
        ``"DOP853"``, ``"LSODA"``, ``"BDF"``, ``"Radau"``: one step size per chunk).
    save
        Variables to keep (default: every stock, flow and auxiliary).
    chunk_size
        Scenarios integrated together; bounds memory for large batches. Default: chunks of at
        most :func:`default_chunk_size` (8,192) of about the same size, more of them on several
        threads (:func:`threaded_chunk_size`).
    network
        An org graph (a networkx graph or an object with a ``nodelist``) for models whose
        variables have the ``node`` dimension.
    seed
        Seed for stochastic functions; each scenario draws from its own stream, so results do
        not depend on ``chunk_size``.
    scenario_offset
        Index of this batch's first scenario in a larger batch: scenario ``k`` draws from
        stream ``scenario_offset + k``, so a batch cut into pieces (a sweep) draws the same
        numbers as one batch.
    rtol, atol
        Tolerances of the adaptive methods.
    progress
        Called as ``progress(done, total)`` after each chunk.
    start_from
        Start every scenario from one organisation's state instead of the model's initial
        values: a style preset's name (``"directive"``: the state the model starts in with that
        preset), presets by group (``{"style": "directive"}``), or a result with one time
        selected (``ds.sel(time=24)``: its stocks, of one scenario or one per scenario).
        Styles and policies are then compared from the same start.
    max_memory
        Memory budget in bytes (or ``"2G"``, ``"512M"``; default: what this machine has
        available). A run whose results and state are estimated to need more is refused
        before it starts; one that needs more than half of it warns.
    backend
        ``"numpy"`` (generated numpy code), ``"compiled"`` (a numba kernel: the whole run in
        machine code on every core; needs ``simdyn[fast]`` and a fixed-step method
        or ``dopri5``/``bs23``) or
        ``"auto"`` (compiled when numba is installed, the model and method are supported, the
        model calls no network builtin and the batch is large enough to repay compiling; see
        ``docs/backends.md``). Default:
        the one set by :func:`use_backend` (``"auto"`` unless set).
    threads
        Threads of the numpy backend: its chunks run on a pool of this many threads (numpy
        releases the GIL inside its loops). Default: ``$SIMDYN_THREADS``, else every core this
        process may use; sweep workers set ``SIMDYN_THREADS=1``. Results do not depend on it.
        The compiled backend uses numba's threads (``NUMBA_NUM_THREADS``).

    Returns
    -------
    xarray.Dataset
        Dimensions ``time``, ``scenario`` and the saved variables' model dimensions; each
        variable laid out ``(time, *dims, scenario)``; ``status`` per scenario (0 ok, 1 failed)
        with ``failed_variable`` and ``failed_time``.

    Examples
    --------
    >>> ds = simulate("teacup", params={"characteristic_time": [5.0, 10.0]}, method="euler")
    >>> ds.teacup_temperature.sizes["scenario"]
    2
    """
    model = load_model(model) if not isinstance(model, Model) else model
    settings: dict[str, Any] = {
        "params": params,
        "presets": presets,
        "start": start,
        "stop": stop,
        "dt": dt,
        "save_per": save_per,
        "method": method,
        "save": save,
        "chunk_size": chunk_size,
        "network": network,
        "seed": seed,
        "rtol": rtol,
        "atol": atol,
        "progress": progress,
        "backend": backend,
        "max_memory": max_memory,
        "threads": threads,
    }
    if start_from is not None:
        return _simulate_from(model, start_from, scenario_offset, settings)
    return _simulate_batch(model, scenario_offset=scenario_offset, **settings)


def _simulate_from(
    model: Model, start_from: StartFrom, scenario_offset: int, settings: dict[str, Any]
) -> xr.Dataset:
    """:func:`simulate` with every scenario starting from the state ``start_from`` names."""
    where = {k: settings[k] for k in ("start", "dt", "network", "seed")}
    state = start_state(model, start_from, **where)
    model, start_values = start_model(model, state)
    params = {**start_values, **(settings["params"] or {})}
    ds = simulate(model, **{**settings, "params": params}, scenario_offset=scenario_offset)
    ds = ds.drop_vars([c for c in ds.coords if str(c).startswith(START_PREFIX)])
    ds.attrs["start_from"] = _describe_start(start_from)
    return ds


def _simulate_batch(
    model: Model,
    *,
    params: Mapping[str, Any] | None,
    presets: Mapping[str, str | Sequence[str]] | None,
    start: float | None,
    stop: float | None,
    dt: float | None,
    save_per: float | None,
    method: str | None,
    save: Sequence[str] | None,
    chunk_size: int | None,
    network: Any,
    seed: Seed,
    scenario_offset: int,
    rtol: float,
    atol: float,
    progress: Callable[[int, int], None] | None,
    max_memory: int | str | None,
    backend: str | None,
    threads: int | None,
) -> xr.Dataset:
    """:func:`simulate` of a batch from the model's own initial values."""
    ops = _operators(network)
    cm = model.compile(ops.nodelist if ops is not None else None)
    grid = TimeGrid.of(model.spec.time, start, stop, dt, save_per)
    method = _method(method or model.spec.time.method or "rk4")
    p = Params.build(cm, model, params, presets)
    save_names = _save_names(cm, model, save)
    size = check_chunk_size(chunk_size, default_chunk_size(cm, method))
    n_threads = resolve_threads(threads)
    in_flight = min(p.n, size * n_threads)  # chunks held at once by the numpy backend
    check_run_memory(
        *_run_bytes(cm, save_names, grid, p.n, in_flight, method), resolve_budget(max_memory)
    )
    run = _Run(cm, model, grid, method, p, save_names)
    ctx = {
        "network": ops,
        "teams": _teams(network, ops),
        "seed": _root_seed(seed),
        "offset": scenario_offset,
    }
    ctx["threads"] = n_threads
    status = run.integrate(backend or _BACKEND.get(), chunk_size, ctx, rtol, atol, progress)
    ds = to_dataset(model, cm, grid, method, run.out, p, status, p.n)
    ds.attrs.update(run.backend_attrs())
    return ds


StartFrom = str | Mapping[str, str] | xr.Dataset
"""What ``simulate(start_from=...)`` takes: a style preset, presets by group, or a result."""


def start_state(model: Model, start_from: StartFrom, **run: Any) -> dict[str, FloatArray]:
    """The stocks' values ``simulate(model, start_from=...)`` starts from.

    ``run`` holds the run's ``start``, ``dt``, ``network`` and ``seed`` (``None``: the model's).
    Each value is laid out ``(*dims)`` or ``(*dims, scenario)``.
    """
    if isinstance(start_from, xr.Dataset):
        return _state_of(model, start_from)
    if isinstance(start_from, str) and not model.presets.get("style"):
        raise ScenarioError(
            f"model {model.name!r} has no style presets to start from",
            where="start_from",
            hint="give presets by group ({'group': 'name'}) or a result (ds.sel(time=t))",
        )
    presets = {"style": start_from} if isinstance(start_from, str) else dict(start_from)
    t0 = float(run["start"] if run["start"] is not None else model.time.start)
    step = float(run["dt"] if run["dt"] is not None else model.time.dt)
    ds = simulate(
        model,
        presets=presets,
        start=t0,
        stop=t0 + step,
        dt=step,
        save_per=step,
        method="euler",
        save=list(model.stocks),
        network=run["network"],
        seed=run["seed"],
        backend="numpy",  # one step: not worth a kernel
    )
    return _state_of(model, ds.isel(time=0))


def _state_of(model: Model, ds: xr.Dataset) -> dict[str, FloatArray]:
    if "time" in ds.dims:
        if ds.sizes["time"] != 1:
            raise ScenarioError(
                f"the result to start from has {ds.sizes['time']} times",
                where="start_from",
                hint="select one, e.g. start_from=ds.sel(time=24)",
            )
        ds = ds.isel(time=0)
    out: dict[str, FloatArray] = {}
    for name in model.stocks:
        if name not in ds:
            raise ScenarioError(
                f"the result to start from has no stock {name!r}",
                where="start_from",
                hint="start from a run of the same model that saved every stock",
            )
        da = ds[name]
        if "scenario" in da.dims:
            da = da.transpose(*[d for d in da.dims if d != "scenario"], "scenario")
            if da.sizes["scenario"] == 1:
                da = da.isel(scenario=0)
        out[name] = np.asarray(da.values, dtype=float)
    return out


def _describe_start(start_from: StartFrom) -> str:
    if isinstance(start_from, str):
        return f"style {start_from}"
    if isinstance(start_from, xr.Dataset):
        t = start_from["time"].values if "time" in start_from.coords else None
        return "a result" + (f" at time {float(np.ravel(t)[0]):g}" if t is not None else "")
    return ", ".join(f"{g} {n}" for g, n in start_from.items())


def default_chunk_size(cm: CompiledModel, method: str = "euler") -> int:
    """Scenarios per chunk when none is given: :data:`DEFAULT_CHUNK_SIZE`, for every model and
    method.

    Measured with ``benchmarks/bench_churn.py`` (``benchmarks/RESULTS-engine.md``): since
    ``rhs`` writes into scratch arrays allocated once per chunk, 8,192 scenarios take less CPU
    than 2,048 for Euler and RK4 on ``sir``, ``workforce20`` and ``learning_org``, whose widest
    values (6 elements) no longer cause page faults; smaller chunks pay numpy's per-call
    overhead more often. ``cm`` and ``method`` are kept for callers that pass them.

    Examples
    --------
    >>> default_chunk_size(load_model("learning_org").compile(), "euler")
    8192
    """
    return DEFAULT_CHUNK_SIZE


#: fewest scenarios per chunk when chunks are made smaller to give every thread work
MIN_THREAD_CHUNK = 4096


def threaded_chunk_size(n: int, threads: int, cm: CompiledModel, method: str = "euler") -> int:
    """Scenarios per chunk of a numpy-backend run of ``n`` scenarios on ``threads`` threads.

    The fewest chunks of at most :func:`default_chunk_size` scenarios, all of about the same
    size (no chunk of a handful of scenarios at the end); on several threads, as many more as
    make their number a multiple of ``threads`` (every thread gets work), as long as each keeps
    :data:`MIN_THREAD_CHUNK` scenarios. A numpy call holds the GIL for about a microsecond of
    overhead and releases it for its loop, which takes about 0.3 ns per scenario for an
    addition: below a few thousand scenarios the overhead dominates, the threads queue for the
    GIL and a second one does not pay. Chunks of two or more scenarios give the same numbers
    whatever their size, so the thread count does not change results.

    Examples
    --------
    >>> cm = load_model("sir").compile()
    >>> threaded_chunk_size(10_000, 2, cm), threaded_chunk_size(100_000, 2, cm)
    (5000, 7143)
    >>> threaded_chunk_size(6_000, 2, cm), threaded_chunk_size(10_000, 1, cm)
    (6000, 5000)
    """
    size = default_chunk_size(cm, method)
    chunks = max(1, -(-n // size))
    if threads > 1:
        wanted = -(-chunks // threads) * threads
        chunks = max(chunks, min(wanted, n // MIN_THREAD_CHUNK))
    return max(1, -(-n // chunks))


def _run_bytes(
    cm: CompiledModel, save: Sequence[str], grid: TimeGrid, n: int, chunk: int, method: str
) -> tuple[float, float]:
    """Estimated bytes of results and of working state (see :func:`estimate_run_bytes`)."""
    per_time = sum(math.prod(cm.dim_sizes[d] for d in cm.variables[nm].dims) for nm in save)
    if method in FIXED_METHODS:
        copies = FIXED_METHODS[method].stages + 4
    else:  # scipy keeps stages, dense output and, for implicit methods, Jacobian blocks
        copies = 16 + (3 * cm.n_state if method in ("BDF", "Radau", "LSODA") else 0)
    result, working = estimate_run_bytes(
        values_per_time=per_time,
        n_times=grid.n_steps // grid.save_every + 1,
        n_scenarios=n,
        n_state=cm.n_state,
        chunk=chunk,
        copies=copies,
    )
    # random events: a state (two uint64) per event element and an increment per scenario
    lanes = 2 * (sum(math.prod(ev.shape) for ev in cm.events) + 1) if cm.events else 0
    return result, working + 8.0 * lanes * min(chunk, n)


def _method(method: str) -> str:
    """The canonical spelling of ``method`` (fixed-step names lower case, scipy's as scipy's)."""
    if method.lower() in FIXED_METHODS or method.lower() in EMBEDDED_PAIRS:
        return method.lower()
    if method in SCIPY_METHODS:
        return method
    matches = [m for m in SCIPY_METHODS if m.lower() == method.lower()]
    if not matches:
        raise ScenarioError(
            f"unknown method {method!r}", where="method", hint=f"choose one of {', '.join(METHODS)}"
        )
    return matches[0]


def _save_names(cm: CompiledModel, model: Model, save: Sequence[str] | None) -> list[str]:
    names = list(save) if save is not None else list(cm.observed)
    for nm in names:
        if nm not in cm.variables:
            raise ScenarioError(
                f"{nm!r} is not a stock, flow or auxiliary of {model.name!r}",
                where="save",
                hint=did_you_mean(nm, cm.variables)
                or ("constants are saved as coordinates" if nm in model.constants else None),
            )
    return names


def _root_seed(seed: Seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    return np.random.SeedSequence(seed)


class _Run:
    """One batch: output arrays, and the integration of its chunks into them."""

    def __init__(
        self,
        cm: CompiledModel,
        model: Model,
        grid: TimeGrid,
        method: str,
        p: Params,
        save_names: list[str],
    ) -> None:
        self.cm, self.model, self.grid, self.method = cm, model, grid, method
        self.n = p.n
        self.arrays = p.arrays()
        self.save_names = save_names
        self.obs_index = [cm.observed.index(nm) for nm in save_names]
        n_times = len(grid.times)
        self.out = {
            nm: np.empty((n_times, *(cm.dim_sizes[d] for d in cm.variables[nm].dims), self.n))
            for nm in save_names
        }
        self.fixed = method in FIXED_METHODS
        self.embedded = method in EMBEDDED_PAIRS
        self.kernel: CompiledKernel | None = None
        self.watch = SaveWatch(self.n)  # saved variables (auxiliaries, flows) that go non-finite
        # stocks are watched by the integrators themselves (their state rows)
        self.watched = [nm for nm in save_names if cm.variables[nm].kind != "stock"]
        self.watched_set = set(self.watched)
        if cm.events and not self.fixed:
            raise ScenarioError(
                f"model {model.name!r} has random events ({', '.join(e.name for e in cm.events)}),"
                f" which {method} does not run (in either backend)",
                where="method",
                hint="use a fixed-step method: euler, rk2 or rk4",
            )
        if self.embedded and cm.has_history:
            raise ScenarioError(
                f"model {model.name!r} has a fixed DELAY, which {method} does not run (in either"
                " backend): its history needs one time for the whole batch",
                where="method",
                hint="use a fixed-step method or a scipy method such as RK45",
            )

    def integrate(
        self,
        backend: str,
        chunk_size: int | None,
        ctx: Mapping[str, Any],
        rtol: float,
        atol: float,
        progress: Callable[[int, int], None] | None,
    ) -> Status:
        """Integrate the batch with ``backend``'s choice of kernel; each scenario's status."""
        ops = ctx["network"]
        work = self.n * self.grid.n_steps
        self.kernel = _choose_backend(backend, self.model, ops, self.method, work)
        numpy_chunk = self.numpy_chunk_size(chunk_size, ctx["threads"])
        if self.kernel is not None:
            size = max(1, int(chunk_size or COMPILED_CHUNK_SIZE))
            if self.embedded:
                # the solver message is that of the numpy backend's chunks
                return self.compiled_adaptive(self.kernel, size, progress, rtol, atol, numpy_chunk)
            graph = self.kernel.graph_arrays(ops, ctx["teams"])  # the network, as data
            return self.compiled(self.kernel, size, ctx, progress, graph)
        return self.all(numpy_chunk, ctx, rtol, atol, progress)

    def numpy_chunk_size(self, chunk_size: int | None, threads: int) -> int:
        """Scenarios per chunk of the numpy backend: ``chunk_size``, or the default for the
        method and the thread count (a scipy method's step size is shared by a chunk: its
        chunks are not cut smaller for threads)."""
        if chunk_size:
            return max(1, int(chunk_size))
        if self.fixed or self.embedded:
            return threaded_chunk_size(self.n, threads, self.cm, self.method)
        return default_chunk_size(self.cm, self.method)

    def backend_attrs(self) -> dict[str, Any]:
        """The dataset attributes saying which backend ran (and how its kernel was had)."""
        if self.kernel is None:
            return {"backend": "numpy"}
        return {
            "backend": "compiled",
            "compile_seconds": self.kernel.compile_seconds,
            "kernel_from_cache": int(self.kernel.from_cache),
        }

    def all(
        self,
        size: int,
        ctx: Mapping[str, Any],
        rtol: float,
        atol: float,
        progress: Callable[[int, int], None] | None,
    ) -> Status:
        """Integrate every chunk of ``size`` scenarios, on ``ctx["threads"]`` threads; the
        status of each scenario (recorded in chunk order, whichever chunk finishes first)."""
        n = self.n
        status = Status.all_ok(n)
        if self.embedded:
            status.steps = np.zeros(n, dtype=np.int64)
        bounds = [(lo, min(n, lo + size)) for lo in range(0, n, size)]
        results: dict[int, list[tuple[Status, int, int]]] = {}
        done = 0

        def finished(lo: int, hi: int, got: list[tuple[Status, int, int]]) -> None:
            nonlocal done
            results[lo] = got
            done += hi - lo
            if progress is not None:
                progress(done, n)

        threads = min(int(ctx["threads"]), len(bounds))
        if threads <= 1:
            for lo, hi in bounds:
                finished(lo, hi, self.solve(lo, hi, ctx, rtol, atol))
        else:
            self.pooled(bounds, threads, ctx, rtol, atol, finished)
        for lo, _ in bounds:
            for st, a, b in results[lo]:
                if status.steps is not None and st.steps is not None:
                    status.steps[a:b] = st.steps
                status.ok[a:b] = st.ok
                status.fail_time[a:b] = st.fail_time
                status.fail_row[a:b] = st.fail_row
                status.message = status.message or st.message
        self.watch.merge(status)
        return status

    def pooled(
        self,
        bounds: list[tuple[int, int]],
        threads: int,
        ctx: Mapping[str, Any],
        rtol: float,
        atol: float,
        finished: Callable[[int, int, list[tuple[Status, int, int]]], None],
    ) -> None:
        """Solve the chunks ``bounds`` on ``threads`` threads, each with its own bound model.

        Chunks write disjoint columns of the output arrays. The first chunk that raises stops
        the run: chunks not yet started are cancelled and the error is raised here.
        """
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="simdyn-chunk")
        pending: dict[Future[list[tuple[Status, int, int]]], tuple[int, int]] = {}
        try:
            for lo, hi in bounds:
                pending[pool.submit(self.solve, lo, hi, ctx, rtol, atol)] = (lo, hi)
            while pending:
                ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in ready:
                    lo, hi = pending.pop(fut)
                    finished(lo, hi, fut.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def solve(
        self, lo: int, hi: int, ctx: Mapping[str, Any], rtol: float, atol: float
    ) -> list[tuple[Status, int, int]]:
        """Integrate scenarios ``lo:hi``: their statuses, with the scenarios each covers."""
        st = self.chunk(lo, hi, ctx, rtol, atol)
        if not self.fixed and not self.embedded and hi - lo > 1 and not st.ok.all():
            # an adaptive solver shares one step size across the chunk: one failing scenario
            # stops them all, so solve each scenario of the chunk on its own
            return [(self.chunk(k, k + 1, ctx, rtol, atol), k, k + 1) for k in range(lo, hi)]
        return [(st, lo, hi)]

    def chunk(self, lo: int, hi: int, ctx: Mapping[str, Any], rtol: float, atol: float) -> Status:
        """Integrate scenarios ``lo:hi`` and store their saved values."""
        cm, grid, root = self.cm, self.grid, ctx["seed"]
        scenario_offset: int = ctx["offset"]
        bind_ctx = BindContext(
            n_scenarios=hi - lo,
            dim_sizes=cm.dim_sizes,
            network=ctx["network"],
            teams=ctx["teams"],
            seed=root,
            scenarios=slice(lo + scenario_offset, hi + scenario_offset),
        )
        with np.errstate(all="ignore"):
            bound = cm.bind(
                chunk(self.arrays, lo, hi),
                hi - lo,
                dt=grid.dt,
                start=grid.start,
                stop=grid.stop,
                ctx=bind_ctx,
            )

        on_save = self.saver(bound, lo, hi)
        self.watch.reset(lo, hi)
        if self.fixed:
            return integrate_fixed(
                bound.rhs,
                bound.y0,
                start=grid.start,
                dt=grid.dt,
                n_steps=grid.n_steps,
                save_every=grid.save_every,
                tableau=FIXED_METHODS[self.method],
                on_save=on_save,
                clamp_rows=cm.nonneg_rows,
                post_step=_after_step(
                    bound,
                    _event_hook(
                        cm, bound, root, lo + scenario_offset, hi + scenario_offset, grid.dt
                    ),
                ),
            )
        if self.embedded:
            return integrate_embedded(
                bound.rhs,
                bound.y0,
                t_eval=grid.times,
                pair=EMBEDDED_PAIRS[self.method],
                on_save=on_save,
                rtol=rtol,
                atol=atol,
                clamp_rows=cm.nonneg_rows,
            )
        return integrate_scipy(
            bound.rhs,
            bound.y0,
            t_eval=grid.times,
            method=self.method,
            on_save=on_save,
            rtol=rtol,
            atol=atol,
            clamp_rows=cm.nonneg_rows,
            # a fixed delay reads its input from the recorded steps: keep them at most dt apart
            max_step=grid.dt if cm.has_history else np.inf,
            after_step=_after_step(bound, None),
        )

    def saver(self, bound: Bound, lo: int, hi: int) -> Callable[[int, float, FloatArray], None]:
        """The ``on_save`` of chunk ``lo:hi``: its saved values into the result arrays, and
        the non-finite ones into the save watch."""
        into = bound.observe_into
        slots: list[str | None] = [None] * len(self.cm.observed)  # the saved name of each value
        for nm, j in zip(self.save_names, self.obs_index, strict=True):
            slots[j] = nm

        def on_save(k: int, t: float, y: FloatArray) -> None:
            if into is not None:  # straight into the results, through scratch arrays
                into(t, t, y, [None if nm is None else self.out[nm][k, ..., lo:hi] for nm in slots])
                watched = [self.out[nm][k, ..., lo:hi] for nm in self.watched]
                self.watch.check(t, lo, hi, self.watched, watched)
                return
            vals = bound.observe(t, t, y)
            for nm, j in zip(self.save_names, self.obs_index, strict=True):
                self.out[nm][k, ..., lo:hi] = vals[j]
            watched = [
                vals[j]
                for nm, j in zip(self.save_names, self.obs_index, strict=True)
                if nm in self.watched_set
            ]
            self.watch.check(t, lo, hi, self.watched, watched)

        return on_save

    def compiled(
        self,
        kernel: CompiledKernel,
        size: int,
        ctx: Mapping[str, Any],
        progress: Callable[[int, int], None] | None,
        graph: tuple[IntArray, FloatArray] | None = None,
    ) -> Status:
        """Integrate every chunk with ``kernel``; ``out`` becomes views of the kernel's output.

        ``graph``: the arrays of the run's network (:meth:`CompiledKernel.graph_arrays`)."""
        n, grid = self.n, self.grid
        status = Status.all_ok(n)
        save = list(self.out)
        saved = np.empty((len(grid.times), kernel.saved_rows(save), n))
        nonfinite = np.zeros(n, dtype=np.int64)
        for lo in range(0, n, size):
            hi = min(n, lo + size)
            _, st = kernel.simulate(
                chunk(self.arrays, lo, hi),
                hi - lo,
                tableau=FIXED_METHODS[self.method],
                start=grid.start,
                stop=grid.stop,
                dt=grid.dt,
                n_steps=grid.n_steps,
                save_every=grid.save_every,
                save=save,
                out=saved,
                col=lo,
                nonfinite=nonfinite,
                seed=ctx["seed"],
                first=lo + ctx["offset"],
                graph=graph,
            )
            status.ok[lo:hi] = st.ok
            status.fail_time[lo:hi] = st.fail_time
            status.fail_row[lo:hi] = st.fail_row
            if progress is not None:
                progress(hi, n)
        self.adopt(saved, nonfinite, status)
        return status

    def compiled_adaptive(
        self,
        kernel: CompiledKernel,
        size: int,
        progress: Callable[[int, int], None] | None,
        rtol: float,
        atol: float,
        numpy_chunk: int,
    ) -> Status:
        """:meth:`compiled` with ``kernel``'s adaptive driver (``dopri5``, ``bs23``); the
        solver message is the one the numpy backend gives in chunks of ``numpy_chunk``."""
        from simdyn.model.emit.numba_adaptive import failure_message, simulate_adaptive

        n, grid = self.n, self.grid
        status = Status.all_ok(n)
        saved = np.empty((len(grid.times), kernel.saved_rows(list(self.out)), n))
        nonfinite = np.zeros(n, dtype=np.int64)
        steps = status.steps = np.zeros(n, dtype=np.int64)
        info = np.full((n, 2), -1, dtype=np.int64)
        fail_t = np.full(n, np.nan)
        for lo in range(0, n, size):
            hi = min(n, lo + size)
            _, st, info[lo:hi], fail_t[lo:hi] = simulate_adaptive(
                kernel,
                chunk(self.arrays, lo, hi),
                hi - lo,
                pair=EMBEDDED_PAIRS[self.method],
                t_eval=grid.times,
                rtol=rtol,
                atol=atol,
                dt=grid.dt,
                save=list(self.out),
                out=saved,
                col=lo,
                nonfinite=nonfinite,
            )
            assert st.steps is not None
            steps[lo:hi] = st.steps
            status.ok[lo:hi] = st.ok
            status.fail_time[lo:hi] = st.fail_time
            status.fail_row[lo:hi] = st.fail_row
            if progress is not None:
                progress(hi, n)
        status.message = failure_message(info, fail_t, numpy_chunk)
        self.adopt(saved, nonfinite, status)
        return status

    def adopt(self, saved: FloatArray, nonfinite: IntArray, status: Status) -> None:
        """``out`` as views of a kernel's output; saved variables that went non-finite."""
        grid, save = self.grid, list(self.out)
        offset = 0
        for nm in save:
            shape = self.out[nm].shape
            rows = math.prod(shape[1:-1])
            self.out[nm] = saved[:, offset : offset + rows].reshape(shape)
            offset += rows
        from simdyn.model.emit.numba import first_nonfinite

        cols = np.flatnonzero(nonfinite)  # scenarios with a non-finite saved value
        self.watch.time[cols], self.watch.variable[cols] = first_nonfinite(
            self.out, self.watched, grid.times, cols
        )
        self.watch.merge(status)


#: scenario-steps above which ``backend="auto"`` compiles a model whose kernel is on disk
AUTO_CACHED = 2_000_000
#: ... and above which it compiles one from scratch (tens of seconds of compiling)
AUTO_UNCACHED = 300_000_000
BACKENDS = ("auto", "numpy", "compiled")
_BACKEND: contextvars.ContextVar[str] = contextvars.ContextVar("simdyn_backend", default="auto")


@contextlib.contextmanager
def use_backend(backend: str) -> Iterator[None]:
    """Within the ``with`` block, :func:`simulate` runs with ``backend`` unless told otherwise.

    This is how ``--backend`` on the command line reaches the runs a scenario file makes.

    Examples
    --------
    >>> with use_backend("numpy"):
    ...     ds = simulate("teacup", stop=1)
    >>> ds.attrs["backend"]
    'numpy'
    """
    _check_backend(backend)
    token = _BACKEND.set(backend)
    try:
        yield
    finally:
        _BACKEND.reset(token)


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ScenarioError(
            f"unknown backend {backend!r}",
            where="backend",
            hint=f"choose one of {', '.join(BACKENDS)}",
        )


def _choose_backend(
    backend: str, model: Model, ops: GraphOperators | None, method: str, work: int
) -> CompiledKernel | None:
    """The kernel to run with, or ``None`` for the numpy backend."""
    _check_backend(backend)
    nodelist = ops.nodelist if ops is not None else None
    if backend == "numpy":
        return None
    compiled_methods = (*FIXED_METHODS, *EMBEDDED_PAIRS)
    if backend == "compiled":
        if method not in compiled_methods:
            raise ScenarioError(
                f"the compiled backend runs fixed-step methods and dopri5/bs23, not {method!r}",
                where="backend",
                hint=f'use method {", ".join(compiled_methods)}, or backend="numpy"',
            )
        kernel = model.kernel(nodelist)
        if method in EMBEDDED_PAIRS and kernel.graph is not None:
            raise ScenarioError(
                f"the compiled backend's {method} does not run network builtins",
                where="backend",
                hint=f'use backend="numpy" with {method}, or a fixed-step method',
            )
        return kernel
    from simdyn.model.emit.numba_cache import is_cached, kernels_available

    if method not in compiled_methods or work < AUTO_CACHED or not kernels_available():
        return None
    from simdyn.model.emit.numba import UnsupportedByCompiled, kernel_source

    program = to_ir(model.spec, nodelist=nodelist)
    if program.functions:
        # network builtins run compiled when asked for, but the kernel's unrolled node-level
        # code is slower than numpy's node arrays (docs/backends.md): auto keeps numpy
        return None
    try:
        source = kernel_source(program)
    except UnsupportedByCompiled:
        return None
    driver = f"run_{FIXED_METHODS[method].name}" if method in FIXED_METHODS else f"run_{method}"
    if work < AUTO_UNCACHED and not is_cached(source, driver):
        return None
    return model.kernel(nodelist)


def _operators(network: Any) -> GraphOperators | None:
    if network is None:
        return None
    import networkx as nx

    from simdyn.network import GraphOperators

    if isinstance(network, GraphOperators):
        return network

    if isinstance(network, nx.Graph):
        return GraphOperators.from_graph(network)
    raise ScenarioError(
        f"network must be a networkx graph or GraphOperators, not {type(network).__name__}",
        where="network",
    )


def _teams(network: Any, ops: GraphOperators | None) -> IntArray | None:
    """Team code per node when every node of a networkx graph has a ``team`` attribute."""
    if ops is None:
        return None
    import networkx as nx

    from simdyn.network import team_codes

    if not isinstance(network, nx.Graph):
        return None
    if not all("team" in data for _, data in network.nodes(data=True)):
        return None
    codes, _labels = team_codes(network, nodelist=ops.nodelist)
    return codes


def _after_step(
    bound: Bound, events: Callable[[float, FloatArray], None] | None
) -> Callable[[float, FloatArray], None] | None:
    """After each accepted step: apply random events, then record the inputs of fixed delays."""
    record = bound.record
    if events is None and record is None:
        return None

    def hook(t: float, y: FloatArray) -> None:
        if events is not None:
            events(t, y)
        if record is not None:
            record(t, t, y)

    return hook


def _event_hook(
    cm: CompiledModel, bound: Bound, root: np.random.SeedSequence, lo: int, hi: int, dt: float
) -> Callable[[float, FloatArray], None] | None:
    """Apply the model's random events after each step; scenario ``k`` draws from stream ``k``.

    Each step draws, for every scenario, one number per event element (per event in model
    order, elements in order): the numbers ``np.random.default_rng(scenario_stream(root, k))``
    gives, drawn for the whole chunk at once (:class:`simdyn._pcg64.ScenarioStreams`).
    """
    events = bound.events
    if events is None or not cm.events:
        return None
    n = hi - lo
    sizes = [math.prod(slot.shape) for slot in cm.events]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    streams = ScenarioStreams(root, lo, n, width=sum(sizes))

    def hook(t: float, y: FloatArray) -> None:
        u_all = streams.draw()
        for slot, start, size, (hazard, resets) in zip(
            cm.events, starts, sizes, events(t, t, y), strict=True
        ):
            u = u_all[start : start + size].reshape(*slot.shape, n)
            fire = u < -np.expm1(-np.maximum(hazard, 0.0) * dt)
            for stock, value in zip(slot.resets, resets, strict=True):
                view = y[stock.start : stock.stop].reshape(*stock.shape, n)
                np.copyto(view, np.broadcast_to(value, view.shape), where=fire)

    return hook
