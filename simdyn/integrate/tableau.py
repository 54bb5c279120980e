"""Explicit Runge–Kutta methods as data (Butcher tableaus)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BS23",
    "DOPRI5",
    "EMBEDDED_PAIRS",
    "EULER",
    "FIXED_METHODS",
    "RK2",
    "RK4",
    "ButcherTableau",
    "EmbeddedPair",
]


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


@dataclass(frozen=True)
class EmbeddedPair:
    """An explicit Runge–Kutta pair with an error estimate and a continuous extension.

    ``a``, ``b``, ``c`` describe the propagating method (as in :class:`ButcherTableau`); the
    stage after the last is the derivative at the new point (first same as last). ``e`` holds
    the weights of the error estimate over all ``stages + 1`` derivatives and ``p`` the dense
    output: ``y(t + θ h) = y + h Σ_j K_j Σ_d p[j][d] θ^(d+1)``. ``order`` is the order of the
    propagating method and ``error_order`` that of the estimate (which sets the step control).
    """

    name: str
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: tuple[float, ...]
    e: tuple[float, ...]
    p: tuple[tuple[float, ...], ...]
    order: int
    error_order: int

    def __post_init__(self) -> None:
        s = len(self.b)
        if len(self.c) != s or len(self.a) != s or len(self.e) != s + 1 or len(self.p) != s + 1:
            raise ValueError(f"{self.name}: a, b, c need {s} stages, e and p {s + 1} rows")

    @property
    def stages(self) -> int:
        """Right-hand-side evaluations per step (the last derivative is reused)."""
        return len(self.b)


#: Dormand & Prince (1980) 5(4) with Shampine's 4th-order dense output (the pair of MATLAB's
#: ode45 and scipy's ``RK45``).
DOPRI5 = EmbeddedPair(
    "dopri5",
    a=(
        (),
        (1 / 5,),
        (3 / 40, 9 / 40),
        (44 / 45, -56 / 15, 32 / 9),
        (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
        (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    ),
    b=(35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
    c=(0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0),
    e=(-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40),
    p=(
        (1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432),
        (0.0, 0.0, 0.0, 0.0),
        (
            0.0,
            131558114200 / 32700410799,
            -68118460800 / 10900136933,
            87487479700 / 32700410799,
        ),
        (0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072),
        (
            0.0,
            127303824393 / 49829197408,
            -318862633887 / 49829197408,
            701980252875 / 199316789632,
        ),
        (0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844),
        (0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423),
    ),
    order=5,
    error_order=4,
)

#: Bogacki & Shampine (1989) 3(2) with its cubic Hermite dense output (MATLAB's ode23, scipy's
#: ``RK23``).
BS23 = EmbeddedPair(
    "bs23",
    a=((), (1 / 2,), (0.0, 3 / 4)),
    b=(2 / 9, 1 / 3, 4 / 9),
    c=(0.0, 1 / 2, 3 / 4),
    e=(5 / 72, -1 / 12, -1 / 9, 1 / 8),
    p=((1.0, -4 / 3, 5 / 9), (0.0, 1.0, -2 / 3), (0.0, 4 / 3, -8 / 9), (0.0, -1.0, 1.0)),
    order=3,
    error_order=2,
)

#: Per-scenario adaptive methods by name.
EMBEDDED_PAIRS: dict[str, EmbeddedPair] = {"dopri5": DOPRI5, "bs23": BS23}
