"""The time settings of a run: start, stop, step and save interval, checked for consistency."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simdyn._types import FloatArray
from simdyn.errors import ScenarioError
from simdyn.model.spec import TimeSpec

__all__ = ["TimeGrid"]


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
        for key in ("start", "stop", "dt", "save_per"):
            if not math.isfinite(getattr(self, key)):
                raise ScenarioError(f"{key} must be a finite number", where=key)
        if self.dt <= 0:
            raise ScenarioError(f"dt must be positive, not {self.dt:g}", where="dt")
        if self.stop <= self.start:
            raise ScenarioError(
                f"stop ({self.stop:g}) must be after start ({self.start:g})", where="stop"
            )
        if abs(self.n_steps * self.dt - (self.stop - self.start)) > 1e-9 * max(1.0, self.stop):
            raise ScenarioError(
                f"stop - start ({self.stop - self.start:g}) is not a whole number of steps dt = {self.dt:g}",
                where="dt",
                hint="choose dt so that (stop - start) / dt is a whole number",
            )
        if (
            self.save_per < self.dt
            or abs(self.save_every * self.dt - self.save_per) > 1e-9 * self.save_per
        ):
            raise ScenarioError(
                f"save_per ({self.save_per:g}) must be a whole multiple of dt ({self.dt:g})",
                where="save_per",
            )
        if self.n_steps > 50_000_000:
            raise ScenarioError(
                f"{self.n_steps} steps is too many", where="dt", hint="use a larger dt"
            )

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
