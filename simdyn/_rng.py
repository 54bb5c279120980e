"""One way in for randomness: a ``seed`` argument normalised here.

Every stochastic function in simdyn takes ``seed: int | numpy.random.Generator | None`` and
passes it through :func:`as_generator`. Global random state is never touched.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Seed", "as_generator", "child_generators", "scenario_stream"]

Seed = int | np.random.Generator | np.random.SeedSequence | None


def as_generator(seed: Seed) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    An existing generator is returned as it is (so callers share its stream); an int or a
    :class:`~numpy.random.SeedSequence` seeds a new PCG64 generator; ``None`` draws fresh
    entropy from the operating system.

    Examples
    --------
    >>> as_generator(42).integers(10) == as_generator(42).integers(10)
    np.True_
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, int | np.random.SeedSequence):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy Generator or None, not {type(seed).__name__}")


def child_generators(
    seed: int | np.random.SeedSequence | None, n: int
) -> list[np.random.Generator]:
    """Return ``n`` independent generators derived from one root ``seed``.

    Child ``k`` depends only on the root seed and ``k``, so work split into chunks draws the same
    numbers whatever the chunk size or the number of workers.
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.default_rng(s) for s in root.spawn(n)]


def scenario_stream(root: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The seed of scenario ``k``'s random events: ``root``'s spawn key extended by ``k``.

    Scenario ``k`` of a run (counted from the first scenario of the whole batch) always gets
    the same stream, whatever the chunk it runs in and whichever backend runs it.

    Examples
    --------
    >>> root = np.random.SeedSequence(5)
    >>> scenario_stream(root, 3).spawn_key
    (3,)
    """
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k))
