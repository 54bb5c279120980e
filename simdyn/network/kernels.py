"""Batched diffusion kernels on node-level states of shape ``(n_nodes, n_scenarios)``.

Each kernel advances all scenarios (columns) with one sparse-dense product. Continuous kernels
return rates or new values as float64 arrays; discrete kernels take and return boolean adoption
states. Stochastic kernels draw one uniform number per node per scenario and step from a
generator owned by that scenario (see :func:`scenario_generators`), so the result for scenario
``k`` does not depend on how many other scenarios share the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp

from simdyn._rng import Seed, as_generator, child_generators
from simdyn._types import BoolArray, FloatArray
from simdyn.errors import NetworkError
from simdyn.network.operators import CSR

__all__ = [
    "ScenarioSeed",
    "friedkin_johnsen_step",
    "knowledge_transfer_rate",
    "laplacian_flux",
    "min_adopting_neighbours",
    "neighbour_mean",
    "scenario_generators",
    "simple_contagion_step",
    "threshold_step",
]

ScenarioSeed: TypeAlias = Seed | Sequence[np.random.Generator]
"""A root seed, or one generator per scenario column."""

_LOG_FLOOR = -745.0  # exp(-745) rounds to 0: log(1 - p) for p = 1 without -inf * 0 = nan


def scenario_generators(seed: ScenarioSeed, n_scenarios: int) -> list[np.random.Generator]:
    """Return one independent generator per scenario column.

    An int, :class:`~numpy.random.SeedSequence` or None is spawned with
    :func:`simdyn._rng.child_generators`; a :class:`~numpy.random.Generator` with its
    :meth:`~numpy.random.Generator.spawn`; a sequence of ``n_scenarios`` generators is used as
    it is (this is how a multi-step run keeps each scenario's stream going). Child ``k``
    depends only on the root and ``k``.

    Examples
    --------
    >>> a = scenario_generators(5, 3)[1].random()
    >>> b = scenario_generators(5, 10)[1].random()
    >>> a == b
    True
    """
    if isinstance(seed, Sequence):
        gens = list(seed)
        if len(gens) != n_scenarios or not all(isinstance(g, np.random.Generator) for g in gens):
            raise NetworkError(
                f"expected {n_scenarios} generators, one per scenario, got {len(gens)}",
                where="seed",
                hint="pass an int seed or one numpy Generator per scenario column",
            )
        return gens
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(n_scenarios))
    if seed is None or isinstance(seed, int | np.random.SeedSequence):
        return child_generators(seed, n_scenarios)
    return [as_generator(seed)]  # as_generator raises the TypeError for anything else


def _uniforms(gens: Sequence[np.random.Generator], n_nodes: int) -> FloatArray:
    """Draw ``(n_nodes, n_scenarios)`` uniforms, column ``k`` from ``gens[k]``."""
    out = np.empty((len(gens), n_nodes), dtype=np.float64)
    for k, g in enumerate(gens):
        g.random(out=out[k])
    return out.T


def _state(X: Any, n_nodes: int, *, where: str = "X") -> BoolArray:
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[0] != n_nodes:
        raise NetworkError(
            f"state has shape {arr.shape}, expected ({n_nodes}, n_scenarios)",
            where=where,
            hint="node-level states are (n_nodes, n_scenarios) with the scenario axis last",
        )
    if arr.dtype != np.bool_:
        raise NetworkError(
            f"adoption state must be boolean, got dtype {arr.dtype}",
            where=where,
            hint="pass X.astype(bool)",
        )
    return np.ascontiguousarray(arr)


def _float_state(X: Any, n_nodes: int, *, where: str = "X") -> FloatArray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != n_nodes:
        raise NetworkError(
            f"state has shape {arr.shape}, expected ({n_nodes}, n_scenarios)",
            where=where,
            hint="node-level states are (n_nodes, n_scenarios) with the scenario axis last",
        )
    return arr


def neighbour_mean(W: CSR, X: FloatArray) -> FloatArray:
    """One DeGroot averaging step ``W @ X`` (``W`` from :func:`averaging_matrix`).

    Examples
    --------
    >>> from simdyn.network.operators import averaging_matrix
    >>> import networkx as nx
    >>> W = averaging_matrix(nx.path_graph(3))
    >>> neighbour_mean(W, np.array([[0.0], [1.0], [2.0]])).ravel()
    array([1., 1., 1.])
    """
    return np.asarray(W @ _float_state(X, W.shape[0]), dtype=np.float64)


def friedkin_johnsen_step(
    W: CSR, X: FloatArray, X0: FloatArray, *, susceptibility: float | FloatArray
) -> FloatArray:
    """One Friedkin–Johnsen step ``X ← Λ W X + (1 − Λ) X0`` (anchoring to initial views).

    Parameters
    ----------
    W : csr_array, shape (n_nodes, n_nodes)
        Row-stochastic averaging matrix.
    X, X0 : ndarray, shape (n_nodes, n_scenarios)
        Current and initial (anchor) values.
    susceptibility : float or ndarray broadcastable to (n_nodes, n_scenarios)
        ``Λ`` in [0, 1]: 1 is pure DeGroot averaging, 0 a fully stubborn node.

    Examples
    --------
    >>> from simdyn.network.operators import averaging_matrix
    >>> import networkx as nx
    >>> W = averaging_matrix(nx.path_graph(2))
    >>> x0 = np.array([[0.0], [1.0]])
    >>> friedkin_johnsen_step(W, x0, x0, susceptibility=0.5).ravel()
    array([0.5, 0.5])
    """
    Xf = _float_state(X, W.shape[0])
    X0f = _float_state(X0, W.shape[0], where="X0")
    lam = np.asarray(susceptibility, dtype=np.float64)
    if np.any(lam < 0) or np.any(lam > 1) or np.any(np.isnan(lam)):
        raise NetworkError(
            "susceptibility must lie in [0, 1]",
            where="susceptibility",
            hint="1 is pure averaging, 0 a node that keeps its initial value",
        )
    return np.asarray(lam * (W @ Xf) + (1.0 - lam) * X0f, dtype=np.float64)


def laplacian_flux(M: CSR, X: FloatArray, *, rate: float | FloatArray = 1.0) -> FloatArray:
    """Rate of change ``rate · M @ X`` from the conserving flux matrix of :func:`flux_matrix`.

    The result sums to zero over nodes in every scenario, so totals are conserved.

    Examples
    --------
    >>> from simdyn.network.operators import flux_matrix
    >>> import networkx as nx
    >>> dX = laplacian_flux(flux_matrix(nx.path_graph(3)), np.array([[3.0], [0.0], [0.0]]))
    >>> dX.ravel(), float(dX.sum())
    (array([-3.,  3.,  0.]), 0.0)
    """
    return np.asarray(rate * (M @ _float_state(X, M.shape[0])), dtype=np.float64)


def knowledge_transfer_rate(
    A: CSR, S: FloatArray, *, kappa: float | FloatArray = 1.0
) -> FloatArray:
    """Rate at which each node learns from better-skilled neighbours.

    ``dS_i/dt = κ Σ_j w_ij max(S_j − S_i, 0)``: knowledge flows only downhill in skill, along
    ties weighted by strength, so the best-skilled node never loses and never gains from others.
    Usable directly inside an ODE right-hand side.

    Parameters
    ----------
    A : csr_array, shape (n_nodes, n_nodes)
        Weighted adjacency (:func:`adjacency_matrix`).
    S : ndarray, shape (n_nodes, n_scenarios)
        Skill levels.
    kappa : float or ndarray broadcastable to (n_nodes, n_scenarios)
        Transfer rate per unit tie strength and skill gap.

    Returns
    -------
    ndarray of float64, shape (n_nodes, n_scenarios)

    Notes
    -----
    Works on the ``nnz`` stored ties at once, so it holds two ``(nnz, n_scenarios)`` temporaries.

    Examples
    --------
    >>> from simdyn.network.operators import adjacency_matrix
    >>> import networkx as nx
    >>> A = adjacency_matrix(nx.path_graph(3))
    >>> knowledge_transfer_rate(A, np.array([[1.0], [0.0], [0.5]]), kappa=2.0).ravel()
    array([0., 3., 0.])
    """
    Sf = _float_state(S, A.shape[0], where="S")
    n = A.shape[0]
    indptr = np.asarray(A.indptr)
    cols = np.asarray(A.indices)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    gap = Sf[cols] - Sf[rows]
    np.maximum(gap, 0.0, out=gap)
    per_row = sp.csr_array(
        (np.asarray(A.data, dtype=np.float64), np.arange(len(cols)), indptr), shape=(n, len(cols))
    )
    return np.asarray(kappa * (per_row @ gap), dtype=np.float64)


def min_adopting_neighbours(
    threshold: float | FloatArray,
    *,
    degree: Any = None,
    n_nodes: int,
    dtype: type[np.unsignedinteger[Any]] = np.uint32,
) -> np.ndarray[Any, Any]:
    """Smallest number of adopting neighbours that meets each node's threshold.

    With ``degree`` None the threshold is absolute: a node adopts when at least ``threshold``
    neighbours have adopted. With ``degree`` given it is fractional, and the rule is exactly
    ``float(count) / degree >= threshold`` (as in NDlib's ``ThresholdModel``); a node with no
    neighbours never meets a fractional threshold. Counts that can never be reached are returned
    as ``degree + 1`` (fractional) or clipped to the largest value of ``dtype``.

    Returns
    -------
    ndarray of ``dtype``, shape (n_nodes, 1) or (n_nodes, n_scenarios)

    Examples
    --------
    >>> min_adopting_neighbours(0.34, degree=np.array([6, 3, 0]), n_nodes=3).ravel()
    array([3, 2, 1], dtype=uint32)
    >>> min_adopting_neighbours(2, n_nodes=2).ravel()
    array([2, 2], dtype=uint32)
    """
    theta = np.asarray(threshold, dtype=np.float64)
    if np.any(np.isnan(theta)):
        raise NetworkError("threshold is NaN", where="threshold", hint="pass a number")
    if theta.ndim == 0:
        theta = theta.reshape(1, 1)
    elif theta.ndim == 1:
        theta = theta[:, None]
    if theta.ndim != 2 or theta.shape[0] not in (1, n_nodes):
        raise NetworkError(
            f"threshold has shape {np.shape(threshold)}, expected a scalar, ({n_nodes},) "
            f"or ({n_nodes}, n_scenarios)",
            where="threshold",
            hint="give one threshold, one per node, or one per node and scenario",
        )
    theta = np.broadcast_to(theta, (n_nodes, theta.shape[1]))
    top = float(np.iinfo(dtype).max)
    if degree is None:
        absolute: np.ndarray[Any, Any] = np.clip(np.ceil(theta), 0.0, top).astype(dtype)
        return absolute
    deg = np.asarray(degree, dtype=np.float64).reshape(n_nodes, 1)
    cmin = np.clip(np.ceil(theta * deg), 0.0, deg + 1)
    safe = np.where(deg > 0, deg, 1.0)
    # ceil(theta * deg) can be off by one against the float division rule; fix both ways
    for _ in range(2):
        lower = (cmin > 0) & ((cmin - 1) / safe >= theta)
        cmin = cmin - lower
        higher = (cmin <= deg) & (cmin / safe < theta)
        cmin = cmin + higher
    cmin = np.where(deg > 0, cmin, 1.0)
    result: np.ndarray[Any, Any] = np.minimum(cmin, top).astype(dtype)
    return result


def _counts(C: CSR, X: BoolArray) -> np.ndarray[Any, Any]:
    """Adopting neighbours per node and scenario, in ``C``'s unsigned integer type."""
    return np.asarray(C @ X.view(np.uint8).astype(C.dtype, copy=False))


def _below_table(below_threshold: float | Sequence[float] | FloatArray) -> FloatArray:
    q = np.atleast_1d(np.asarray(below_threshold, dtype=np.float64))
    if q.ndim != 1 or q.size == 0 or np.any(q < 0) or np.any(q > 1) or np.any(np.isnan(q)):
        raise NetworkError(
            f"below_threshold must be a probability or a 1-D sequence of them, got {below_threshold!r}",
            where="below_threshold",
            hint="e.g. 0.05 (any adopting neighbour) or [0.0, 0.05] (indexed by count)",
        )
    if q.size == 1:
        q = np.array([0.0, q[0]])
    return q


def threshold_step(
    C: CSR,
    X: BoolArray,
    *,
    threshold: float | FloatArray,
    degree: Any = None,
    below_threshold: float | Sequence[float] | FloatArray | None = None,
    seed: ScenarioSeed = None,
) -> BoolArray:
    """One synchronous step of threshold (complex) contagion; adoption is permanent.

    A non-adopter adopts when its number of adopting neighbours ``c`` meets the threshold —
    absolute (``c ≥ threshold``) or, when ``degree`` is given, fractional
    (``c / degree ≥ threshold``). With ``below_threshold`` a node that does not meet it adopts
    anyway with a small probability: a float ``q`` applies when ``c ≥ 1``; a sequence ``q``
    gives the probability for ``c = 0, 1, 2, …`` (the last entry for larger counts).

    Parameters
    ----------
    C : csr_array, shape (n_nodes, n_nodes)
        Neighbour-count matrix (:func:`neighbour_count_matrix`).
    X : ndarray of bool, shape (n_nodes, n_scenarios)
        Current adopters.
    threshold : float or ndarray
        Scalar, per node ``(n_nodes,)`` or per node and scenario ``(n_nodes, n_scenarios)``.
    degree : ndarray of int, shape (n_nodes,), optional
        Node degrees; makes the threshold fractional.
    below_threshold : float or sequence of float, optional
        Below-threshold adoption probability per step (Eckles et al.'s noisy thresholds).
    seed : int, Generator, sequence of Generators or None
        Only used with ``below_threshold``; see :func:`scenario_generators`.

    Returns
    -------
    ndarray of bool, shape (n_nodes, n_scenarios)

    Examples
    --------
    >>> from simdyn.network.operators import neighbour_count_matrix
    >>> import networkx as nx
    >>> C = neighbour_count_matrix(nx.cycle_graph(6))
    >>> X = np.array([[True], [True], [False], [False], [False], [False]])
    >>> threshold_step(C, X, threshold=2).ravel().tolist()
    [True, True, False, False, False, False]
    >>> threshold_step(C, X, threshold=1).ravel().tolist()
    [True, True, True, False, False, True]
    """
    n = C.shape[0]
    Xb = _state(X, n)
    cmin = min_adopting_neighbours(
        threshold, degree=degree, n_nodes=n, dtype=np.dtype(C.dtype).type
    )
    counts = _counts(C, Xb)
    adopt = counts >= cmin
    if below_threshold is not None:
        q = _below_table(below_threshold)
        u = _uniforms(scenario_generators(seed, Xb.shape[1]), n)
        adopt |= u < q[np.minimum(counts, q.size - 1)]
    return np.asarray(Xb | adopt)


def _log_survival(p: float | CSR) -> float | CSR:
    """``log(1 - p)`` floored so that p = 1 stays finite (scalar or per-edge CSR)."""
    if isinstance(p, sp.sparray | sp.spmatrix):
        P = sp.csr_array(p).astype(np.float64)
        data = np.asarray(P.data)
        if np.any(data < 0) or np.any(data > 1) or np.any(np.isnan(data)):
            raise NetworkError(
                "per-edge transmission probabilities must lie in [0, 1]",
                where="p",
                hint="build them with adjacency_matrix(G, weight='p') from probabilities",
            )
        L: CSR = P.copy()
        with np.errstate(divide="ignore"):
            L.data = np.maximum(np.log1p(-data), _LOG_FLOOR)
        return L
    pf = float(p)
    if not 0.0 <= pf <= 1.0:
        raise NetworkError(
            f"transmission probability must lie in [0, 1], got {p!r}",
            where="p",
            hint="p is the chance that one adopter convinces one neighbour in one step",
        )
    with np.errstate(divide="ignore"):
        return max(float(np.log1p(-pf)), _LOG_FLOOR)


def _simple_probability(C: CSR, logq: float | CSR, active: BoolArray) -> FloatArray:
    if isinstance(logq, float):
        exposure = _counts(C, active).astype(np.float64) * logq
    else:
        exposure = np.asarray(logq @ active.view(np.uint8).astype(np.float64))
    return np.asarray(-np.expm1(exposure), dtype=np.float64)


def simple_contagion_step(
    C: CSR,
    X: BoolArray,
    *,
    p: float | CSR,
    active: BoolArray | None = None,
    seed: ScenarioSeed = None,
) -> BoolArray:
    """One synchronous step of simple contagion; adoption is permanent.

    Each transmitting neighbour ``j`` of a non-adopter ``i`` convinces it independently with
    probability ``p_ij``, so ``i`` adopts with probability ``1 − Π_j (1 − p_ij)``. With
    ``active`` None every adopter transmits (SI contagion); pass the nodes that adopted in the
    previous step for an independent cascade (each adopter gets one chance per tie).

    Parameters
    ----------
    C : csr_array, shape (n_nodes, n_nodes)
        Neighbour-count matrix (used when ``p`` is a float).
    X : ndarray of bool, shape (n_nodes, n_scenarios)
        Current adopters.
    p : float or csr_array
        Transmission probability per tie and step, or a matrix ``P[i, j]`` of per-edge
        probabilities (e.g. ``adjacency_matrix(G, weight="p")``).
    active : ndarray of bool, shape (n_nodes, n_scenarios), optional
        Nodes that transmit this step (default ``X``).
    seed : int, Generator, sequence of Generators or None
        See :func:`scenario_generators`.

    Returns
    -------
    ndarray of bool, shape (n_nodes, n_scenarios)

    Examples
    --------
    >>> from simdyn.network.operators import neighbour_count_matrix
    >>> import networkx as nx
    >>> C = neighbour_count_matrix(nx.path_graph(3))
    >>> X = np.array([[True, False], [False, False], [False, True]])
    >>> simple_contagion_step(C, X, p=1.0, seed=0).astype(int)
    array([[1, 0],
           [1, 1],
           [0, 1]])
    """
    n = C.shape[0]
    Xb = _state(X, n)
    act = Xb if active is None else _state(active, n, where="active")
    prob = _simple_probability(C, _log_survival(p), act)
    u = _uniforms(scenario_generators(seed, Xb.shape[1]), n)
    return np.asarray(Xb | (u < prob))
