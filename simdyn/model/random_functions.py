"""XMILE's random builtins as extension functions: ``NORMAL``, ``UNIFORM``/``RANDOM``,
``EXPRND``, ``LOGNORMAL``, ``POISSON``.

Each scenario draws from its own stream derived from the run's ``seed`` (so results do not
depend on chunking), or from the function's own last argument when it is given, as in Stella
(``NORMAL(mean, sd, seed)``: the same sequence in every run). A new number is drawn every time
the right-hand side is evaluated: once per ``DT`` with Euler, once per stage with RK2/RK4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simdyn.model.functions import BindContext, Function, register_function

__all__ = ["RANDOM_FUNCTIONS"]

_STREAM = 7  # spawn-key tag that keeps these streams apart from random events'

Draw = Callable[[np.random.Generator, list[np.ndarray[Any, Any]]], Any]


def _streams(ctx: BindContext, own_seed: float | None) -> list[np.random.Generator]:
    if own_seed is not None:
        root = np.random.SeedSequence(int(own_seed))
    else:
        root = ctx.seed if ctx.seed is not None else np.random.SeedSequence()
    first = ctx.scenarios.start or 0
    return [
        np.random.default_rng(
            np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, first + k, _STREAM))
        )
        for k in range(ctx.n_scenarios)
    ]


def _factory(n_params: int, draw: Draw) -> Callable[[BindContext], Callable[..., Any]]:
    def factory(ctx: BindContext) -> Callable[..., Any]:
        cache: dict[float | None, list[np.random.Generator]] = {}

        def call(*args: Any) -> Any:
            params = [np.asarray(a, dtype=float) for a in args[:n_params]]
            own = float(np.asarray(args[n_params]).flat[0]) if len(args) > n_params else None
            gens = cache.get(own)
            if gens is None:
                gens = cache[own] = _streams(ctx, own)
            shape = np.broadcast_shapes(*(p.shape for p in params)) or (1,)
            shape = (*shape[:-1], ctx.n_scenarios)
            full = [np.broadcast_to(p, shape) for p in params]
            out = np.empty(shape)
            for k, gen in enumerate(gens):
                out[..., k] = draw(gen, [p[..., k] for p in full])
            return out

        return call

    return factory


def _lognormal(gen: np.random.Generator, p: list[np.ndarray[Any, Any]]) -> Any:
    # XMILE: mean and standard deviation of the distribution itself
    mean, sd = p
    sigma2 = np.log1p((sd / mean) ** 2)
    return gen.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2))


RANDOM_FUNCTIONS = (
    Function(
        "NORMAL",
        2,
        3,
        "NORMAL(mean, sd[, seed]): a normal draw",
        _factory(2, lambda g, p: g.normal(p[0], p[1])),
    ),
    Function(
        "UNIFORM",
        2,
        3,
        "UNIFORM(min, max[, seed]): a uniform draw",
        _factory(2, lambda g, p: g.uniform(p[0], p[1])),
    ),
    Function(
        "RANDOM",
        2,
        3,
        "RANDOM(min, max[, seed]): a uniform draw (Stella)",
        _factory(2, lambda g, p: g.uniform(p[0], p[1])),
    ),
    Function(
        "EXPRND",
        1,
        2,
        "EXPRND(mean[, seed]): an exponential draw",
        _factory(1, lambda g, p: g.exponential(p[0])),
    ),
    Function(
        "LOGNORMAL",
        2,
        3,
        "LOGNORMAL(mean, sd[, seed]): a log-normal draw with this mean and sd",
        _factory(2, _lognormal),
    ),
    Function(
        "POISSON",
        1,
        2,
        "POISSON(mean[, seed]): a Poisson draw",
        _factory(1, lambda g, p: g.poisson(p[0])),
    ),
)

for _fn in RANDOM_FUNCTIONS:
    register_function(_fn)
