"""The time settings of a run: start, stop, step and save interval, checked for consistency."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simdyn._limits import MAX_STEPS, check_time_grid
from simdyn._types import FloatArray
from simdyn.errors import ScenarioError
from simdyn.model.spec import TimeSpec

__all__ = ["TimeGrid", "grid_problem"]


@dataclass(frozen=True)
class TimeGrid:
    """Start, stop, step and save interval of a run, checked for consistency."""

    start: float
    stop: float
    dt: float
    save_per: float

    @classmethod
    def of(
        cls,
        spec: TimeSpec,
        start: float | None = None,
        stop: float | None = None,
        dt: float | None = None,
        save_per: float | None = None,
    ) -> TimeGrid:
        """The model's ``[time]`` settings, with any given value in place of its own."""
        step = float(spec.dt if dt is None else dt)
        if save_per is None:
            save_per = spec.save_per if spec.save_per is not None else step
        return cls(
            float(spec.start if start is None else start),
            float(spec.stop if stop is None else stop),
            step,
            float(save_per),
        )

    def __post_init__(self) -> None:
        span, step = self.stop - self.start, self.dt
        if all(map(math.isfinite, (span, step))) and step > 0 and 0 < span / step <= MAX_STEPS:
            problem = grid_problem(self.start, self.stop, self.dt)
            if problem is not None:  # the whole-steps error with a dt that would work
                raise ScenarioError(problem[0], where="dt", hint=problem[1])
        check_time_grid(self.start, self.stop, self.dt, self.save_per)

    @property
    def n_steps(self) -> int:
        """Number of integration steps."""
        return round((self.stop - self.start) / self.dt)

    @property
    def save_every(self) -> int:
        """Steps between saved times."""
        return max(1, round(self.save_per / self.dt))

    @property
    def times(self) -> FloatArray:
        """The saved times."""
        n_save = self.n_steps // self.save_every + 1
        return self.start + np.arange(n_save, dtype=np.float64) * (self.save_every * self.dt)


def grid_problem(start: float, stop: float, dt: float) -> tuple[str, str] | None:
    """``(what, hint)`` if ``dt`` does not divide ``stop - start`` into whole steps.

    Examples
    --------
    >>> grid_problem(0, 10, 0.3)[1]
    'choose dt so that (stop - start) / dt is a whole number, e.g. dt = 0.25'
    >>> grid_problem(0, 60, 0.125) is None
    True
    """
    horizon = stop - start
    n = round(horizon / dt)
    if n >= 1 and abs(n * dt - horizon) <= 1e-9 * max(1.0, abs(stop)):
        return None
    what = f"stop - start ({horizon:g}) is not a whole number of steps dt = {dt:g}"
    hint = "choose dt so that (stop - start) / dt is a whole number"
    for k in range(40):  # the largest dt of the form 2^-k (or a divisor) below the one given
        for cand in (2.0**-k * m for m in (10, 5, 2, 1)):
            steps = horizon / cand
            if cand <= dt and abs(steps - round(steps)) < 1e-9 * max(1.0, steps):
                return what, f"{hint}, e.g. dt = {cand:g}"
    return what, hint
