"""Sparse operators of an org graph.

Every graph→matrix function has the signature ``(G, *, nodelist=None, weight="strength")``, as
:func:`networkx.laplacian_matrix` does, and returns a :class:`scipy.sparse.csr_array` whose rows
and columns follow ``nodelist`` (``G``'s own node order when ``nodelist`` is None). A missing
``weight`` attribute counts as 1; ``weight=None`` ignores weights. Graphs must be undirected,
without parallel edges or self-loops, with finite non-negative weights.

Applied to a node-level state ``X`` of shape ``(n_nodes, n_scenarios)`` each operator advances
all scenarios with one sparse-dense product.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import networkx as nx
import numpy as np
import scipy.sparse as sp

from simdyn._limits import MAX_NODES
from simdyn._types import FloatArray, IntArray
from simdyn.errors import NetworkError
from simdyn.network._common import edge_arrays, resolve_nodelist

__all__ = [
    "CSR",
    "GraphOperators",
    "adjacency_matrix",
    "averaging_matrix",
    "count_dtype",
    "degree_vector",
    "flux_matrix",
    "neighbour_count_matrix",
    "strength_vector",
]

CSR: TypeAlias = sp.csr_array
"""The sparse matrix type of all operators."""


def _symmetric(
    rows: IntArray, cols: IntArray, data: np.ndarray[Any, Any], n: int, dtype: type[Any]
) -> CSR:
    r = np.concatenate([rows, cols])
    c = np.concatenate([cols, rows])
    d = np.concatenate([data, data]).astype(dtype)
    A = sp.csr_array((d, (r, c)), shape=(n, n))
    A.sort_indices()
    return A


def adjacency_matrix(
    G: nx.Graph[Any], *, nodelist: Iterable[Hashable] | None = None, weight: str | None = "strength"
) -> CSR:
    """Weighted adjacency matrix ``A[i, j] = w_ij`` (float64).

    Examples
    --------
    >>> G = nx.path_graph(3)
    >>> G.edges[0, 1]["strength"] = 0.5
    >>> adjacency_matrix(G).toarray()
    array([[0. , 0.5, 0. ],
           [0.5, 0. , 1. ],
           [0. , 1. , 0. ]])
    """
    order = resolve_nodelist(G, nodelist)
    rows, cols, w = edge_arrays(G, order, weight)
    return _symmetric(rows, cols, w, len(order), np.float64)


def count_dtype(max_degree: int) -> type[np.unsignedinteger[Any]]:
    """Smallest unsigned integer type that holds neighbour counts up to ``max_degree + 1``.

    Examples
    --------
    >>> count_dtype(6).__name__, count_dtype(300).__name__
    ('uint8', 'uint16')
    """
    if max_degree < 255:
        return np.uint8
    if max_degree < 65535:
        return np.uint16
    return np.uint32


def neighbour_count_matrix(
    G: nx.Graph[Any], *, nodelist: Iterable[Hashable] | None = None, weight: str | None = "strength"
) -> CSR:
    """Unweighted 0/1 adjacency in the smallest unsigned integer type (see :func:`count_dtype`).

    ``C @ X.view(np.uint8)`` for a boolean state ``X`` counts each node's adopting neighbours,
    exactly, for all scenarios at once. ``weight`` is accepted for a uniform signature; ties
    of any strength count as one neighbour (edges of strength 0 included).

    Examples
    --------
    >>> C = neighbour_count_matrix(nx.star_graph(3))
    >>> X = np.array([[False, True], [True, True], [True, False], [False, False]])
    >>> (C @ X.view(np.uint8))[:, 0]
    array([2, 0, 0, 0], dtype=uint8)
    """
    order = resolve_nodelist(G, nodelist)
    rows, cols, _ = edge_arrays(G, order, None)
    n = len(order)
    deg = np.bincount(rows, minlength=n) + np.bincount(cols, minlength=n)
    dtype = count_dtype(int(deg.max(initial=0)))
    return _symmetric(rows, cols, np.ones(len(rows)), n, dtype)


def degree_vector(
    G: nx.Graph[Any], *, nodelist: Iterable[Hashable] | None = None, weight: str | None = "strength"
) -> IntArray:
    """Number of neighbours of each node (for fractional thresholds), shape ``(n_nodes,)``.

    ``weight`` is accepted for a uniform signature and ignored; see :func:`strength_vector`.

    Examples
    --------
    >>> degree_vector(nx.star_graph(3))
    array([3, 1, 1, 1])
    """
    order = resolve_nodelist(G, nodelist)
    rows, cols, _ = edge_arrays(G, order, None)
    n = len(order)
    return (np.bincount(rows, minlength=n) + np.bincount(cols, minlength=n)).astype(np.int64)


def strength_vector(
    G: nx.Graph[Any], *, nodelist: Iterable[Hashable] | None = None, weight: str | None = "strength"
) -> FloatArray:
    """Weighted degree ``s_i = Σ_j w_ij``, shape ``(n_nodes,)``.

    Examples
    --------
    >>> G = nx.path_graph(3)
    >>> G.edges[0, 1]["strength"] = 0.5
    >>> strength_vector(G)
    array([0.5, 1.5, 1. ])
    """
    order = resolve_nodelist(G, nodelist)
    rows, cols, w = edge_arrays(G, order, weight)
    n = len(order)
    s = np.bincount(rows, weights=w, minlength=n) + np.bincount(cols, weights=w, minlength=n)
    return np.asarray(s, dtype=np.float64)


def averaging_matrix(
    G: nx.Graph[Any], *, nodelist: Iterable[Hashable] | None = None, weight: str | None = "strength"
) -> CSR:
    """Row-stochastic DeGroot matrix ``W = D⁻¹ A``: each node averages its neighbours.

    A node with no neighbours (or only ties of strength 0) gets ``W[i, i] = 1`` and keeps its
    value. Every row sums to 1, so ``W @ X`` never leaves ``[min X, max X]`` column by column.

    Examples
    --------
    >>> W = averaging_matrix(nx.path_graph(3))
    >>> W.toarray()
    array([[0. , 1. , 0. ],
           [0.5, 0. , 0.5],
           [0. , 1. , 0. ]])
    >>> G = nx.Graph([(0, 1)])
    >>> G.add_node(2)
    >>> averaging_matrix(G).toarray()[2]
    array([0., 0., 1.])
    """
    A = adjacency_matrix(G, nodelist=nodelist, weight=weight)
    s = np.asarray(A.sum(axis=1)).ravel()
    isolated = s == 0
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    denom = np.where(isolated, 1.0, s)[rows]
    scaled = sp.csr_array((np.asarray(A.data) / denom, A.indices, A.indptr), shape=A.shape)
    W = sp.csr_array(scaled + sp.diags_array(isolated.astype(np.float64)))
    W.eliminate_zeros()
    W.sort_indices()
    return W


def flux_matrix(
    G: nx.Graph[Any], *, nodelist: Iterable[Hashable] | None = None, weight: str | None = "strength"
) -> CSR:
    """Conserving Laplacian flux matrix ``M = A − D`` (minus the weighted Laplacian).

    ``(M @ X)[i] = Σ_j w_ij (X_j − X_i)``: each tie moves quantity from the higher to the lower
    end at rate ``w_ij``. Every column of ``M`` sums to zero, so ``M @ X`` sums to zero over
    nodes and ``X + dt * M @ X`` conserves each scenario's total.

    Examples
    --------
    >>> M = flux_matrix(nx.path_graph(3))
    >>> M.toarray()
    array([[-1.,  1.,  0.],
           [ 1., -2.,  1.],
           [ 0.,  1., -1.]])
    >>> M.sum(axis=0)
    array([0., 0., 0.])
    """
    A = adjacency_matrix(G, nodelist=nodelist, weight=weight)
    s = np.asarray(A.sum(axis=1)).ravel()
    M = sp.csr_array(A - sp.diags_array(s))
    M.sort_indices()
    return M


@dataclass(frozen=True, eq=False)
class GraphOperators:
    """The operators of one graph in one node order, built once and reused.

    Attributes
    ----------
    nodelist : tuple
        Node order; row ``i`` of every operator and state array is node ``nodelist[i]``.
    adjacency : csr_array, float64
        Weighted adjacency (:func:`adjacency_matrix`).
    averaging : csr_array, float64
        Row-stochastic DeGroot matrix (:func:`averaging_matrix`).
    flux : csr_array, float64
        Conserving Laplacian flux (:func:`flux_matrix`).
    counts : csr_array, unsigned int
        Unweighted 0/1 adjacency for counting adopting neighbours (:func:`neighbour_count_matrix`).
    degree : ndarray of int64, shape (n_nodes,)
        Number of neighbours.
    strength : ndarray of float64, shape (n_nodes,)
        Weighted degree.

    Examples
    --------
    >>> ops = GraphOperators.from_graph(nx.cycle_graph(4))
    >>> ops.n_nodes, ops.degree.tolist()
    (4, [2, 2, 2, 2])
    >>> ops.index(2)
    2
    """

    nodelist: tuple[Hashable, ...]
    adjacency: CSR
    averaging: CSR
    flux: CSR
    counts: CSR
    degree: IntArray
    strength: FloatArray
    _rows: dict[Hashable, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", {node: i for i, node in enumerate(self.nodelist)})

    @classmethod
    def from_graph(
        cls,
        G: nx.Graph[Any],
        *,
        nodelist: Iterable[Hashable] | None = None,
        weight: str | None = "strength",
    ) -> GraphOperators:
        """Build all operators of ``G`` in the order ``nodelist``."""
        if G.number_of_nodes() > MAX_NODES:
            raise NetworkError(
                f"the graph has {G.number_of_nodes():,} nodes; simdyn simulates at most {MAX_NODES:,}",
                where="network",
            )
        order = resolve_nodelist(G, nodelist)
        return cls(
            nodelist=order,
            adjacency=adjacency_matrix(G, nodelist=order, weight=weight),
            averaging=averaging_matrix(G, nodelist=order, weight=weight),
            flux=flux_matrix(G, nodelist=order, weight=weight),
            counts=neighbour_count_matrix(G, nodelist=order),
            degree=degree_vector(G, nodelist=order),
            strength=strength_vector(G, nodelist=order, weight=weight),
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodelist)

    def index(self, node: Hashable) -> int:
        """Row of ``node``."""
        try:
            return self._rows[node]
        except KeyError:
            raise NetworkError(
                f"node {node!r} is not in the graph",
                where="node",
                hint="use a node from ops.nodelist",
            ) from None
