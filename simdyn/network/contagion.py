"""Run discrete contagion for many scenarios at once and record adopter counts."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx
import numpy as np

from simdyn._types import BoolArray, FloatArray, IntArray
from simdyn.errors import NetworkError
from simdyn.network.kernels import (
    ScenarioSeed,
    _below_table,
    _counts,
    _log_survival,
    _simple_probability,
    _state,
    _uniforms,
    min_adopting_neighbours,
    scenario_generators,
)
from simdyn.network.operators import GraphOperators

__all__ = ["ContagionResult", "initial_state", "run_contagion"]

Rule = Literal["threshold", "simple", "cascade"]


@dataclass(frozen=True, eq=False)
class ContagionResult:
    """Outcome of :func:`run_contagion`.

    Attributes
    ----------
    counts : ndarray of int64, shape (n_steps + 1, n_scenarios)
        Adopters after each step; row 0 is the initial state. After the run has stopped early
        (no further change possible) the last counts are repeated.
    adopted_at : ndarray of int64, shape (n_nodes, n_scenarios)
        Step at which each node adopted (0 for initial adopters, -1 for never).
    nodelist : tuple
        Node order of ``adopted_at``'s rows.
    steps_run : int
        Steps actually computed (≤ ``n_steps``).
    """

    counts: IntArray
    adopted_at: IntArray
    nodelist: tuple[Hashable, ...]
    steps_run: int

    @property
    def final(self) -> BoolArray:
        """Adoption state at the end, shape ``(n_nodes, n_scenarios)``."""
        return np.asarray(self.adopted_at >= 0)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodelist)


def initial_state(
    nodelist: Sequence[Hashable], adopter_sets: Sequence[Iterable[Hashable]]
) -> BoolArray:
    """Boolean state with column ``k`` marking the nodes in ``adopter_sets[k]``.

    Examples
    --------
    >>> initial_state(["a", "b", "c"], [["a"], ["b", "c"]]).astype(int)
    array([[1, 0],
           [0, 1],
           [0, 1]])
    """
    index = {node: i for i, node in enumerate(nodelist)}
    X = np.zeros((len(index), len(adopter_sets)), dtype=np.bool_)
    for k, nodes in enumerate(adopter_sets):
        for node in nodes:
            if node not in index:
                raise NetworkError(
                    f"initial adopter {node!r} is not in the graph",
                    where=f"adopter_sets[{k}]",
                    hint="use nodes from the operators' nodelist",
                )
            X[index[node], k] = True
    return X


def _initial(x0: Any, n_nodes: int, n_scenarios: int | None) -> BoolArray:
    arr = np.asarray(x0)
    if arr.ndim == 1:
        if n_scenarios is None:
            raise NetworkError(
                "a 1-D initial state needs n_scenarios",
                where="x0",
                hint="pass n_scenarios=... or a (n_nodes, n_scenarios) array",
            )
        arr = np.repeat(arr[:, None], n_scenarios, axis=1)
    elif n_scenarios is not None and arr.ndim == 2 and arr.shape[1] != n_scenarios:
        raise NetworkError(
            f"x0 has {arr.shape[1]} scenario columns but n_scenarios={n_scenarios}",
            where="x0",
            hint="leave n_scenarios out when x0 is 2-D",
        )
    return _state(arr, n_nodes, where="x0").copy()


def _n_steps(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise NetworkError(
            f"n_steps must be an integer ≥ 0, got {value!r}", where="n_steps", hint="e.g. 100"
        )
    return int(value)


def run_contagion(
    graph: GraphOperators | nx.Graph[Any],
    x0: BoolArray,
    *,
    rule: Rule,
    n_steps: int,
    threshold: float | FloatArray | None = None,
    fractional: bool = False,
    below_threshold: float | Sequence[float] | FloatArray | None = None,
    p: float | Any = None,
    n_scenarios: int | None = None,
    until_stable: bool = True,
    seed: ScenarioSeed = None,
) -> ContagionResult:
    """Iterate a contagion kernel for up to ``n_steps`` synchronous steps, all scenarios at once.

    Parameters
    ----------
    graph : GraphOperators or networkx.Graph
        The org graph or its prebuilt operators.
    x0 : ndarray of bool, shape (n_nodes, n_scenarios) or (n_nodes,)
        Initial adopters (1-D: the same for all ``n_scenarios`` columns).
    rule : {"threshold", "simple", "cascade"}
        ``"threshold"``: complex contagion (:func:`threshold_step`); ``"simple"``: every adopter
        keeps transmitting with probability ``p`` per tie and step (SI); ``"cascade"``:
        independent cascade, each new adopter transmits once per tie with probability ``p``.
    n_steps : int
        Maximum number of steps.
    threshold : float or ndarray
        Threshold for ``rule="threshold"``; absolute count, or fraction of neighbours when
        ``fractional`` is True.
    fractional : bool
        Interpret ``threshold`` as a fraction of each node's neighbours.
    below_threshold : float or sequence of float, optional
        Below-threshold adoption probability (see :func:`threshold_step`).
    p : float or csr_array
        Transmission probability for ``"simple"`` and ``"cascade"``.

    Other Parameters
    ----------------
    n_scenarios : int, optional
        Number of scenario columns when ``x0`` is 1-D.
    until_stable : bool
        Stop as soon as no scenario can change any more (the remaining rows of ``counts``
        repeat the final counts, which is what further steps would give).
    seed : int, Generator, sequence of Generators or None
        Root seed for stochastic rules; scenario ``k`` draws from its own child stream, so its
        result does not depend on the other columns.

    Returns
    -------
    ContagionResult

    Examples
    --------
    >>> from simdyn.network.graphs import ring_lattice
    >>> G = ring_lattice(20, 4)
    >>> x0 = np.zeros(20, dtype=bool)
    >>> x0[[0, 1]] = True
    >>> res = run_contagion(G, x0, rule="threshold", threshold=2, n_steps=20, n_scenarios=3)
    >>> res.counts[:4, 0].tolist(), res.steps_run
    ([2, 4, 6, 8], 10)
    >>> res.counts[-1].tolist()
    [20, 20, 20]
    """
    ops = graph if isinstance(graph, GraphOperators) else GraphOperators.from_graph(graph)
    n = ops.n_nodes
    n_steps = _n_steps(n_steps)
    X = _initial(x0, n, n_scenarios)
    m = X.shape[1]
    C = ops.counts

    if rule == "threshold":
        if threshold is None:
            raise NetworkError(
                "rule='threshold' needs a threshold", where="threshold", hint="e.g. threshold=2"
            )
        cmin = min_adopting_neighbours(
            threshold,
            degree=ops.degree if fractional else None,
            n_nodes=n,
            dtype=np.dtype(C.dtype).type,
        )
        q = None if below_threshold is None else _below_table(below_threshold)
        stochastic = q is not None
    elif rule in ("simple", "cascade"):
        if p is None:
            raise NetworkError(
                f"rule={rule!r} needs a transmission probability", where="p", hint="e.g. p=0.1"
            )
        logq = _log_survival(p)
        stochastic = True
    else:
        raise NetworkError(
            f"unknown rule {rule!r}", where="rule", hint="use 'threshold', 'simple' or 'cascade'"
        )
    gens = scenario_generators(seed, m) if stochastic else []

    counts = np.empty((int(n_steps) + 1, m), dtype=np.int64)
    counts[0] = X.view(np.uint8).sum(axis=0, dtype=np.int64)
    adopted_at = np.where(X, 0, -1).astype(np.int64)
    new = X.copy()
    steps_run = 0
    for t in range(1, int(n_steps) + 1):
        if rule == "threshold":
            c = _counts(C, X)
            adopt = c >= cmin
            if q is not None:
                u = _uniforms(gens, n)
                possible = adopt | (q[np.minimum(c, q.size - 1)] > 0)
                adopt |= u < q[np.minimum(c, q.size - 1)]
        else:
            active = X if rule == "simple" else new
            prob = _simple_probability(C, logq, active)
            u = _uniforms(gens, n)
            possible = prob > 0
            adopt = u < prob
        np.greater(adopt, X, out=new)  # adopt & ~X
        X |= new
        np.copyto(adopted_at, t, where=new)
        counts[t] = counts[t - 1] + new.view(np.uint8).sum(axis=0, dtype=np.int64)
        steps_run = t
        if until_stable:
            # a step without change leaves every probability as it was, so the run is final
            # when nothing changed and (for stochastic rules) no non-adopter can still adopt
            done = bool((counts[t] == counts[t - 1]).all())
            if done and stochastic and rule != "cascade":
                done = not bool((possible & ~X).any())
            if done:
                counts[t + 1 :] = counts[t]
                break
    return ContagionResult(
        counts=counts, adopted_at=adopted_at, nodelist=ops.nodelist, steps_run=steps_run
    )
