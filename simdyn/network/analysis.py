"""Summaries of node-level results, batched over the scenario axis (last)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from simdyn._types import BoolArray, FloatArray, IntArray
from simdyn.errors import NetworkError
from simdyn.network._common import resolve_nodelist
from simdyn.network.operators import CSR

__all__ = [
    "adoption_share",
    "convergence_factor",
    "gini",
    "influence_weights",
    "team_codes",
    "teams_reached",
    "time_to_share",
]


def _bool_state(X: Any, *, where: str = "X") -> BoolArray:
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.dtype != np.bool_:
        raise NetworkError(
            f"expected a boolean (n_nodes, n_scenarios) array, got {arr.dtype} {arr.shape}",
            where=where,
            hint="pass an adoption state such as ContagionResult.final",
        )
    return arr


def adoption_share(X: BoolArray) -> FloatArray:
    """Share of nodes that adopted, per scenario.

    Examples
    --------
    >>> adoption_share(np.array([[True, False], [False, False]]))
    array([0.5, 0. ])
    """
    arr = _bool_state(X)
    return np.asarray(arr.mean(axis=0), dtype=np.float64)


def time_to_share(counts: IntArray, n_nodes: int, *, share: float = 0.5) -> FloatArray:
    """First step at which adopters reach ``share`` of ``n_nodes``, per scenario (NaN if never).

    Parameters
    ----------
    counts : ndarray, shape (n_steps + 1, n_scenarios)
        Adopters per step, as in :attr:`ContagionResult.counts`.
    n_nodes : int
        Number of nodes.
    share : float
        Target share in (0, 1].

    Examples
    --------
    >>> counts = np.array([[1, 1], [3, 1], [6, 2]])
    >>> time_to_share(counts, 10)
    array([ 2., nan])
    """
    c = np.asarray(counts)
    if c.ndim != 2:
        raise NetworkError(
            f"counts must be (n_steps + 1, n_scenarios), got shape {c.shape}",
            where="counts",
            hint="pass ContagionResult.counts",
        )
    if not 0.0 < share <= 1.0:
        raise NetworkError(f"share must lie in (0, 1], got {share!r}", where="share", hint="0.5")
    reached = c >= share * n_nodes
    first = np.argmax(reached, axis=0).astype(np.float64)
    return np.asarray(np.where(reached.any(axis=0), first, np.nan), dtype=np.float64)


def team_codes(
    G: nx.Graph[Any], *, nodelist: Iterable[Hashable] | None = None, attr: str = "team"
) -> tuple[IntArray, tuple[Hashable, ...]]:
    """Integer team code per node (in ``nodelist`` order) and the team labels they index.

    Examples
    --------
    >>> G = nx.Graph()
    >>> G.add_nodes_from([(0, {"team": "x"}), (1, {"team": "y"}), (2, {"team": "x"})])
    >>> team_codes(G)
    (array([0, 1, 0]), ('x', 'y'))
    """
    order = resolve_nodelist(G, nodelist)
    labels: dict[Hashable, int] = {}
    codes = np.empty(len(order), dtype=np.int64)
    for i, node in enumerate(order):
        if attr not in G.nodes[node]:
            raise NetworkError(
                f"node {node!r} has no {attr!r} attribute",
                where=f"nodes[{node!r}]",
                hint=f"give every node a {attr!r} attribute",
            )
        codes[i] = labels.setdefault(G.nodes[node][attr], len(labels))
    return codes, tuple(labels)


def teams_reached(X: BoolArray, teams: IntArray, *, min_adopters: int = 1) -> FloatArray:
    """Share of teams with at least ``min_adopters`` adopters, per scenario.

    Parameters
    ----------
    X : ndarray of bool, shape (n_nodes, n_scenarios)
        Adoption state.
    teams : ndarray of int, shape (n_nodes,)
        Team code per node, 0 … n_teams-1 (see :func:`team_codes`).
    min_adopters : int
        Adopters a team needs to count as reached.

    Examples
    --------
    >>> X = np.array([[True, False], [False, False], [True, True]])
    >>> teams_reached(X, np.array([0, 0, 1]))
    array([1. , 0.5])
    """
    arr = _bool_state(X)
    codes = np.asarray(teams, dtype=np.int64)
    if codes.shape != (arr.shape[0],) or (codes.size and codes.min() < 0):
        raise NetworkError(
            f"teams must be {arr.shape[0]} non-negative codes, got shape {codes.shape}",
            where="teams",
            hint="use team_codes(G, nodelist=...)",
        )
    n_teams = int(codes.max(initial=-1)) + 1
    member = sp.csr_array(
        (np.ones(codes.size, dtype=np.int64), (codes, np.arange(codes.size))),
        shape=(n_teams, codes.size),
    )
    per_team = np.asarray(member @ arr.view(np.uint8).astype(np.int64))
    return np.asarray((per_team >= min_adopters).mean(axis=0), dtype=np.float64)


def gini(S: FloatArray) -> FloatArray:
    """Gini coefficient of non-negative values over nodes, per scenario (0 = equal).

    Columns that sum to zero give 0.

    Examples
    --------
    >>> gini(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 4.0]]))
    array([0.  , 0.75])
    """
    x = np.asarray(S, dtype=np.float64)
    if x.ndim != 2:
        raise NetworkError(
            f"expected an (n_nodes, n_scenarios) array, got shape {x.shape}",
            where="S",
            hint="node-level values have the scenario axis last",
        )
    if np.any(x < 0) or np.any(np.isnan(x)):
        raise NetworkError(
            "the Gini coefficient needs non-negative values", where="S", hint="shift or clip S"
        )
    n = x.shape[0]
    xs = np.sort(x, axis=0)
    total = xs.sum(axis=0)
    ranks = np.arange(1, n + 1, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (2.0 * (ranks * xs).sum(axis=0)) / (n * total) - (n + 1.0) / n
    return np.asarray(np.where(total > 0, g, 0.0), dtype=np.float64)


def _eigenvalues(W: CSR, k: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Left eigenpairs of ``W`` (eigenvectors of ``Wᵀ``), largest modulus first."""
    n = W.shape[0]
    if n <= 2000 or k >= n - 1:
        vals, vecs = np.linalg.eig(W.T.toarray())
    else:
        vals, vecs = spla.eigs(sp.csr_array(W.T), k=k, which="LM")
    order = np.argsort(-np.abs(vals), kind="stable")
    return vals[order], vecs[:, order]


def influence_weights(W: CSR) -> FloatArray:
    """DeGroot influence weights: the left unit eigenvector ``π = π W`` scaled to sum to 1.

    For a connected aperiodic graph, repeated averaging ``x ← W x`` converges to the consensus
    ``π · x₀`` in every scenario.

    Examples
    --------
    >>> from simdyn.network.operators import averaging_matrix
    >>> influence_weights(averaging_matrix(nx.path_graph(3))).round(3)
    array([0.25, 0.5 , 0.25])
    """
    vals, vecs = _eigenvalues(W, 2)
    pi = np.real(vecs[:, int(np.argmin(np.abs(vals - 1.0)))])
    return np.asarray(pi / pi.sum(), dtype=np.float64)


def convergence_factor(W: CSR) -> float:
    """Second-largest eigenvalue modulus ``|λ₂|`` of ``W``: the per-step contraction of disagreement.

    Closer to 1 means slower consensus (siloed organisations).

    Examples
    --------
    >>> from simdyn.network.operators import averaging_matrix
    >>> round(convergence_factor(averaging_matrix(nx.complete_graph(4))), 6)
    0.333333
    """
    if W.shape[0] < 2:
        return 0.0
    vals, _ = _eigenvalues(W, 2)
    return float(np.abs(vals[1]))
