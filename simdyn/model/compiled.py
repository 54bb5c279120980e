"""What compilation produces: the state layout, the saved variables and the bound functions.

:class:`CompiledModel` is a model ready to run; :meth:`CompiledModel.bind` turns it into a
:class:`Bound` (initial state and batched functions) for one chunk of scenarios.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simdyn._types import FloatArray, IntArray
from simdyn.integrate.fixed import RhsInto
from simdyn.model.functions import FUNCTIONS, BindContext
from simdyn.model.spec import ModelSpec

__all__ = ["Bound", "CompiledModel", "EventSlot", "Observe", "Rhs", "StockSlot", "VarInfo"]

Rhs = RhsInto  #: ``rhs(t, ts, y, out=None)``: the stock rates, into ``out`` when given
Observe = Callable[[float, float, FloatArray], tuple[Any, ...]]


@dataclass(frozen=True)
class VarInfo:
    """A variable a run can save."""

    name: str
    kind: str  # "stock", "flow", "auxiliary"
    dims: tuple[str, ...]
    units: str = ""
    doc: str = ""


@dataclass(frozen=True)
class StockSlot:
    """Rows ``start:stop`` of the state array hold stock ``name`` (``shape`` without scenarios)."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    start: int
    stop: int
    non_negative: bool
    hidden: bool


@dataclass(frozen=True)
class EventSlot:
    """A compiled event: the stocks it resets, in the order ``Bound.events`` returns values."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    resets: tuple[StockSlot, ...]


@dataclass
class Bound:
    """A compiled model bound to parameter arrays for one chunk of scenarios.

    ``events(t, ts, y)`` returns, per event, ``(hazard, reset_values)`` evaluated at state ``y``
    (``None`` when the model has no events). ``record(t, ts, y)`` stores the inputs of fixed
    delays after an accepted step (``None`` when the model has no ``DELAY``).
    ``observe_into(t, ts, y, dest)`` writes each observed value into ``dest[j]`` (an array of
    the value's full shape, or ``None`` to skip it) through scratch arrays instead of returning
    new arrays (``None`` when the module was generated without scratch arrays).
    """

    y0: FloatArray
    rhs: Rhs
    observe: Observe
    events: Callable[[float, float, FloatArray], tuple[Any, ...]] | None = None
    record: Callable[[float, float, FloatArray], None] | None = None
    observe_into: Callable[[float, float, FloatArray, Sequence[FloatArray | None]], None] | None = (
        None
    )


@dataclass
class CompiledModel:
    """A model ready to run: state layout, parameter table, generated code."""

    spec: ModelSpec
    dim_order: tuple[str, ...]
    dim_sizes: dict[str, int]
    elements: dict[str, tuple[Any, ...]]
    stocks: list[StockSlot]
    n_state: int
    variables: dict[str, VarInfo]
    observed: tuple[str, ...]
    source: str
    functions: tuple[str, ...]
    nonneg_rows: IntArray
    events: tuple[EventSlot, ...]
    has_history: bool
    _bind: Callable[..., Any] = field(repr=False)

    def row_owner(self, row: int) -> str:
        """Name of the stock (or hidden stock) stored in state row ``row``."""
        for s in self.stocks:
            if s.start <= row < s.stop:
                return s.name
        raise IndexError(row)

    def readable(self, name: str) -> str:
        """``name``, or for a hidden variable the model variable whose smooth or delay holds it.

        Hidden names are ``_<function>_<k>_<owner>[_<part>]`` (``passes/expand.py``); the owner
        is the longest model variable name that the rest starts with.

        Examples
        --------
        >>> from simdyn.model.model import model_from_dict
        >>> cm = model_from_dict({"model": {"name": "m", "time_units": "month"},
        ...     "time": {"start": 0, "stop": 1, "dt": 0.5},
        ...     "stocks": {"s": {"initial": "1", "outflows": ["out_rate"]}},
        ...     "flows": {"out_rate": {"equation": "DELAYN(s, 2, 3)"}}}).compile()
        >>> cm.readable("_delayn_1_out_rate_3"), cm.readable("s")
        ('out_rate (stage 3 of its DELAYN)', 's')
        """
        function, _, rest = name[1:].partition("_")
        number, _, rest = rest.partition("_")
        if not name.startswith("_") or not number.isdigit():
            return name
        owners = [v for v in self.variables if rest == v or rest.startswith(f"{v}_")]
        if not owners:
            return name
        owner = max(owners, key=len)
        part = rest[len(owner) + 1 :]
        what = f"stage {part} of its" if part.isdigit() else "the input of its" if part else "its"
        return f"{owner} ({what} {function.upper()})"

    def bind(
        self,
        params: Mapping[str, FloatArray],
        n_scenarios: int,
        *,
        dt: float,
        start: float,
        stop: float,
        ctx: BindContext | None = None,
    ) -> Bound:
        """Bind parameter arrays (laid out ``(*dims, 1 or n_scenarios)``) and initialise."""
        ctx = ctx or BindContext(n_scenarios=n_scenarios, dim_sizes=self.dim_sizes)
        funcs = {name: FUNCTIONS[name].factory(ctx) for name in self.functions}
        init, make = self._bind(params, funcs, n_scenarios, dt, start, stop)
        y0, consts = init()
        rhs, observe, events, record, observe_into = make(consts)
        return Bound(
            y0=y0,
            rhs=rhs,
            observe=observe,
            events=events,
            record=record,
            observe_into=observe_into,
        )
