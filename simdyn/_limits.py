"""Limits checked before a run starts: the time grid, and the memory a run will need.

Every check raises a one-line :class:`~simdyn.errors.ScenarioError` before any work is done,
with numbers printed ``%g``-style (never a 300-digit integer).
"""

from __future__ import annotations

import math
import operator
import os

from simdyn.errors import ScenarioError

__all__ = [
    "MAX_STEPS",
    "available_memory",
    "check_chunk_size",
    "check_memory",
    "check_time_grid",
    "format_bytes",
    "parse_bytes",
]

MAX_STEPS = 50_000_000
"""Most integration steps one run may take."""


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
