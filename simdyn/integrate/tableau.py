"""Explicit Runge–Kutta methods as data (Butcher tableaus)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EULER", "FIXED_METHODS", "RK2", "RK4", "ButcherTableau"]


@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge–Kutta method.

    ``a`` is the strictly lower-triangular stage matrix (row ``i`` has ``i`` entries), ``b`` the
    weights and ``c`` the nodes; ``order`` is the method's order of accuracy.
    """

    name: str
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: tuple[float, ...]
    order: int

    def __post_init__(self) -> None:
        s = len(self.b)
        if len(self.c) != s or len(self.a) != s:
            raise ValueError(f"{self.name}: a, b and c must describe {s} stages")
        for i, row in enumerate(self.a):
            if len(row) != i:
                raise ValueError(f"{self.name}: row {i} of a must have {i} entries")

    @property
    def stages(self) -> int:
        """Number of right-hand-side evaluations per step."""
        return len(self.b)


EULER = ButcherTableau("euler", ((),), (1.0,), (0.0,), 1)
RK2 = ButcherTableau("rk2", ((), (1.0,)), (0.5, 0.5), (0.0, 1.0), 2)  # Heun's method
RK4 = ButcherTableau(
    "rk4",
    ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    (1 / 6, 1 / 3, 1 / 3, 1 / 6),
    (0.0, 0.5, 0.5, 1.0),
    4,
)

#: Fixed-step methods by the names used in model files, scenarios and the CLI.
FIXED_METHODS: dict[str, ButcherTableau] = {"euler": EULER, "rk2": RK2, "heun": RK2, "rk4": RK4}
