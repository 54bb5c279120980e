"""``ModelSpec``: a model as plain frozen data.

A spec holds equations as text; it knows nothing of numpy. The TOML loader
(:mod:`simdyn.model.loader`) and Python code (:func:`simdyn.model_from_dict`) produce specs;
:mod:`simdyn.model.compile` turns a spec into arrays and one batched right-hand side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Auxiliary",
    "Constant",
    "Equation",
    "Event",
    "Flow",
    "Lookup",
    "LoopSpec",
    "ModelSpec",
    "Preset",
    "Stock",
    "TimeSpec",
]

#: An equation: one text for every element, or one text per element name.
Equation = str | Mapping[str, str]
#: A constant's value: one number, or one per element (in element order).
Value = float | tuple[float, ...]


@dataclass(frozen=True)
class TimeSpec:
    """Default time settings of a model."""

    start: float = 0.0
    stop: float = 100.0
    dt: float = 1.0
    save_per: float | None = None
    method: str | None = None


@dataclass(frozen=True)
class Constant:
    """A parameter: fixed during a run, settable per scenario."""

    name: str
    value: Value
    dims: tuple[str, ...] = ()
    units: str = ""
    doc: str = ""
    source: str = ""
    min: float | None = None
    max: float | None = None
    sum_to: float | None = None
    """For a constant with one dimension: the total its elements must add up to (shares)."""


@dataclass(frozen=True)
class Stock:
    """An accumulation: ``d stock/dt = sum(inflows) - sum(outflows)``."""

    name: str
    initial: Equation
    inflows: tuple[str, ...] = ()
    outflows: tuple[str, ...] = ()
    dims: tuple[str, ...] = ()
    units: str = ""
    doc: str = ""
    source: str = ""
    non_negative: bool = False


@dataclass(frozen=True)
class Flow:
    """A rate that fills or drains stocks; ``non_negative`` makes it a uniflow."""

    name: str
    equation: Equation
    dims: tuple[str, ...] = ()
    units: str = ""
    doc: str = ""
    source: str = ""
    non_negative: bool = False


@dataclass(frozen=True)
class Auxiliary:
    """A variable computed from others at every instant."""

    name: str
    equation: Equation
    dims: tuple[str, ...] = ()
    units: str = ""
    doc: str = ""
    source: str = ""


@dataclass(frozen=True)
class Lookup:
    """A graphical function: piecewise linear through ``points``, flat beyond the ends."""

    name: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    units: str = ""
    doc: str = ""
    source: str = ""
    input_units: str = ""
    """The unit of the lookup's input (``units`` is the unit of its output)."""


@dataclass(frozen=True)
class Event:
    """A random event that resets stocks (for example a person leaving and a novice arriving).

    After every fixed step each element of ``dims`` fires with probability
    ``1 - exp(-hazard * dt)``; where it fires, each stock in ``reset`` takes the value of its
    equation.
    """

    name: str
    hazard: str
    reset: Mapping[str, str]
    dims: tuple[str, ...] = ()
    doc: str = ""
    source: str = ""


@dataclass(frozen=True)
class Preset:
    """A named set of constant values, one alternative of a preset group."""

    group: str
    name: str
    values: Mapping[str, Value]
    doc: str = ""
    source: str = ""


@dataclass(frozen=True)
class LoopSpec:
    """A feedback loop named in the model file: its variables in causal order.

    ``polarity`` is the documented type (``"R"`` reinforcing, ``"B"`` balancing, or ``""``);
    the loop analysis checks it against the structure.
    """

    name: str
    variables: tuple[str, ...]
    polarity: str = ""
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A whole model as data. ``lines`` maps key paths of the source file to line numbers."""

    name: str
    time_units: str
    time: TimeSpec = field(default_factory=TimeSpec)
    doc: str = ""
    key_outputs: tuple[str, ...] = ()
    dimensions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    constants: Mapping[str, Constant] = field(default_factory=dict)
    stocks: Mapping[str, Stock] = field(default_factory=dict)
    flows: Mapping[str, Flow] = field(default_factory=dict)
    auxiliaries: Mapping[str, Auxiliary] = field(default_factory=dict)
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Preset]] = field(default_factory=dict)
    events: Mapping[str, Event] = field(default_factory=dict)
    loops: Mapping[str, LoopSpec] = field(default_factory=dict)
    source: str | None = None
    #: Names as written in the source file (XMILE), by identifier; reports use them.
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)
    lines: Mapping[tuple[str | int, ...], int] = field(
        default_factory=dict, repr=False, compare=False
    )
    python: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """Variables defined from Python, not in ``source``: name → the call (for errors)."""

    def kind_of(self, name: str) -> str | None:
        """``"constant"``, ``"stock"``, ``"flow"``, ``"auxiliary"``, ``"lookup"`` or ``None``."""
        for kind, table in (
            ("constant", self.constants),
            ("stock", self.stocks),
            ("flow", self.flows),
            ("auxiliary", self.auxiliaries),
            ("lookup", self.lookups),
        ):
            if name in table:
                return kind
        return None

    def line_of(self, *path: str) -> int | None:
        """Line of the longest prefix of ``path`` in the source file, if known."""
        for n in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:n]))
            if found is not None:
                return found
        return None
