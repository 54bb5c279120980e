"""Limits checked before a run starts: the time grid, and the memory a run will need.

Every check raises a one-line :class:`~simdyn.errors.ScenarioError` before any work is done,
with numbers printed ``%g``-style (never a 300-digit integer).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import operator
import os
import warnings
from collections.abc import Iterator

from simdyn.errors import ScenarioError

__all__ = [
    "MAX_DELAY_ORDER",
    "MAX_NODES",
    "MAX_STEPS",
    "available_memory",
    "check_chunk_size",
    "check_memory",
    "check_run_memory",
    "check_time_grid",
    "estimate_run_bytes",
    "format_bytes",
    "memory_budget",
    "parse_bytes",
    "resolve_budget",
]

MAX_STEPS = 50_000_000
"""Most integration steps one run may take."""

MAX_NODES = 1_000_000
"""Most nodes (people) an org graph may have."""

MAX_DELAY_ORDER = 1000
"""Highest order of ``DELAYN`` (each order is one hidden stock)."""


def check_time_grid(start: float, stop: float, dt: float, save_per: float) -> None:
    """Check that ``start``, ``stop``, ``dt`` and ``save_per`` make a grid simdyn can run.

    Examples
    --------
    >>> check_time_grid(0.0, 1e308, 1.0, 1.0)
    Traceback (most recent call last):
    ...
    simdyn.errors.ScenarioError: dt: (stop - start) / dt is 1e+308 steps, too many (at most 5e+07) (use a larger dt or a shorter run)
    """
    for key, value in (("start", start), ("stop", stop), ("dt", dt), ("save_per", save_per)):
        if not math.isfinite(value):
            raise ScenarioError(f"{key} must be a finite number", where=key)
    if dt <= 0:
        raise ScenarioError(f"dt must be positive, not {dt:g}", where="dt")
    if stop <= start:
        raise ScenarioError(f"stop ({stop:g}) must be after start ({start:g})", where="stop")
    span = stop - start
    steps = span / dt
    if not math.isfinite(span) or not steps <= MAX_STEPS:
        raise ScenarioError(
            f"(stop - start) / dt is {steps:.3g} steps, too many (at most {MAX_STEPS:.3g})",
            where="dt",
            hint="use a larger dt or a shorter run",
        )
    n_steps = round(steps)
    if n_steps < 1 or abs(n_steps * dt - span) > 1e-9 * max(1.0, abs(stop)):
        raise ScenarioError(
            f"stop - start ({span:g}) is not a whole number of steps dt = {dt:g}",
            where="dt",
            hint="choose dt so that (stop - start) / dt is a whole number",
        )
    ratio = save_per / dt
    if ratio > n_steps + 0.5:
        raise ScenarioError(
            f"save_per ({save_per:g}) is longer than the run ({span:g})",
            where="save_per",
            hint=f"save at most every {span:g}",
        )
    if save_per < dt or abs(max(1, round(ratio)) * dt - save_per) > 1e-9 * save_per:
        raise ScenarioError(
            f"save_per ({save_per:g}) must be a whole multiple of dt ({dt:g})",
            where="save_per",
        )


def check_chunk_size(chunk_size: object, default: int) -> int:
    """``chunk_size`` as a positive integer (``None``: ``default``).

    Examples
    --------
    >>> check_chunk_size(0, 8192)
    Traceback (most recent call last):
    ...
    simdyn.errors.ScenarioError: chunk_size: chunk_size must be a positive whole number, not 0
    """
    if chunk_size is None:
        return default
    try:
        size = operator.index(chunk_size)  # type: ignore[arg-type]
    except TypeError:
        size = 0
    if isinstance(chunk_size, bool) or size <= 0:
        shown = f"{chunk_size:g}" if isinstance(chunk_size, float) else repr(chunk_size)[:40]
        raise ScenarioError(
            f"chunk_size must be a positive whole number, not {shown}", where="chunk_size"
        )
    return size


#: environment variable that sets the default number of threads of a numpy-backend run
THREADS_ENV = "SIMDYN_THREADS"


def available_cores() -> int:
    """Cores this process may run on: ``os.cpu_count()`` capped by the CPU affinity mask."""
    count = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        count = min(count, len(os.sched_getaffinity(0)))
    return max(1, count)


def resolve_threads(threads: object) -> int:
    """Threads a numpy-backend run uses: ``threads``, else ``$SIMDYN_THREADS``, else every
    available core (:func:`available_cores`).

    Examples
    --------
    >>> resolve_threads(2)
    2
    >>> resolve_threads(0)
    Traceback (most recent call last):
    ...
    simdyn.errors.ScenarioError: threads: threads must be a positive whole number, not 0 (1 runs the chunks one after another; leave it unset to use every core)
    """
    where = "threads"
    if threads is None:
        env = os.environ.get(THREADS_ENV, "").strip()
        if not env:
            return available_cores()
        where, threads = THREADS_ENV, env
        with contextlib.suppress(ValueError):
            threads = int(env)
    try:
        count = operator.index(threads)  # type: ignore[arg-type]
    except TypeError:
        count = 0
    if isinstance(threads, bool) or count <= 0:
        raise ScenarioError(
            f"{where} must be a positive whole number, not {str(threads)[:40]!s}",
            where=where,
            hint="1 runs the chunks one after another; leave it unset to use every core",
        )
    return count


def available_memory() -> int | None:
    """Physical memory available to this process, in bytes (``None`` if unknown).

    The smaller of the machine's available pages (``os.sysconf``) and a cgroup v2 memory
    limit, when one is set.
    """
    found: list[int] = []
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            found.append(pages * size)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            text = f.read().strip()
        if text.isdigit():
            limit = int(text)
            with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
                used = int(f.read().strip() or 0)
            found.append(max(0, limit - used))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def format_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KiB'``.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(12)
    ('3 GiB', '12 B')
    """
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_bytes(text: str | float | int) -> int:
    """Read a memory size: a number of bytes, or a number with K, M, G or T (powers of 1024).

    Examples
    --------
    >>> parse_bytes("2G"), parse_bytes("512MiB"), parse_bytes(1000)
    (2147483648, 536870912, 1000)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        raw = str(text).strip().upper().removesuffix("IB").removesuffix("B")
        unit = raw[-1:] if raw[-1:] in _UNITS and raw[-1:] != "" else ""
        number = raw[: len(raw) - len(unit)].strip()
        try:
            value = float(number)
        except ValueError:
            raise ScenarioError(
                f"{str(text)[:40]!r} is not a memory size",
                where="max_memory",
                hint="e.g. 4G, 512M or a number of bytes",
            ) from None
    if not math.isfinite(value) or value <= 0:
        raise ScenarioError(
            f"the memory budget must be a positive size, not {value:g}", where="max_memory"
        )
    return int(value * _UNITS[unit])


def check_memory(
    needed: float, budget: int | None, *, what: str, hint: str, where: str = "max_memory"
) -> None:
    """Refuse to start when ``needed`` bytes exceed ``budget`` (no budget: no check)."""
    if budget is not None and needed > budget:
        raise ScenarioError(
            f"{what} needs about {format_bytes(needed)}, more than the memory budget of {format_bytes(budget)}",
            where=where,
            hint=hint,
        )


_BUDGET: contextvars.ContextVar[int | None] = contextvars.ContextVar("simdyn_budget", default=None)

WARN_FRACTION = 0.5
"""A run estimated to need more than this share of the budget warns before it starts."""


@contextlib.contextmanager
def memory_budget(limit: int | str | None) -> Iterator[None]:
    """Within the block, runs that give no ``max_memory`` use ``limit`` (``None``: no change).

    This is how ``simdyn run --max-memory 2G`` reaches every run of a scenario file.
    """
    if limit is None:
        yield
        return
    token = _BUDGET.set(parse_bytes(limit))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def resolve_budget(max_memory: int | str | None) -> int | None:
    """The memory budget of a run: ``max_memory``, else the enclosing :func:`memory_budget`,
    else the memory available on this machine (:func:`available_memory`)."""
    if max_memory is not None:
        return parse_bytes(max_memory)
    inherited = _BUDGET.get()
    return inherited if inherited is not None else available_memory()


def estimate_run_bytes(
    *,
    values_per_time: int,
    n_times: int,
    n_scenarios: int,
    n_state: int,
    chunk: int,
    copies: int,
) -> tuple[float, float]:
    """``(result bytes, working bytes)`` of a run, in float64.

    Results: every saved value at every saved time for every scenario. Working memory: the
    state of one chunk times ``copies`` (stages and temporaries of the method).
    """
    result = 8.0 * values_per_time * n_times * n_scenarios
    working = 8.0 * n_state * min(chunk, n_scenarios) * copies
    return result, working


def check_run_memory(result: float, working: float, budget: int | None) -> None:
    """Refuse a run that would not fit in ``budget``; warn when it would take most of it."""
    total = result + working
    check_memory(
        total,
        budget,
        what=f"the run ({format_bytes(result)} of results, {format_bytes(working)} of state)",
        hint="save fewer variables (save=...), save less often (save_per), run fewer "
        "scenarios, or raise the budget with max_memory / --max-memory",
    )
    if budget is not None and total > WARN_FRACTION * budget:
        warnings.warn(
            f"the run needs about {format_bytes(total)} ({format_bytes(result)} of results), "
            f"more than half the memory budget of {format_bytes(budget)}",
            UserWarning,
            stacklevel=3,
        )
