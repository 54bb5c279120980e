"""The front door: run a model over a batch of scenarios and return an ``xarray.Dataset``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import xarray as xr

from simdyn._limits import (
    check_chunk_size,
    check_run_memory,
    check_time_grid,
    estimate_run_bytes,
    resolve_budget,
)
from simdyn._rng import Seed
from simdyn._types import FloatArray, IntArray
from simdyn.errors import ScenarioError
from simdyn.integrate import FIXED_METHODS, SCIPY_METHODS, Status, integrate_fixed, integrate_scipy
from simdyn.integrate.watch import SaveWatch
from simdyn.model.compile import Bound, CompiledModel
from simdyn.model.functions import BindContext
from simdyn.model.loader import NODE_DIM, check_bounds, did_you_mean
from simdyn.model.model import Model, load_model
from simdyn.model.spec import Constant
from simdyn.network import GraphOperators, team_codes

__all__ = ["DEFAULT_CHUNK_SIZE", "TimeGrid", "simulate"]

#: Scenarios integrated together; about this many keeps temporaries in cache (see _types.py).
DEFAULT_CHUNK_SIZE = 8192
METHODS = (*FIXED_METHODS, *SCIPY_METHODS)


@dataclass(frozen=True)
class TimeGrid:
    """Start, stop, step and save interval of a run, checked for consistency."""

    start: float
    stop: float
    dt: float
    save_per: float

    def __post_init__(self) -> None:
        check_time_grid(self.start, self.stop, self.dt, self.save_per)

    @property
    def n_steps(self) -> int:
        """Number of integration steps."""
        return round((self.stop - self.start) / self.dt)

    @property
    def save_every(self) -> int:
        """Steps between saved times."""
        return max(1, round(self.save_per / self.dt))

    @property
    def times(self) -> FloatArray:
        """The saved times."""
        n_save = self.n_steps // self.save_every + 1
        return self.start + np.arange(n_save, dtype=np.float64) * (self.save_every * self.dt)


def _as_float_array(value: Any, where: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"must be a number or an array of numbers, not {value!r}", where=where
        ) from None
    if not np.all(np.isfinite(arr)):
        raise ScenarioError("must be finite (no NaN or infinity)", where=where)
    return arr


class _Params:
    """Turns ``params`` and ``presets`` into arrays laid out ``(*dims, 1 or n)``."""

    def __init__(self, cm: CompiledModel, model: Model) -> None:
        self.cm = cm
        self.model = model
        self.values: dict[str, FloatArray] = {}
        self.given: dict[str, FloatArray] = {}  # per-name arrays for coordinates
        self.preset_names: dict[str, list[str]] = {}
        self.n = 1

    def shape(self, c: Constant) -> tuple[int, ...]:
        return tuple(self.cm.dim_sizes[d] for d in self.cm.dim_order if d in c.dims)

    def grow(self, length: int, where: str) -> None:
        if length == 1:
            return
        if self.n not in (1, length):
            raise ScenarioError(
                f"has {length} values, but other inputs make {self.n} scenarios",
                where=where,
                hint="give every per-scenario input the same length",
            )
        self.n = length

    def default(self, c: Constant) -> FloatArray:
        shape = self.shape(c)
        value = np.asarray(c.value, dtype=np.float64)
        return np.broadcast_to(value, shape).reshape(*shape, 1).copy()

    def set(self, key: str, raw: Any, source: str) -> None:
        consts = self.model.constants
        name, _, element = key.partition("[")
        where = f"{source}.{key}"
        if name not in consts:
            raise ScenarioError(
                f"{name!r} is not a constant of model {self.model.name!r}",
                where=where,
                hint=did_you_mean(name, consts) or "see `simdyn show MODEL` for its constants",
            )
        c = consts[name]
        shape = self.shape(c)
        if isinstance(raw, Mapping):
            if len(c.dims) != 1 or c.dims[0] == NODE_DIM:
                raise ScenarioError(
                    "a table of element values needs a one-dimensional constant", where=where
                )
            els = self.cm.elements[c.dims[0]]
            for el in raw:
                if el not in els:
                    raise ScenarioError(
                        f"{el!r} is not an element of {c.dims[0]!r}",
                        where=where,
                        hint=did_you_mean(el, els),
                    )
            for el, v in raw.items():
                self.set(f"{name}[{el}]", v, source)
            return
        arr = _as_float_array(raw, where)
        check_bounds(
            c,
            tuple(arr.ravel().tolist()),
            lambda what, hint: ScenarioError(what, where=where, hint=hint),
        )
        current = self.values.get(name, self.default(c))
        if element:
            element = element.rstrip("]")
            if len(c.dims) != 1 or c.dims[0] == NODE_DIM:
                raise ScenarioError(f"{name!r} has no elements to pick", where=where)
            els = self.cm.elements[c.dims[0]]
            if element not in els:
                raise ScenarioError(
                    f"{element!r} is not an element of {c.dims[0]!r}",
                    where=where,
                    hint=did_you_mean(element, els),
                )
            if arr.ndim > 1:
                raise ScenarioError(
                    "an element takes a number or a 1-D array (one per scenario)", where=where
                )
            self.grow(arr.size, where)
            idx = els.index(element)
            width = max(current.shape[-1], arr.size)
            new = np.broadcast_to(current, (*current.shape[:-1], width)).copy()
            new[idx] = arr.reshape(-1)
            self.values[name] = new
            self.given[key] = arr.reshape(-1)
            return
        if not shape:
            if arr.ndim > 1:
                raise ScenarioError(
                    "a scalar constant takes a number or a 1-D array (one per scenario)",
                    where=where,
                )
            self.grow(arr.size, where)
            self.values[name] = arr.reshape(-1)
            self.given[name] = arr.reshape(-1)
            return
        # dimensioned: (*shape) shared, or (*shape, n) per scenario, or a number
        if arr.ndim == 0:
            self.values[name] = np.full((*shape, 1), float(arr))
        elif arr.shape == shape:
            self.values[name] = arr.reshape(*shape, 1)
        elif arr.ndim == len(shape) + 1 and arr.shape[:-1] == shape:
            self.grow(arr.shape[-1], where)
            self.values[name] = arr
        else:
            raise ScenarioError(
                f"has shape {arr.shape}; {name!r} needs {shape} (shared) or {(*shape, 'n')} (per scenario)",
                where=where,
            )
        self.given[name] = self.values[name]

    def apply_presets(self, presets: Mapping[str, str | Sequence[str]]) -> None:
        groups = self.model.presets
        for group, names in presets.items():
            where = f"presets.{group}"
            if group not in groups:
                raise ScenarioError(
                    f"model {self.model.name!r} has no preset group {group!r}",
                    where=where,
                    hint=did_you_mean(group, groups)
                    or (f"groups: {', '.join(groups)}" if groups else "it has no presets"),
                )
            alts = groups[group]
            seq = [names] if isinstance(names, str) else list(names)
            for nm in seq:
                if nm not in alts:
                    raise ScenarioError(
                        f"{nm!r} is not a {group} preset",
                        where=where,
                        hint=did_you_mean(str(nm), alts) or f"choose one of {', '.join(alts)}",
                    )
            self.grow(len(seq), where)
            self.preset_names[group] = seq
            keys = sorted({k for nm in seq for k in alts[nm].values})
            for k in keys:
                c = self.model.constants[k]
                cols = [np.asarray(alts[nm].values.get(k, c.value), dtype=float) for nm in seq]
                shape = self.shape(c)
                stacked = np.stack([np.broadcast_to(col, shape) for col in cols], axis=-1)
                self.values[k] = stacked
                self.given[k] = stacked

    def arrays(self) -> dict[str, FloatArray]:
        out: dict[str, FloatArray] = {}
        for name, c in self.model.constants.items():
            v = self.values.get(name)
            out[name] = v if v is not None else self.default(c)
        return out


def _chunk(arrays: Mapping[str, FloatArray], lo: int, hi: int) -> dict[str, FloatArray]:
    return {k: (v if v.shape[-1] == 1 else v[..., lo:hi]) for k, v in arrays.items()}


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
    rtol: float = 1e-6,
    atol: float = 1e-9,
    progress: Callable[[int, int], None] | None = None,
    max_memory: int | str | None = None,
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
        ``"euler"``, ``"rk2"``, ``"rk4"`` (fixed step) or a scipy method
        (``"RK45"``, ``"RK23"``, ``"DOP853"``, ``"LSODA"``, ``"BDF"``, ``"Radau"``).
    save
        Variables to keep (default: every stock, flow and auxiliary).
    chunk_size
        Scenarios integrated together (default 8192); bounds memory for large batches.
    network
        An org graph (a networkx graph or an object with a ``nodelist``) for models whose
        variables have the ``node`` dimension.
    seed
        Seed for stochastic functions; each scenario draws from its own stream, so results do
        not depend on ``chunk_size``.
    rtol, atol
        Tolerances of scipy methods.
    progress
        Called as ``progress(done, total)`` after each chunk.
    max_memory
        Memory budget in bytes (or ``"2G"``, ``"512M"``; default: what this machine has
        available). A run whose results and state are estimated to need more is refused
        before it starts; one that needs more than half of it warns.

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
    ops = _operators(network)
    teams = _teams(network, ops)
    cm = model.compile(ops.nodelist if ops is not None else None)
    tspec = model.spec.time
    t0 = float(tspec.start if start is None else start)
    t1 = float(tspec.stop if stop is None else stop)
    step = float(tspec.dt if dt is None else dt)
    sp_ = (
        save_per
        if save_per is not None
        else (tspec.save_per if tspec.save_per is not None else step)
    )
    grid = TimeGrid(t0, t1, step, float(sp_))
    method = method or tspec.method or "rk4"
    if method.lower() in FIXED_METHODS:
        method = method.lower()
    elif method not in SCIPY_METHODS:
        matches = [m for m in SCIPY_METHODS if m.lower() == method.lower()]
        if not matches:
            raise ScenarioError(
                f"unknown method {method!r}",
                where="method",
                hint=f"choose one of {', '.join(METHODS)}",
            )
        method = matches[0]

    p = _Params(cm, model)
    if presets:
        p.apply_presets(presets)
    for key, raw in (params or {}).items():
        p.set(key, raw, "params")
    n = p.n
    arrays = p.arrays()

    save_names = list(save) if save is not None else list(cm.observed)
    for nm in save_names:
        if nm not in cm.variables:
            raise ScenarioError(
                f"{nm!r} is not a stock, flow or auxiliary of {model.name!r}",
                where="save",
                hint=did_you_mean(nm, cm.variables)
                or ("constants are saved as coordinates" if nm in model.constants else None),
            )
    obs_index = [cm.observed.index(nm) for nm in save_names]
    size = check_chunk_size(chunk_size, DEFAULT_CHUNK_SIZE)
    check_run_memory(*_run_bytes(cm, save_names, grid, n, size, method), resolve_budget(max_memory))
    times = grid.times
    out = {
        nm: np.empty((len(times), *(cm.dim_sizes[d] for d in cm.variables[nm].dims), n))
        for nm in save_names
    }
    status = Status.all_ok(n)
    watch = SaveWatch(n)  # saved variables (auxiliaries, flows) that go non-finite
    if isinstance(seed, np.random.SeedSequence):
        root = seed
    elif isinstance(seed, np.random.Generator):
        root = np.random.SeedSequence(int(seed.integers(2**63)))
    else:
        root = np.random.SeedSequence(seed)
    fixed = method in FIXED_METHODS
    if cm.events and not fixed:
        raise ScenarioError(
            f"model {model.name!r} has random events ({', '.join(e.name for e in cm.events)})",
            where="method",
            hint="use a fixed-step method: euler, rk2 or rk4",
        )

    def run_chunk(lo: int, hi: int) -> Status:
        ctx = BindContext(
            n_scenarios=hi - lo,
            dim_sizes=cm.dim_sizes,
            network=ops,
            teams=teams,
            seed=root,
            scenarios=slice(lo, hi),
        )
        with np.errstate(all="ignore"):
            bound = cm.bind(
                _chunk(arrays, lo, hi),
                hi - lo,
                dt=grid.dt,
                start=grid.start,
                stop=grid.stop,
                ctx=ctx,
            )

        def on_save(k: int, t: float, y: FloatArray) -> None:
            vals = bound.observe(t, t, y)
            for nm, j in zip(save_names, obs_index, strict=True):
                out[nm][k, ..., lo:hi] = vals[j]
            watch.check(t, lo, hi, save_names, [vals[j] for j in obs_index])

        watch.reset(lo, hi)

        if fixed:
            return integrate_fixed(
                bound.rhs,
                bound.y0,
                start=grid.start,
                dt=grid.dt,
                n_steps=grid.n_steps,
                save_every=grid.save_every,
                tableau=FIXED_METHODS[method],
                on_save=on_save,
                clamp_rows=cm.nonneg_rows,
                post_step=_after_step(bound, _event_hook(cm, bound, root, lo, hi, grid.dt)),
            )
        return integrate_scipy(
            bound.rhs,
            bound.y0,
            t_eval=times,
            method=method,
            on_save=on_save,
            rtol=rtol,
            atol=atol,
            clamp_rows=cm.nonneg_rows,
            # a fixed delay reads its input from the recorded steps: keep them at most dt apart
            max_step=grid.dt if cm.has_history else np.inf,
            after_step=_after_step(bound, None),
        )

    def record(st: Status, lo: int, hi: int) -> None:
        status.ok[lo:hi] = st.ok
        status.fail_time[lo:hi] = st.fail_time
        status.fail_row[lo:hi] = st.fail_row

    for lo in range(0, n, size):
        hi = min(n, lo + size)
        st = run_chunk(lo, hi)
        if not fixed and hi - lo > 1 and not st.ok.all():
            # an adaptive solver shares one step size across the chunk: one failing scenario
            # stops them all, so solve each scenario of the chunk on its own
            for k in range(lo, hi):
                one = run_chunk(k, k + 1)
                record(one, k, k + 1)
                status.message = status.message or one.message
        else:
            record(st, lo, hi)
            status.message = status.message or st.message
        if progress is not None:
            progress(hi, n)
    watch.merge(status)
    return _to_dataset(model, cm, grid, method, out, p, status, n)


def _run_bytes(
    cm: CompiledModel, save: Sequence[str], grid: TimeGrid, n: int, chunk: int, method: str
) -> tuple[float, float]:
    """Estimated bytes of results and of working state (see :func:`estimate_run_bytes`)."""
    per_time = sum(math.prod(cm.dim_sizes[d] for d in cm.variables[nm].dims) for nm in save)
    if method in FIXED_METHODS:
        copies = FIXED_METHODS[method].stages + 4
    else:  # scipy keeps stages, dense output and, for implicit methods, Jacobian blocks
        copies = 16 + (3 * cm.n_state if method in ("BDF", "Radau", "LSODA") else 0)
    return estimate_run_bytes(
        values_per_time=per_time,
        n_times=grid.n_steps // grid.save_every + 1,
        n_scenarios=n,
        n_state=cm.n_state,
        chunk=chunk,
        copies=copies,
    )


def _operators(network: Any) -> GraphOperators | None:
    if network is None or isinstance(network, GraphOperators):
        return network
    if isinstance(network, nx.Graph):
        return GraphOperators.from_graph(network)
    raise ScenarioError(
        f"network must be a networkx graph or GraphOperators, not {type(network).__name__}",
        where="network",
    )


def _teams(network: Any, ops: GraphOperators | None) -> IntArray | None:
    """Team code per node when every node of a networkx graph has a ``team`` attribute."""
    if ops is None or not isinstance(network, nx.Graph):
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
    """Apply the model's random events after each step; scenario ``k`` draws from stream ``k``."""
    events = bound.events
    if events is None:
        return None
    gens = [
        np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k)))
        for k in range(lo, hi)
    ]

    def hook(t: float, y: FloatArray) -> None:
        for slot, (hazard, resets) in zip(cm.events, events(t, t, y), strict=True):
            size = math.prod(slot.shape)
            u = np.stack([g.random(size) for g in gens], axis=-1).reshape(*slot.shape, len(gens))
            fire = u < -np.expm1(-np.maximum(hazard, 0.0) * dt)
            for stock, value in zip(slot.resets, resets, strict=True):
                view = y[stock.start : stock.stop].reshape(*stock.shape, len(gens))
                np.copyto(view, np.broadcast_to(value, view.shape), where=fire)

    return hook


def _to_dataset(
    model: Model,
    cm: CompiledModel,
    grid: TimeGrid,
    method: str,
    out: Mapping[str, FloatArray],
    p: _Params,
    status: Status,
    n: int,
) -> xr.Dataset:
    from simdyn import __version__

    data_vars: dict[str, Any] = {}
    for nm, arr in out.items():
        info = cm.variables[nm]
        data_vars[nm] = xr.Variable(
            ("time", *info.dims, "scenario"),
            arr,
            attrs={"units": info.units, "doc": info.doc, "kind": info.kind},
        )
    failed_var = np.array(
        [
            "" if ok else (var or cm.row_owner(int(r)))
            for ok, r, var in zip(status.ok, status.fail_row, status.fail_variable, strict=True)
        ],
        dtype=object,
    )
    data_vars["status"] = xr.Variable(
        ("scenario",),
        (~status.ok).astype(np.int8),
        attrs={"doc": "0 = ok, 1 = a stock or saved variable went non-finite"},
    )
    data_vars["failed_variable"] = xr.Variable(("scenario",), failed_var.astype(str))
    data_vars["failed_time"] = xr.Variable(("scenario",), status.fail_time)
    coords: dict[str, Any] = {"time": grid.times, "scenario": np.arange(n)}
    used_dims = {d for nm in out for d in cm.variables[nm].dims}
    for d in cm.dim_order:
        if d in used_dims:
            coords[d] = list(cm.elements[d])
    for key, arr in p.given.items():
        name = key.partition("[")[0]
        c = model.constants[name]
        if key != name or not c.dims:
            coords[key] = ("scenario", np.broadcast_to(np.asarray(arr).reshape(-1), (n,)).copy())
        else:
            dims = tuple(d for d in cm.dim_order if d in c.dims)
            full = np.broadcast_to(arr, (*arr.shape[:-1], n)).copy()
            coords[key] = ((*dims, "scenario"), full)
            for d in dims:
                coords.setdefault(d, list(cm.elements[d]))
    for group, names in p.preset_names.items():
        coords[f"preset_{group}"] = ("scenario", np.array(np.broadcast_to(np.array(names), (n,))))
    attrs = {
        "simdyn_version": __version__,
        "model": model.name,
        "method": method,
        "dt": grid.dt,
        "start": grid.start,
        "stop": grid.stop,
        "save_per": grid.dt * grid.save_every,
        "time_units": model.time_units,
    }
    if status.message:
        attrs["solver_message"] = status.message
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
