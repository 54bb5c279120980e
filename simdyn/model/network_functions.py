"""Network builtins of the equation language, backed by :mod:`simdyn.network`'s kernels.

They act on node-level values (dimension ``node``, laid out ``(n_nodes, ..., n_scenarios)``)
and need a run with a network. Registered when :mod:`simdyn.model` is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from simdyn._types import FloatArray
from simdyn.errors import ExpressionError, ScenarioError
from simdyn.model.functions import BindContext, Function, register_function
from simdyn.model.loader import NODE_DIM

if TYPE_CHECKING:  # the kernels (networkx, scipy) are imported when a network model is bound
    from simdyn.network import GraphOperators
    from simdyn.network.operators import CSR

__all__ = ["NETWORK_FUNCTIONS"]


def _node_arg(name: str) -> Callable[[Sequence[tuple[str, ...]]], tuple[str, ...]]:
    def dims(arg_dims: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
        if NODE_DIM not in arg_dims[0]:
            raise ExpressionError(
                f'{name} needs a node-level argument (a variable with dims = ["node"])'
            )
        return arg_dims[0]

    return dims


def _reduce_nodes(name: str) -> Callable[[Sequence[tuple[str, ...]]], tuple[str, ...]]:
    check = _node_arg(name)

    def dims(arg_dims: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
        return tuple(d for d in check(arg_dims) if d != NODE_DIM)

    return dims


def _ops(ctx: BindContext, name: str) -> GraphOperators:
    from simdyn.network import GraphOperators

    if not isinstance(ctx.network, GraphOperators):
        raise ScenarioError(f"{name} needs a network", where="network", hint="pass network=...")
    return ctx.network


def _apply(matrix: CSR) -> Callable[[Any], FloatArray]:
    n = matrix.shape[0]

    def f(x: Any) -> FloatArray:
        arr = np.asarray(x, dtype=np.float64)
        flat = arr.reshape(n, -1)
        return np.asarray(matrix @ flat, dtype=np.float64).reshape(arr.shape)

    return f


def _transfer(ctx: BindContext) -> Callable[[Any], FloatArray]:
    from simdyn.network import knowledge_transfer_rate

    ops = _ops(ctx, "PEER_TRANSFER")
    n = ops.n_nodes

    def f(x: Any) -> FloatArray:
        arr = np.asarray(x, dtype=np.float64)
        return knowledge_transfer_rate(ops.adjacency, arr.reshape(n, -1)).reshape(arr.shape)

    return f


def _gini(ctx: BindContext) -> Callable[[Any], FloatArray]:
    from simdyn.network import gini

    n = _ops(ctx, "GINI").n_nodes

    def f(x: Any) -> FloatArray:
        arr = np.asarray(x, dtype=np.float64)
        flat = np.broadcast_to(arr, (n, *arr.shape[1:])).reshape(n, -1)
        bad = ~(np.isfinite(flat) & (flat >= 0)).all(axis=0)
        g = gini(np.where(bad, 0.0, flat))
        return np.where(bad, np.nan, g).reshape(arr.shape[1:])

    return f


def _teams_reached(ctx: BindContext) -> Callable[[Any, Any], FloatArray]:
    import scipy.sparse as sp

    n = _ops(ctx, "TEAMS_REACHED").n_nodes
    # a graph whose nodes carry no 'team' attribute is one team
    codes = ctx.teams if ctx.teams is not None else np.zeros(n, dtype=np.int64)
    n_teams = int(codes.max(initial=-1)) + 1
    sizes = np.bincount(codes, minlength=n_teams).astype(np.float64)
    mean = sp.csr_array((1.0 / sizes[codes], (codes, np.arange(n))), shape=(n_teams, n))

    def f(x: Any, level: Any) -> FloatArray:
        arr = np.asarray(x, dtype=np.float64)
        lev = np.asarray(level, dtype=np.float64)
        # x is (node, *rest) and level (*rest) or less: either may vary over the other's axes
        shape = np.broadcast_shapes(arr.shape[1:], lev.shape)
        rest = arr.reshape(arr.shape[0], *(1,) * (len(shape) + 1 - arr.ndim), *arr.shape[1:])
        flat = np.broadcast_to(rest, (n, *shape)).reshape(n, -1)
        reached = np.asarray(mean @ flat) >= np.broadcast_to(lev, shape).reshape(1, -1)
        return np.asarray(reached.mean(axis=0), dtype=np.float64).reshape(shape)

    return f


def _degree(ctx: BindContext) -> Callable[[], FloatArray]:
    deg = _ops(ctx, "DEGREE").degree.astype(np.float64)[:, None]
    return lambda: deg


NETWORK_FUNCTIONS: tuple[Function, ...] = (
    Function(
        "NEIGHBOR_MEAN",
        1,
        1,
        "strength-weighted mean of x over each node's neighbours (a DeGroot step; the adoption "
        "pressure of a practice x in [0, 1]); an isolated node keeps its own value",
        lambda ctx: _apply(_ops(ctx, "NEIGHBOR_MEAN").averaging),
        _node_arg("NEIGHBOR_MEAN"),
        needs_network=True,
    ),
    Function(
        "NEIGHBOR_SUM",
        1,
        1,
        "strength-weighted sum of x over each node's neighbours",
        lambda ctx: _apply(_ops(ctx, "NEIGHBOR_SUM").adjacency),
        _node_arg("NEIGHBOR_SUM"),
        needs_network=True,
    ),
    Function(
        "NEIGHBOR_COUNT",
        1,
        1,
        "unweighted sum of x over each node's neighbours (for x in {0, 1}: adopting neighbours)",
        lambda ctx: _apply(_ops(ctx, "NEIGHBOR_COUNT").counts.astype(np.float64)),
        _node_arg("NEIGHBOR_COUNT"),
        needs_network=True,
    ),
    Function(
        "DIFFUSION_FLUX",
        1,
        1,
        "conserving Laplacian flux of x: net inflow from neighbours, summing to zero over nodes",
        lambda ctx: _apply(_ops(ctx, "DIFFUSION_FLUX").flux),
        _node_arg("DIFFUSION_FLUX"),
        needs_network=True,
    ),
    Function(
        "PEER_TRANSFER",
        1,
        1,
        "sum over neighbours of tie strength × max(x_j − x_i, 0): learning from better-skilled peers",
        _transfer,
        _node_arg("PEER_TRANSFER"),
        needs_network=True,
    ),
    Function(
        "GINI",
        1,
        1,
        "Gini coefficient of x over the nodes (0 = equal, → 1 = concentrated)",
        _gini,
        _reduce_nodes("GINI"),
        needs_network=True,
    ),
    Function(
        "TEAMS_REACHED",
        2,
        2,
        "TEAMS_REACHED(x, level): share of teams whose mean of x is at least level (teams from the "
        "graph's 'team' node attribute; without it the whole graph is one team)",
        _teams_reached,
        _reduce_nodes("TEAMS_REACHED"),
        needs_network=True,
    ),
    Function(
        "DEGREE",
        0,
        0,
        "number of neighbours of each node",
        _degree,
        lambda arg_dims: (NODE_DIM,),
        needs_network=True,
    ),
)

for _fn in NETWORK_FUNCTIONS:
    register_function(_fn)
