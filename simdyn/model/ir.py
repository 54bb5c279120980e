"""The intermediate representation every emitter reads: typed, dimension-annotated assignments.

The compiler passes (:mod:`simdyn.model.passes`) turn a :class:`~simdyn.model.spec.ModelSpec`
into one :class:`Program`; an emitter (:mod:`simdyn.model.emit.numpy`, or a compiled one) only
prints it. Everything here is a plain frozen dataclass.

A :class:`Program` holds

- the **dimensions**: ``dim_order`` (``node`` first when used, then the model's declared
  dimensions), ``dim_sizes`` and ``elements``; every value is laid out ``(*dims, n_scenarios)``
  with ``dims`` a subsequence of ``dim_order``;
- the **symbols**: every name an expression may reference (:class:`Symbol`: constant, lookup,
  stock, flow, auxiliary or ``init`` value, with its dims and shape; ``hidden`` for the stocks
  and auxiliaries that smooths, delays and outflow limiting introduce, whose names start with
  ``_`` and so never collide with a model's names);
- the **state layout**: ``stocks`` (:class:`~simdyn.model.compiled.StockSlot`: rows
  ``start:stop`` of the state ``y``, shape ``(n_state, n_scenarios)``), visible stocks first;
- the **assignments** (:class:`Assign`), each already checked against its target's dims:

  ``initial``
      at ``t = start``, in dependency order: stocks' initial values (kind ``"initial"``),
      auxiliaries and flows, and ``INIT`` values (kind ``"init"``, frozen for the whole run and
      listed again in ``inits``);
  ``rhs``
      the auxiliaries and flows the stock rates need, in dependency order;
  ``rates``
      one per stock slot, in slot order (kind ``"rate"``): the net rate of the stock;
  ``evaluate``
      every auxiliary and flow in dependency order (saved outputs, events and histories read
      the state in full);

- ``events`` (:class:`Event`: a hazard and reset values per random event), ``histories``
  (:class:`History`: the recorded inputs of ``DELAY``), ``lookups`` (:class:`LookupTable`) and
  ``functions`` (extension functions the expressions call, see
  :mod:`simdyn.model.functions`).

Expression trees are :mod:`simdyn.expr` syntax trees whose names all resolve in ``symbols``
(or are builtin values such as ``TIME`` and ``DT``); smooths, delays and ``INIT`` have been
replaced by names of hidden variables. One pseudo-call remains: ``Call("$history:<name>",
(tau, init))`` reads :class:`History` ``<name>`` at ``TIME - tau`` (``init`` before the start);
the parser never produces a ``$`` name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from simdyn.expr import Node
from simdyn.model.compiled import StockSlot, VarInfo
from simdyn.model.spec import ModelSpec

__all__ = [
    "Assign",
    "AssignKind",
    "Event",
    "History",
    "LookupTable",
    "Program",
    "Symbol",
    "SymbolKind",
]

SymbolKind = Literal["constant", "lookup", "stock", "flow", "auxiliary", "init"]
AssignKind = Literal["initial", "rate", "auxiliary", "flow", "init", "hazard", "reset"]


@dataclass(frozen=True)
class Symbol:
    """A name expressions may reference: its kind, dimensions and shape (without scenarios)."""

    name: str
    kind: SymbolKind
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    hidden: bool = False


@dataclass(frozen=True)
class Assign:
    """``target = expr``: one value laid out ``(*dims, n_scenarios)``.

    Attributes
    ----------
    target
        The symbol assigned (for ``rate``: the stock; ``hazard``: the event; ``reset``: the
        stock the event resets).
    kind
        ``initial`` (a stock's initial value), ``rate`` (a stock's net rate), ``auxiliary``,
        ``flow``, ``init`` (an ``INIT`` value), ``hazard`` or ``reset`` (of an event).
    dims, shape
        The target's dimensions and their sizes.
    expr
        The expression; ``None`` when the value is given per element (``elements``).
    expr_dims
        Dimensions of ``expr``'s value, a subsequence of ``dims``: the emitter broadcasts it to
        ``dims`` (per-element equations are scalars).
    elements
        One scalar expression per element of ``dims[0]`` (an equation given as a table).
    non_negative
        Clip the value at zero (a flow declared ``non_negative``).
    hidden
        The target was introduced by a pass (smooth, delay, outflow limiting).
    where
        Key path of the model entry it came from, for error messages.
    """

    target: str
    kind: AssignKind
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    expr: Node | None
    expr_dims: tuple[str, ...] = ()
    elements: tuple[Node, ...] = ()
    non_negative: bool = False
    hidden: bool = False
    where: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """A random event: after each fixed step each element of ``dims`` fires with probability
    ``1 - exp(-hazard * dt)`` and resets stocks (``resets``: kind ``reset``, target the stock)."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    hazard: Assign
    resets: tuple[Assign, ...]


@dataclass(frozen=True)
class History:
    """The recorded input of a ``DELAY`` named ``name``: variable ``input`` after every step."""

    name: str
    input: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]


@dataclass(frozen=True)
class LookupTable:
    """A piecewise-linear lookup: ``ys`` at ``xs`` (flat beyond the ends)."""

    name: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]


@dataclass(frozen=True)
class Program:
    """A model lowered for an emitter; see the module docstring."""

    spec: ModelSpec
    dim_order: tuple[str, ...]
    dim_sizes: Mapping[str, int]
    elements: Mapping[str, tuple[Any, ...]]
    symbols: Mapping[str, Symbol]
    constants: tuple[Symbol, ...]
    lookups: tuple[LookupTable, ...]
    stocks: tuple[StockSlot, ...]
    n_state: int
    initial: tuple[Assign, ...]
    inits: tuple[str, ...]
    rhs: tuple[Assign, ...]
    rates: tuple[Assign, ...]
    evaluate: tuple[Assign, ...]
    observed: tuple[str, ...]
    variables: Mapping[str, VarInfo]
    events: tuple[Event, ...]
    histories: tuple[History, ...]
    functions: tuple[str, ...]
