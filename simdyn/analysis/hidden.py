"""Smooths and material delays written out as the stocks and flows they stand for.

The compiler turns ``SMTH1``, ``SMTH3``, ``DELAY1``, ``DELAY3`` and ``DELAYN`` into hidden stocks
that a saved run does not hold. For loop dominance each call is written out as an explicit
chain, the same structure the compiler builds (:mod:`simdyn.model.passes.expand`):

===========  ===============================================================================
SMTH n       stages ``s_i`` with one inflow ``r_i = (s_{i-1} - s_i) / (tau / n)``, ``s_0 = x``
DELAY n      stages ``s_i``: inflow ``x`` (stage 1) or ``out_{i-1}``, outflow ``out_i = s_i / (tau / n)``
===========  ===============================================================================

:func:`explicit_spec` returns that model and, for every variable it adds, the visible variable
that owns it; :func:`explicit_run` re-simulates a run with it, which yields the hidden stocks'
values, and checks that the visible stocks come out as saved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from simdyn.errors import ModelError
from simdyn.expr import STATEFUL, BinOp, Call, If, Name, Node, Num, UnaryOp, parse, walk
from simdyn.expr.printer import unparse
from simdyn.model import Model
from simdyn.model.compile import CompiledModel
from simdyn.model.evaluate import constant_columns
from simdyn.model.spec import Auxiliary, Flow, ModelSpec, Stock

__all__ = ["Hidden", "explicit_run", "explicit_spec", "has_hidden_stocks"]

_CHAINS = frozenset({"SMTH1", "SMTH3", "DELAY1", "DELAY3", "DELAYN"})


@dataclass(frozen=True)
class Hidden:
    """A variable of a written-out smooth or delay: its owner, the call and the stage."""

    owner: str
    function: str  # "SMTH1", "DELAY3", …
    call: int  # the call's number within the owner's equation (1, 2, …)
    stage: int  # 1.. for stages and their flows, 0 for inputs and times


def has_hidden_stocks(spec: ModelSpec) -> bool:
    """Whether a flow or auxiliary holds a smooth or material delay (a fixed ``DELAY`` is an
    error: loop analysis does not support it)."""
    for owner, text in _equations(spec):
        _refuse_pipeline(spec, owner, text)
    return any(
        isinstance(n, Call) and n.func.upper() in _CHAINS
        for _, text in _equations(spec)
        for n in walk(parse(text))
    )


def _equations(spec: ModelSpec) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for table in (spec.flows, spec.auxiliaries):
        for name, v in table.items():
            eq = v.equation
            out.extend((name, t) for t in ([eq] if isinstance(eq, str) else eq.values()))
    return out


class _Writer:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.stocks: dict[str, Stock] = {}
        self.flows: dict[str, Flow] = {}
        self.auxiliaries: dict[str, Auxiliary] = {}
        self.hidden: dict[str, Hidden] = {}

    def equation(self, owner: str, text: str, dims: tuple[str, ...], counter: list[int]) -> str:
        tree = parse(text)
        if not any(isinstance(n, Call) and n.func.upper() in _CHAINS for n in walk(tree)):
            return text
        return unparse(self.node(tree, owner, dims, counter))

    def node(self, node: Node, owner: str, dims: tuple[str, ...], counter: list[int]) -> Node:
        if isinstance(node, Call):
            args = tuple(self.node(a, owner, dims, counter) for a in node.args)
            upper = node.func.upper()
            if upper in _CHAINS:
                counter[0] += 1
                return self.chain(upper, args, owner, dims, counter[0])
            return Call(node.func, args, node.col)
        if isinstance(node, BinOp):
            return BinOp(
                node.op,
                self.node(node.left, owner, dims, counter),
                self.node(node.right, owner, dims, counter),
                node.col,
            )
        if isinstance(node, UnaryOp):
            return UnaryOp(node.op, self.node(node.operand, owner, dims, counter), node.col)
        if isinstance(node, If):
            return If(
                self.node(node.cond, owner, dims, counter),
                self.node(node.then, owner, dims, counter),
                self.node(node.otherwise, owner, dims, counter),
                node.col,
            )
        return node

    def _add(self, kind: str, name: str, text: str, dims: tuple[str, ...], info: Hidden) -> Name:
        if kind == "flow":
            self.flows[name] = Flow(name, text, dims)
        else:
            self.auxiliaries[name] = Auxiliary(name, text, dims)
        self.hidden[name] = info
        return Name(name, 0)

    def chain(
        self, upper: str, args: tuple[Node, ...], owner: str, dims: tuple[str, ...], k: int
    ) -> Name:
        if upper == "DELAYN":
            n_node = args[2]
            if not isinstance(n_node, Num) or n_node.value != int(n_node.value) or n_node.value < 1:
                raise ModelError(
                    "the order n of DELAYN must be a whole number ≥ 1", where=f"{owner}"
                )
            order = int(n_node.value)
            init_arg = args[3] if len(args) > 3 else None
        else:
            order = 3 if upper in ("SMTH3", "DELAY3") else 1
            init_arg = args[2] if len(args) > 2 else None
        base = f"_{owner}__{upper.lower()}_{k}"
        info0 = Hidden(owner, upper, k, 0)
        smooth = upper.startswith("SMTH")
        x = self._add(
            "auxiliary" if smooth else "flow", f"{base}_in", unparse(args[0]), dims, info0
        )
        tau = self._add("auxiliary", f"{base}_tau", unparse(args[1]), dims, info0)
        init = (
            self._add("auxiliary", f"{base}_init", unparse(init_arg), dims, info0)
            if init_arg is not None
            else x
        )
        st = tau
        if order > 1:
            st = self._add("auxiliary", f"{base}_st", f"{tau.name} / {order}", dims, info0)
        prev = x.name
        for i in range(1, order + 1):
            s = f"{base}_{i}"
            info = Hidden(owner, upper, k, i)
            if smooth:
                r = f"{base}_r{i}"
                self._add("flow", r, f"({prev} - {s}) / {st.name}", dims, info)
                self.stocks[s] = Stock(s, init.name, inflows=(r,), dims=dims)
                prev = s
            else:
                out = f"{base}_out{i}"
                self._add("flow", out, f"{s} / {st.name}", dims, info)
                self.stocks[s] = Stock(
                    s, f"{init.name} * {st.name}", inflows=(prev,), outflows=(out,), dims=dims
                )
                prev = out
            self.hidden[s] = info
        return Name(prev, 0)


def explicit_spec(spec: ModelSpec) -> tuple[ModelSpec, dict[str, Hidden]]:
    """``spec`` with every smooth and material delay written out as stocks and flows.

    Returns the new spec and, by name, the variables it adds (names starting with ``_``, which
    model names cannot). A fixed ``DELAY`` (a pipeline without stocks) is an error.

    Examples
    --------
    >>> from simdyn import model_from_dict
    >>> m = model_from_dict({"model": {"name": "m", "time_units": "day"},
    ...     "constants": {"tau": {"value": 2}}, "stocks": {"s": {"initial": "1", "inflows": ["f"]}},
    ...     "flows": {"f": {"equation": "-SMTH1(s, tau)"}}})
    >>> spec, hidden = explicit_spec(m.spec)
    >>> spec.flows["f"].equation, spec.flows["_f__smth1_1_r1"].equation
    ('-_f__smth1_1_1', '(_f__smth1_1_in - _f__smth1_1_1) / _f__smth1_1_tau')
    """
    w = _Writer(spec)
    rewritten: dict[str, Any] = {}
    for table in (spec.flows, spec.auxiliaries):
        for name, v in table.items():
            counter = [0]
            if isinstance(v.equation, str):
                _refuse_pipeline(spec, name, v.equation)
                eq: Any = w.equation(name, v.equation, tuple(v.dims), counter)
            else:
                for text in v.equation.values():
                    _refuse_pipeline(spec, name, text)
                eq = {el: w.equation(name, t, (), counter) for el, t in v.equation.items()}
            rewritten[name] = dataclasses.replace(v, equation=eq)
    flows = {n: rewritten[n] for n in spec.flows}
    auxiliaries = {n: rewritten[n] for n in spec.auxiliaries}
    new = dataclasses.replace(
        spec,
        stocks={**spec.stocks, **w.stocks},
        flows={**flows, **w.flows},
        auxiliaries={**auxiliaries, **w.auxiliaries},
        loops={},
    )
    return new, w.hidden


def _refuse_pipeline(spec: ModelSpec, owner: str, text: str) -> None:
    if any(isinstance(n, Call) and n.func.upper() == "DELAY" for n in walk(parse(text))):
        table = "flows" if owner in spec.flows else "auxiliaries"
        raise ModelError(
            f"{owner!r} uses DELAY, a fixed pipeline whose recorded inputs a saved run does not hold",
            file=spec.source,
            line=spec.line_of(table, owner),
            where=f"{table}.{owner}",
            hint="loop analysis supports SMTH1/3, DELAY1/3/N and INIT; DELAYN of a high order approximates a pipeline",
        )
    for n in walk(parse(text)):
        if isinstance(n, Call) and n.func.upper() in STATEFUL - _CHAINS - {"INIT", "DELAY"}:
            raise ModelError(f"{owner!r} uses {n.func}, unknown to loop analysis", where=owner)


def explicit_run(
    run: xr.Dataset, cm: CompiledModel, model: Model, *, seed: Any = None, rtol: float = 1e-6
) -> xr.Dataset:
    """``run`` re-simulated with ``model`` (the written-out model of ``cm``'s spec).

    The constants come from ``run`` (per scenario where a scenario set them), the time settings
    and the method from its attributes. The visible stocks must come out as ``run`` saved them
    (to ``rtol``): a run of random numbers needs its ``seed``.
    """
    from simdyn.simulate import simulate

    if "start_from" in run.attrs:
        raise ModelError(
            "loop analysis of smooths and delays re-simulates the run; a run started from given "
            "stock values cannot be re-simulated",
            where="run",
            hint="analyse a run that starts from the model's initial values",
        )
    params: dict[str, Any] = {
        name: v[..., 0] if v.shape[-1] == 1 else v for name, v in constant_columns(run, cm).items()
    }
    attrs = run.attrs
    settings = {k: float(attrs[k]) for k in ("start", "stop", "dt", "save_per") if k in attrs}
    x = simulate(
        model,
        params=params,
        method=str(attrs["method"]) if "method" in attrs else None,
        seed=seed,
        backend="numpy",
        **settings,  # type: ignore[arg-type]
    )
    times = run["time"].values
    if x.sizes["time"] != len(times) or not np.allclose(x["time"].values, times):
        x = x.sel(time=times, method="nearest", tolerance=1e-9 * max(1.0, float(np.ptp(times))))
    x = x.assign_coords(time=times, scenario=run["scenario"].values)
    for s in cm.spec.stocks:
        a = np.asarray(run[s].transpose("time", ..., "scenario").values, dtype=float)
        b = np.asarray(x[s].transpose("time", ..., "scenario").values, dtype=float)
        scale = float(np.nanmax(np.abs(a))) if np.isfinite(a).any() else 0.0
        if not np.allclose(a, b, rtol=rtol, atol=rtol * scale + 1e-12, equal_nan=True):
            worst = np.unravel_index(np.nanargmax(np.abs(a - b)), a.shape)
            raise ModelError(
                f"re-simulating the run to find the hidden stocks of its smooths and delays gives "
                f"{s!r} = {b[worst]:.6g} at time {times[worst[0]]:g}, the run has {a[worst]:.6g}",
                where="run",
                hint="pass the model the run was made with (a scenario's policies change it) "
                "and, for a run of random numbers, its seed",
            )
    return x


def fold_names(hidden: Mapping[str, Hidden]) -> dict[str, str]:
    """Hidden variable → the visible variable it folds into."""
    return {n: h.owner for n, h in hidden.items()}
