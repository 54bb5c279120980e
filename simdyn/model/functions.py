"""Extension functions for the equation language (for example the network builtins).

An extension function is named in equations like a builtin (case-insensitive). At compile time
simdyn checks its arity and works out its result's dimensions; when a run starts, ``factory`` is
called once with a :class:`BindContext` and returns the callable the generated code calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simdyn.expr import BUILTINS, KEYWORDS

__all__ = ["FUNCTIONS", "BindContext", "Function", "register_function"]


@dataclass(frozen=True)
class BindContext:
    """What a function factory may use when a run starts.

    ``teams`` holds the team code of each node (in the network's node order) when the graph's
    nodes carry a ``team`` attribute. ``scenarios`` is the slice of the whole batch this chunk
    covers; a stochastic function
    should draw scenario ``k``'s numbers from
    ``SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, k))`` so that results do not
    depend on chunking.
    """

    n_scenarios: int
    dim_sizes: Mapping[str, int]
    network: Any = None
    teams: np.ndarray[Any, np.dtype[np.int64]] | None = None
    seed: np.random.SeedSequence | None = None
    scenarios: slice = field(default_factory=lambda: slice(None))


def _union_dims(arg_dims: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    out: list[str] = []
    for d in arg_dims:
        out.extend(x for x in d if x not in out)
    return tuple(out)


@dataclass(frozen=True)
class Function:
    """An extension function.

    Parameters
    ----------
    name
        Name used in equations (stored upper-case).
    min_args, max_args
        Accepted number of arguments.
    doc
        One line for ``simdyn show`` and the docs.
    factory
        ``factory(ctx) -> callable``; the callable receives the arguments as arrays laid out
        ``(*dims, n_scenarios)`` and returns an array laid out the same way.
    result_dims
        ``result_dims(arg_dims) -> dims`` (default: the union of the arguments' dimensions, in
        the model's dimension order).
    needs_network
        The function can only run with a network (the ``node`` dimension).
    """

    name: str
    min_args: int
    max_args: int
    doc: str
    factory: Callable[[BindContext], Callable[..., Any]]
    result_dims: Callable[[Sequence[tuple[str, ...]]], tuple[str, ...]] = _union_dims
    needs_network: bool = False


FUNCTIONS: dict[str, Function] = {}


def register_function(fn: Function) -> Function:
    """Add ``fn`` to the vocabulary; its name may not shadow a builtin or keyword."""
    name = fn.name.upper()
    if name in BUILTINS or name in KEYWORDS:
        raise ValueError(f"{fn.name!r} is a builtin name")
    if name != fn.name:
        fn = Function(
            name, fn.min_args, fn.max_args, fn.doc, fn.factory, fn.result_dims, fn.needs_network
        )
    FUNCTIONS[name] = fn
    return fn
