"""A model's causal graph with every link polarity decided, and its feedback loops.

Polarities come from the syntax tree (:mod:`simdyn.model.causal`); the links the rules leave
undecided get the sign of their partial derivative along a run — the run given, or a run of the
model's defaults (one scenario, its own time settings, Euler).
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from simdyn._types import FloatArray
from simdyn.integrate import FIXED_METHODS, integrate_fixed
from simdyn.model.causal import causal_graph, set_numeric_polarity
from simdyn.model.compile import CompiledModel
from simdyn.model.evaluate import EquationEvaluator, partial_signs, run_columns
from simdyn.model.loops import MAX_LOOPS, Loop, find_loops

__all__ = ["default_columns", "first_columns", "model_graph", "model_loops"]


def default_columns(cm: CompiledModel) -> tuple[dict[str, FloatArray], FloatArray, int]:
    """Columns (as :func:`~simdyn.model.evaluate.run_columns`) of one run of the defaults."""
    spec = cm.spec
    params: dict[str, FloatArray] = {}
    for name, c in spec.constants.items():
        shape = tuple(cm.dim_sizes[d] for d in cm.dim_order if d in c.dims)
        params[name] = np.broadcast_to(np.asarray(c.value, dtype=float), shape).reshape(*shape, 1)
    t = spec.time
    save_per = t.save_per or t.dt
    n_steps = round((t.stop - t.start) / t.dt)
    save_every = max(1, round(save_per / t.dt))
    with np.errstate(all="ignore"):
        bound = cm.bind(params, 1, dt=t.dt, start=t.start, stop=t.stop)
    saved: list[tuple[Any, ...]] = []
    times: list[float] = []

    def on_save(k: int, time: float, y: FloatArray) -> None:
        saved.append(tuple(np.array(v, dtype=float) for v in bound.observe(time, time, y)))
        times.append(time)

    integrate_fixed(
        bound.rhs,
        bound.y0,
        start=t.start,
        dt=t.dt,
        n_steps=n_steps,
        save_every=save_every,
        tableau=FIXED_METHODS["euler"],
        on_save=on_save,
        clamp_rows=cm.nonneg_rows,
        post_step=None if bound.record is None else (lambda tt, y: bound.record(tt, tt, y)),  # type: ignore[misc]
    )
    cols: dict[str, FloatArray] = dict(params)
    for j, name in enumerate(cm.observed):
        stacked = np.stack([s[j] for s in saved], axis=-2)
        cols[name] = stacked.reshape(*stacked.shape[:-2], -1)
    return cols, np.asarray(times), 1


def first_columns(cols: dict[str, FloatArray], n_s: int) -> dict[str, FloatArray]:
    """The columns of the first saved time (shared constants stay as they are)."""
    return {k: v if v.shape[-1] == 1 else v[..., :n_s] for k, v in cols.items()}


def model_graph(
    cm: CompiledModel,
    run: Any = None,
    *,
    constants: bool = False,
    columns: tuple[dict[str, FloatArray], FloatArray, int] | None = None,
) -> nx.DiGraph[str]:
    """The causal graph with numeric polarities for the links the structure leaves open.

    ``columns`` are ``run``'s values as :func:`~simdyn.model.evaluate.run_columns` returns
    them, if already at hand.
    """
    g = causal_graph(cm.spec, constants=constants)
    open_links = [
        (u, v)
        for u, v, d in g.edges(data=True)
        if d["polarity_source"] == "undecided" and g.nodes[v]["kind"] != "stock"
    ]
    if not open_links or (cm.dim_order and "node" in cm.dim_order):
        return g
    if run is not None:
        cols, time, n_s = columns if columns is not None else run_columns(run, cm)
        settings = {k: float(run.attrs[k]) for k in ("dt", "start", "stop") if k in run.attrs}
    else:
        cols, time, n_s = default_columns(cm)
        t = cm.spec.time
        settings = {"dt": t.dt, "start": t.start, "stop": t.stop}
    ev = EquationEvaluator(cm)
    ev.set_initial(first_columns(cols, n_s), time[:n_s], **settings)
    set_numeric_polarity(g, partial_signs(ev, cols, time, open_links, **settings))
    return g


def model_loops(
    cm: CompiledModel,
    run: Any = None,
    *,
    max_loops: int = MAX_LOOPS,
    max_length: int | None = None,
) -> tuple[list[Loop], bool]:
    """The model's feedback loops (named ones included) and whether the list is complete."""
    return find_loops(model_graph(cm, run), cm.spec, max_loops=max_loops, max_length=max_length)
