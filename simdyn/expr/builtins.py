"""The builtin vocabulary of the equation language (names, arities, kinds).

Names are XMILE's and case-insensitive. How each builtin becomes numpy code is decided by
:mod:`simdyn.model.emit.numpy_expr`; stateful builtins (smooths and delays) become hidden stocks there.
Extension functions (for example the network builtins) are registered with
:func:`simdyn.model.functions.register_function`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simdyn.expr.parser import KEYWORDS

__all__ = ["BUILTINS", "STATEFUL", "Builtin", "is_reserved"]


@dataclass(frozen=True)
class Builtin:
    """A builtin's name, how many arguments it takes and what kind it is."""

    name: str
    min_args: int
    max_args: int
    kind: str  # "value", "math", "input", "stateful", "reduction", "lookup", "choice"
    doc: str


def _b(name: str, lo: int, hi: int, kind: str, doc: str) -> tuple[str, Builtin]:
    return name, Builtin(name, lo, hi, kind, doc)


BUILTINS: dict[str, Builtin] = dict(
    [
        _b("TIME", 0, 0, "value", "the current simulation time"),
        _b("DT", 0, 0, "value", "the integration step"),
        _b("STARTTIME", 0, 0, "value", "the start time of the run"),
        _b("STOPTIME", 0, 0, "value", "the stop time of the run"),
        _b("PI", 0, 0, "value", "3.14159…"),
        _b("ABS", 1, 1, "math", "absolute value"),
        _b("EXP", 1, 1, "math", "e to the power x"),
        _b("LN", 1, 1, "math", "natural logarithm"),
        _b("LOG10", 1, 1, "math", "base-10 logarithm"),
        _b("SQRT", 1, 1, "math", "square root"),
        _b("SIN", 1, 1, "math", "sine (radians)"),
        _b("COS", 1, 1, "math", "cosine (radians)"),
        _b("TAN", 1, 1, "math", "tangent (radians)"),
        _b("ARCSIN", 1, 1, "math", "inverse sine"),
        _b("ARCCOS", 1, 1, "math", "inverse cosine"),
        _b("ARCTAN", 1, 1, "math", "inverse tangent"),
        _b("INT", 1, 1, "math", "largest integer not above x"),
        _b("MOD", 2, 2, "math", "remainder of a / b, with the sign of b"),
        _b("SAFEDIV", 2, 3, "math", "a / b, or z (default 0) where b = 0"),
        _b("MIN", 1, 2, "reduction", "smaller of a and b; of one array argument, its minimum"),
        _b("MAX", 1, 2, "reduction", "larger of a and b; of one array argument, its maximum"),
        _b("SUM", 1, 2, "reduction", "sum over all (or one named) dimension of an array"),
        _b("MEAN", 1, 2, "reduction", "mean over all (or one named) dimension of an array"),
        _b("IF_THEN_ELSE", 3, 3, "choice", "IF_THEN_ELSE(c, a, b): a where c is true, else b"),
        _b("STEP", 2, 2, "input", "STEP(height, t0): 0 before t0, height from t0 on"),
        _b("PULSE", 2, 3, "input", "PULSE(magnitude, first[, interval]): magnitude/DT for one DT"),
        _b("RAMP", 2, 3, "input", "RAMP(slope, t0[, t1]): rises with slope from t0 (until t1)"),
        _b("LOOKUP", 2, 2, "lookup", "LOOKUP(table, x): the graphical function at x"),
        _b("INIT", 1, 1, "stateful", "INIT(x): the value of x at the start of the run"),
        _b("SMTH1", 2, 3, "stateful", "SMTH1(x, tau[, init]): first-order exponential smooth"),
        _b("SMTH3", 2, 3, "stateful", "SMTH3(x, tau[, init]): third-order exponential smooth"),
        _b("DELAY1", 2, 3, "stateful", "DELAY1(x, tau[, init]): first-order material delay"),
        _b("DELAY3", 2, 3, "stateful", "DELAY3(x, tau[, init]): third-order material delay"),
        _b("DELAYN", 3, 4, "stateful", "DELAYN(x, tau, n[, init]): n-th order material delay"),
        _b("DELAY", 2, 3, "stateful", "DELAY(x, tau[, init]): fixed pipeline delay"),
    ]
)

STATEFUL = frozenset(k for k, b in BUILTINS.items() if b.kind == "stateful")


def is_reserved(name: str) -> bool:
    """Whether ``name`` may not be used for a model variable (a keyword or a builtin).

    Examples
    --------
    >>> is_reserved("time"), is_reserved("capability")
    (True, False)
    """
    upper = name.upper()
    return upper in BUILTINS or upper in KEYWORDS or name.startswith("_")
