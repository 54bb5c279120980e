"""Evaluate single equations of a model on saved values, with chosen inputs swapped.

The loop analysis needs a variable's equation evaluated with some inputs at one time and the
others at another (Loops that Matter's *ceteris paribus* changes), or with one input nudged
(the sign of a partial derivative). :class:`EquationEvaluator` lowers each equation with the
model's own numpy emitter (:mod:`simdyn.model.emit.numpy_expr`) — the same code the simulation runs —
and evaluates it on arrays laid out ``(*dims, n)``, where ``n`` columns stand for any mix of
times and scenarios.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any

import numpy as np

from simdyn._types import FloatArray
from simdyn.errors import ModelError
from simdyn.expr import STATEFUL, BinOp, Call, If, Name, Node, Subscript, UnaryOp, walk
from simdyn.model import runtime
from simdyn.model.causal import equation_trees
from simdyn.model.compile import CompiledModel
from simdyn.model.emit.numpy_expr import Code, Emitter, Symbol
from simdyn.model.functions import FUNCTIONS

__all__ = ["EquationEvaluator", "constant_columns", "partial_signs", "run_columns"]


@dataclass(frozen=True)
class _Compiled:
    codes: tuple[CodeType, ...]  # one per element for per-element equations
    code_dims: tuple[tuple[str, ...], ...]
    dims: tuple[str, ...]
    inputs: tuple[str, ...]
    inits: tuple[tuple[str, Node], ...]  # INIT(x) replaced by a name, and x


class EquationEvaluator:
    """Evaluates the flows and auxiliaries of a compiled model on given values.

    Parameters
    ----------
    cm
        The compiled model (its dimensions and variables).

    Notes
    -----
    ``INIT(x)`` is evaluated from the values at the first time given to :meth:`set_initial`.
    Other smooths and delays keep hidden stocks that a saved run does not hold, so equations
    that contain them cannot be evaluated here.
    """

    def __init__(self, cm: CompiledModel) -> None:
        self.cm = cm
        spec = cm.spec
        symbols: dict[str, Symbol] = {}
        for c in spec.constants.values():
            dims = tuple(d for d in cm.dim_order if d in c.dims)
            symbols[c.name] = Symbol(f"p_{c.name}", dims, "constant")
        for lk in spec.lookups:
            symbols[lk] = Symbol(f"L_{lk}", (), "lookup")
        for v in cm.variables.values():
            symbols[v.name] = Symbol(f"v_{v.name}", v.dims, v.kind)
        self.symbols = symbols
        self.lookups = {n: (f"L_{n}_x", f"L_{n}_y") for n in spec.lookups}
        self.namespace: dict[str, Any] = {"np": np, "_rt": runtime}
        for table in spec.lookups.values():
            self.namespace[f"L_{table.name}_x"] = np.asarray(table.xs, dtype=float)
            self.namespace[f"L_{table.name}_y"] = np.asarray(table.ys, dtype=float)
        self._compiled: dict[str, _Compiled] = {}
        self.init_values: dict[str, FloatArray] = {}

    def _emitter(self, extra: Mapping[str, Symbol]) -> Emitter:
        return Emitter(self.cm.dim_order, self.cm.elements, {**self.symbols, **extra}, self.lookups)

    def _lower(self, name: str) -> _Compiled:
        spec = self.cm.spec
        var = spec.flows.get(name) or spec.auxiliaries.get(name)
        if var is None:
            raise KeyError(name)
        trees = equation_trees(var.equation)
        inits: list[tuple[str, Node]] = []
        lowered = [self._replace_inits(t, name, inits) for t in trees]
        extra: dict[str, Symbol] = {}
        em = self._emitter(extra)
        for key, arg in inits:
            extra[key] = Symbol(f"c_{key}", em.emit(arg).dims, "init")
        em = self._emitter(extra)
        codes, code_dims = [], []
        for t in lowered:
            c: Code = em.emit(t)
            codes.append(compile(c.text, f"<simdyn equation {name}>", "eval"))
            code_dims.append(c.dims)
        inputs = sorted(
            {
                n.name
                for t in lowered
                for n in walk(t)
                if isinstance(n, Name | Subscript) and n.name in self.cm.variables
            }
        )
        return _Compiled(
            tuple(codes),
            tuple(code_dims),
            self.cm.variables[name].dims,
            tuple(inputs),
            tuple(inits),
        )

    def _replace_inits(self, node: Node, owner: str, inits: list[tuple[str, Node]]) -> Node:
        if isinstance(node, Call):
            upper = node.func.upper()
            if upper == "INIT":
                key = f"_init{len(inits) + 1}_{owner}"
                inits.append((key, node.args[0]))
                return Name(key, node.col)
            if upper in FUNCTIONS:
                table = "flows" if owner in self.cm.spec.flows else "auxiliaries"
                raise ModelError(
                    f"{owner!r} calls {upper}, an extension function, which loop analysis cannot "
                    "re-evaluate (a random draw would be drawn anew)",
                    file=self.cm.spec.source,
                    line=self.cm.spec.line_of(table, owner),
                    where=f"{table}.{owner}",
                    hint=f"give the {upper} call an auxiliary of its own, whose inputs are constants: "
                    "its saved values are then read as they are",
                )
            if upper in STATEFUL:
                table = "flows" if owner in self.cm.spec.flows else "auxiliaries"
                raise ModelError(
                    f"{owner!r} uses {upper}, whose hidden stocks a saved run does not hold",
                    file=self.cm.spec.source,
                    line=self.cm.spec.line_of(table, owner),
                    where=f"{table}.{owner}",
                    hint="simulate without save= so that the run holds every auxiliary",
                )
            args = tuple(self._replace_inits(a, owner, inits) for a in node.args)
            return Call(node.func, args, node.col)
        if isinstance(node, BinOp):
            return BinOp(
                node.op,
                self._replace_inits(node.left, owner, inits),
                self._replace_inits(node.right, owner, inits),
                node.col,
            )
        if isinstance(node, UnaryOp):
            return UnaryOp(node.op, self._replace_inits(node.operand, owner, inits), node.col)
        if isinstance(node, If):
            return If(
                self._replace_inits(node.cond, owner, inits),
                self._replace_inits(node.then, owner, inits),
                self._replace_inits(node.otherwise, owner, inits),
                node.col,
            )
        return node

    def compiled(self, name: str) -> _Compiled:
        c = self._compiled.get(name)
        if c is None:
            c = self._compiled[name] = self._lower(name)
        return c

    def inputs(self, name: str) -> tuple[str, ...]:
        """The stocks, flows and auxiliaries ``name``'s equation reads."""
        return self.compiled(name).inputs

    def set_initial(
        self, values: Mapping[str, FloatArray], time: FloatArray, **settings: float
    ) -> None:
        """Evaluate every ``INIT(x)`` from ``values`` at the start of the run."""
        for name in [*self.cm.spec.flows, *self.cm.spec.auxiliaries]:
            try:
                inits = self.compiled(name).inits
            except ModelError:
                continue  # a smooth or delay; evaluating it raises the error
            for key, arg in inits:
                em = self._emitter({})
                c = em.emit(arg)
                code = compile(c.text, f"<simdyn INIT in {name}>", "eval")
                self.init_values[key] = self._run(code, values, time, settings)

    def _run(
        self,
        code: CodeType,
        values: Mapping[str, FloatArray],
        time: FloatArray,
        settings: Mapping[str, float],
    ) -> Any:
        ns = dict(self.namespace)
        ns.update({f"v_{k}": v for k, v in values.items() if k in self.cm.variables})
        ns.update({f"p_{k}": v for k, v in values.items() if k in self.cm.spec.constants})
        ns.update({f"c_{k}": v for k, v in self.init_values.items()})
        ns.update(
            t=time,
            ts=time,
            _DT=settings.get("dt", 1.0),
            _START=settings.get("start", 0.0),
            _STOP=settings.get("stop", 0.0),
        )
        with np.errstate(all="ignore"):
            return eval(code, ns)

    def __call__(
        self,
        name: str,
        values: Mapping[str, FloatArray],
        time: FloatArray,
        **settings: float,
    ) -> FloatArray:
        """``name``'s equation evaluated on ``values``, laid out ``(*dims, n)``.

        ``values`` holds every input (variables and constants) as arrays ``(*dims, n)`` (or
        ``(*dims, 1)`` for shared constants); ``time`` is ``(n,)``; ``settings`` gives ``dt``,
        ``start`` and ``stop``.
        """
        c = self.compiled(name)
        n = time.shape[-1]
        shape = (*(self.cm.dim_sizes[d] for d in c.dims), n)
        uniflow = name in self.cm.spec.flows and self.cm.spec.flows[name].non_negative
        outs = []
        for code, dims in zip(c.codes, c.code_dims, strict=True):
            raw = np.asarray(self._run(code, values, time, settings), dtype=float)
            if uniflow:
                raw = np.maximum(raw, 0.0)
            if len(c.codes) > 1:
                outs.append(np.broadcast_to(raw, (n,)))
                continue
            if dims != c.dims and dims:
                idx = tuple(slice(None) if d in dims else None for d in c.dims)
                raw = raw[(*idx, slice(None))]
            outs.append(np.broadcast_to(raw, shape))
        return np.stack(outs) if len(c.codes) > 1 else outs[0]


def run_columns(ds: Any, cm: CompiledModel) -> tuple[dict[str, FloatArray], FloatArray, int]:
    """A run's values as columns: ``(*dims, n_time * n_scenarios)``, time-major.

    Returns the variables and constants by name, the time of each column and the number of
    scenarios. Constants come from the run's coordinates where a scenario set them, else
    from the model; stocks and flows must have been saved, auxiliaries that were not are
    evaluated from the others.
    """
    times = np.asarray(ds["time"].values, dtype=float)
    n_s = int(ds.sizes["scenario"])
    n_t = len(times)
    missing = [
        v
        for v, info in cm.variables.items()
        if v not in ds.data_vars and (info.kind != "auxiliary" or _reads_init(cm, v))
    ]
    if missing:
        raise ModelError(
            f"the run does not hold {', '.join(repr(m) for m in missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
            where="run",
            hint="loop analysis needs every stock, flow and auxiliary: simulate without save=",
        )
    cols: dict[str, FloatArray] = {}
    for name, info in cm.variables.items():
        if name not in ds.data_vars:
            continue
        var = ds.variables[name]  # the bare variable: transposing it skips the coordinates
        arr = np.asarray(var.transpose("time", *info.dims, "scenario").values, dtype=float)
        cols[name] = np.moveaxis(arr, 0, -2).reshape(*arr.shape[1:-1], n_t * n_s)
    cols.update(constant_columns(ds, cm, n_t))
    time = np.repeat(times, n_s)
    _fill(cm, cols, time, {k: float(ds.attrs[k]) for k in ("dt", "start", "stop") if k in ds.attrs})
    return cols, time, n_s


def constant_columns(ds: Any, cm: CompiledModel, n_t: int = 1) -> dict[str, FloatArray]:
    """The constants of a run, laid out ``(*dims, 1)`` where shared, else ``(*dims, n_t * n_s)``.

    A scenario's value comes from the run's coordinates (``name`` or ``name[element]``), the
    others from the model; ``n_t`` repeats the scenarios' columns for that many times.
    """
    spec = cm.spec
    n_s = int(ds.sizes["scenario"])
    cols: dict[str, FloatArray] = {}
    for name, c in spec.constants.items():
        dims = tuple(d for d in cm.dim_order if d in c.dims)
        shape = tuple(cm.dim_sizes[d] for d in dims)
        value = np.broadcast_to(np.asarray(c.value, dtype=float), shape).reshape(*shape, 1)
        if name in ds.coords:
            given = np.asarray(ds.variables[name].transpose(*dims, "scenario").values, dtype=float)
            value = np.tile(given, n_t)
        else:
            elements = [k for k in ds.coords if str(k).startswith(f"{name}[")]
            if elements:
                full = np.broadcast_to(value, (*shape, n_s)).copy()
                for key in elements:
                    el = str(key)[len(name) + 1 : -1]
                    full[cm.elements[dims[0]].index(el)] = np.asarray(ds.variables[key].values)
                value = np.tile(full, n_t)
        cols[name] = value
    return cols


def _reads_init(cm: CompiledModel, name: str) -> bool:
    trees = equation_trees(cm.spec.auxiliaries[name].equation)
    return any(isinstance(n, Call) and n.func.upper() == "INIT" for t in trees for n in walk(t))


def _fill(
    cm: CompiledModel, cols: dict[str, FloatArray], time: FloatArray, settings: dict[str, float]
) -> None:
    """Evaluate the auxiliaries a run did not save, in dependency order."""
    ev = EquationEvaluator(cm)
    todo = [v for v in cm.variables if v not in cols]
    while todo:
        ready = [v for v in todo if all(u in cols for u in ev.inputs(v))]
        if not ready:
            raise ModelError(f"cannot evaluate {todo[0]!r} from the saved values", where="run")
        for v in ready:
            cols[v] = ev(v, cols, time, **settings)
            todo.remove(v)


def partial_signs(
    evaluator: EquationEvaluator,
    cols: Mapping[str, FloatArray],
    time: FloatArray,
    edges: list[tuple[str, str]],
    **settings: float,
) -> dict[tuple[str, str], int]:
    """Sign of ``dz/du`` for each edge ``(u, z)``, measured at every column of a run.

    +1 or -1 where every measured derivative has that sign, 0 where both signs occur or the
    derivative is zero throughout. ``z`` must be a flow or an auxiliary.
    """
    out: dict[tuple[str, str], int] = {}
    for u, z in edges:
        try:
            base = evaluator(z, cols, time, **settings)
        except ModelError:  # a smooth or delay: its hidden stocks are not in the run
            out[(u, z)] = 0
            continue
        x = cols[u]
        h = 1e-6 * np.maximum(np.abs(x), 1e-2)
        nudged = evaluator(z, {**cols, u: x + h}, time, **settings)
        diff = nudged - base
        axes = tuple(range(diff.ndim - 1))
        d = diff.sum(axis=axes) if axes else diff
        scale = np.abs(base).sum(axis=axes) if axes else np.abs(base)
        d = np.where(np.abs(d) > 1e-10 * (scale + 1e-300), d, 0.0)
        d = d[np.isfinite(d)]
        pos, neg = bool((d > 0).any()), bool((d < 0).any())
        out[(u, z)] = 1 if pos and not neg else (-1 if neg and not pos else 0)
    return out
