"""Unit checking: parse declared units and check every equation's dimensions.

A unit is a product of named base units with rational powers (``hour/person/month`` is
``hour · person⁻¹ · month⁻¹``). Every name is its own base unit, as in Vensim and Stella: the
equations of a system-dynamics model do not convert units, so ``hour`` and ``month`` must not be
interchangeable (a units library such as pint would accept ``hours + months`` as two times and
silently let the model add them). ``dimensionless``, ``dmnl``, ``1``, ``fraction``, ``index`` and
the like name the empty unit.

The checker walks the syntax tree of each equation (a pass of its own; the compiler does not
depend on it) and infers a unit bottom-up:

- a declared variable has its declared unit; ``TIME``, ``DT``, ``STARTTIME`` and ``STOPTIME``
  the model's time unit; a variable without a declared unit is unknown and is not checked;
- a number is *free*: it takes the unit the other side needs in ``+``, ``-``, comparisons,
  ``MIN``/``MAX`` and ``IF`` branches, and is dimensionless in ``*`` and ``/``;
- both sides of ``+``, ``-`` and comparisons, the arguments of ``MIN``/``MAX``/``MOD`` and both
  branches of ``IF`` must agree; ``^`` needs a dimensionless exponent (a number exponent raises
  the base's unit to that power); ``EXP``, ``LN`` and the trigonometric functions need a
  dimensionless argument;
- ``SMTH1/SMTH3/DELAY1/DELAY3/DELAY/DELAYN(x, t, ...)`` have ``x``'s unit and need ``t`` in time
  (an initial value in ``x``'s unit); ``STEP(h, t)`` has ``h``'s unit, ``RAMP(s, t0, t1)`` the
  unit of ``s`` times time, ``PULSE(m, t0, ...)`` the unit of ``m`` per time, with times in time;
- a lookup ``f(x)`` has the lookup's ``units``, and ``x`` must have its ``input_units``;
- a number equal to the factor between two time units (12 month/year, 52 week/year, 7 day/week,
  24 hour/day, 60 minute/hour, 365 day/year) may convert between them: ``12 * quits /
  headcount`` declared ``1/year`` passes in a model whose time unit is ``month``; an exponent
  that is a time (``(1 + g) ^ (TIME / 12)``, the periods of compound growth) needs a
  dimensionless base.

Each stock's initial value must have the stock's unit and each of its flows the stock's unit
per time unit; each flow and auxiliary the unit it declares; an event's hazard ``1/time``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from simdyn.errors import ExpressionError, ModelError
from simdyn.expr import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp, parse, walk
from simdyn.expr.builtins import BUILTINS
from simdyn.model.spec import ModelSpec

__all__ = ["DIMENSIONLESS", "Unit", "UnitIssue", "check_units", "parse_unit"]


@dataclass(frozen=True)
class Unit:
    """A product of base units with rational powers; ``Unit(())`` is dimensionless.

    Examples
    --------
    >>> str(parse_unit("hour/person/month") * parse_unit("person"))
    'hour/month'
    >>> parse_unit("month/month") == DIMENSIONLESS
    True
    """

    powers: tuple[tuple[str, Fraction], ...]

    @staticmethod
    def of(powers: Mapping[str, Fraction]) -> Unit:
        """The unit with these powers (zero powers dropped, names sorted)."""
        return Unit(tuple(sorted((k, v) for k, v in powers.items() if v != 0)))

    def __mul__(self, other: Unit) -> Unit:
        out = dict(self.powers)
        for k, v in other.powers:
            out[k] = out.get(k, Fraction(0)) + v
        return Unit.of(out)

    def __truediv__(self, other: Unit) -> Unit:
        return self * other ** Fraction(-1)

    def __pow__(self, exponent: Fraction) -> Unit:
        return Unit.of({k: v * exponent for k, v in self.powers})

    def __str__(self) -> str:
        if not self.powers:
            return "dimensionless"

        def term(name: str, p: Fraction) -> str:
            return name if p == 1 else f"{name}^{p}"

        up = [term(k, v) for k, v in self.powers if v > 0]
        down = [term(k, -v) for k, v in self.powers if v < 0]
        text = "*".join(up) if up else "1"
        return text + "".join(f"/{d}" for d in down)


DIMENSIONLESS = Unit(())
_DIMENSIONLESS_NAMES = frozenset(
    {"1", "dimensionless", "dmnl", "fraction", "index", "ratio", "unitless", "percent", "share"}
)
_ALIASES = {
    "people": "person",
    "persons": "person",
    "hours": "hour",
    "hr": "hour",
    "months": "month",
    "weeks": "week",
    "days": "day",
    "years": "year",
    "minutes": "minute",
    "dollar": "USD",
    "dollars": "USD",
    "$": "USD",
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)|(?P<op>[*/^()]))"
)


class _UnitSyntaxError(ValueError):
    pass


def parse_unit(text: str) -> Unit:
    """Parse a unit string such as ``hour/person/month``, ``1/month`` or ``person^2``.

    ``a/b/c`` is ``a · b⁻¹ · c⁻¹`` (left to right, as system-dynamics tools read it).

    Raises
    ------
    ValueError
        If the text is not a unit expression.

    Examples
    --------
    >>> str(parse_unit("1/month"))
    '1/month'
    >>> str(parse_unit("USD/(person*month)"))
    'USD/month/person'
    """
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _UnitSyntaxError(f"cannot read {text[pos:]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    unit, rest = _product(tokens)
    if rest:
        raise _UnitSyntaxError(f"unexpected {rest[0][1]!r}")
    return unit


def _product(tokens: list[tuple[str, str]]) -> tuple[Unit, list[tuple[str, str]]]:
    unit, tokens = _power(tokens)
    while tokens and tokens[0] in (("op", "*"), ("op", "/")):
        op = tokens[0][1]
        right, tokens = _power(tokens[1:])
        unit = unit * right if op == "*" else unit / right
    return unit, tokens


def _power(tokens: list[tuple[str, str]]) -> tuple[Unit, list[tuple[str, str]]]:
    unit, tokens = _atom(tokens)
    if tokens and tokens[0] == ("op", "^"):
        if len(tokens) < 2 or tokens[1][0] != "num":
            raise _UnitSyntaxError("^ needs a number")
        return unit ** Fraction(tokens[1][1]), tokens[2:]
    return unit, tokens


def _atom(tokens: list[tuple[str, str]]) -> tuple[Unit, list[tuple[str, str]]]:
    if not tokens:
        raise _UnitSyntaxError("a unit is missing")
    kind, value = tokens[0]
    if kind == "num":
        if float(value) != 1:
            raise _UnitSyntaxError(f"a number in a unit must be 1, not {value}")
        return DIMENSIONLESS, tokens[1:]
    if kind == "name":
        if value.lower() in _DIMENSIONLESS_NAMES:
            return DIMENSIONLESS, tokens[1:]
        name = _ALIASES.get(value, value)
        return Unit(((name, Fraction(1)),)), tokens[1:]
    if value == "(":
        unit, rest = _product(tokens[1:])
        if not rest or rest[0] != ("op", ")"):
            raise _UnitSyntaxError("missing ')'")
        return unit, rest[1:]
    raise _UnitSyntaxError(f"unexpected {value!r}")


@dataclass(frozen=True)
class UnitIssue:
    """A unit inconsistency, located like an error (``file:line: where: what (hint)``)."""

    what: str
    file: str | None = None
    line: int | None = None
    where: str | None = None
    column: int | None = None
    hint: str | None = None

    @property
    def message(self) -> str:
        """The one-line form."""
        return str(self.error())

    def error(self) -> ModelError:
        """The issue as a :class:`~simdyn.errors.ModelError` (for ``--strict-units``)."""
        return ModelError(
            f"units: {self.what}",
            file=self.file,
            line=self.line,
            where=self.where,
            column=self.column,
            hint=self.hint,
        )


class _Free:
    """The unit of a number: whatever the context needs."""

    def __repr__(self) -> str:
        return "FREE"


FREE = _Free()
#: An inferred unit: a :class:`Unit`, ``FREE`` (a number) or ``None`` (unknown: not checked).
Inferred = Unit | _Free | None

_TRANSCENDENTAL = frozenset(
    {"EXP", "LN", "LOG10", "SIN", "COS", "TAN", "ARCSIN", "ARCCOS", "ARCTAN"}
)
_SMOOTHS = frozenset({"SMTH1", "SMTH3", "DELAY1", "DELAY3", "DELAY", "DELAYN"})
_COMPARISONS = frozenset({"=", "<>", "<", ">", "<=", ">="})


class _Checker:
    """Infers units over one model's equations and collects the issues."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.issues: list[UnitIssue] = []
        self.path: tuple[str, ...] = ()
        self.units: dict[str, Unit | None] = {}
        self.lookup_in: dict[str, Unit | None] = {}
        self.time = self.declared(spec.time_units, ("model", "time_units")) or Unit(
            ((spec.time_units or "time", Fraction(1)),)
        )
        tables: list[tuple[str, Mapping[str, Any]]] = [
            ("constants", spec.constants),
            ("stocks", spec.stocks),
            ("flows", spec.flows),
            ("auxiliaries", spec.auxiliaries),
            ("lookups", spec.lookups),
        ]
        for section, table in tables:
            for name, v in table.items():
                self.units[name] = self.declared(v.units, (section, name, "units"))
        for name, lk in spec.lookups.items():
            self.lookup_in[name] = self.declared(lk.input_units, ("lookups", name, "input_units"))

    # -- reporting ---------------------------------------------------------------------------
    def issue(self, what: str, column: int | None = None, hint: str | None = None) -> None:
        path = self.path
        name = path[1] if len(path) > 1 else ""
        origin = self.spec.python.get(name) or self.spec.python.get("*")
        self.issues.append(
            UnitIssue(
                what,
                file=origin or self.spec.source,
                line=None if origin else self.spec.line_of(*path),
                where=".".join(path),
                column=column,
                hint=hint,
            )
        )

    def declared(self, text: str, path: tuple[str, ...]) -> Unit | None:
        if not text.strip():
            return None
        try:
            return parse_unit(text)
        except ValueError as exc:
            self.path = path
            self.issue(f"cannot read the unit {text!r}: {exc}", hint="e.g. 'hour/person/month'")
            return None

    # -- inference ---------------------------------------------------------------------------
    def same(self, a: Inferred, b: Inferred, col: int, what: str) -> Inferred:
        """The common unit of two operands that must agree (reports a mismatch)."""
        if isinstance(a, Unit) and isinstance(b, Unit):
            if a != b:
                self.issue(f"{what}: {a} and {b} differ", col)
            return a
        if isinstance(a, Unit) or a is None:
            return a if isinstance(a, Unit) or b is FREE else None
        return b

    def expect(self, got: Inferred, want: Unit, col: int, what: str) -> None:
        if isinstance(got, Unit) and got != want:
            self.issue(f"{what} must be in {want}, not {got}", col)

    def infer(self, node: Node) -> Inferred:
        if isinstance(node, Num):
            return FREE
        if isinstance(node, Name | Subscript):
            return self.name(node.name)
        if isinstance(node, UnaryOp):
            inner = self.infer(node.operand)
            return DIMENSIONLESS if node.op.upper() == "NOT" else inner
        if isinstance(node, If):
            self.infer(node.cond)
            return self.same(
                self.infer(node.then), self.infer(node.otherwise), node.col, "IF branches"
            )
        if isinstance(node, BinOp):
            return self.binop(node)
        return self.call(node)

    def name(self, name: str) -> Inferred:
        upper = name.upper()
        if upper in ("TIME", "DT", "STARTTIME", "STOPTIME"):
            return self.time
        if upper == "PI":
            return DIMENSIONLESS
        return self.units.get(name)

    def binop(self, node: BinOp) -> Inferred:
        op = node.op.upper()
        left, right = self.infer(node.left), self.infer(node.right)
        if op in ("+", "-"):
            return self.same(left, right, node.col, f"the two sides of {op!r}")
        if op in _COMPARISONS:
            self.same(left, right, node.col, f"the two sides of {op!r}")
            return DIMENSIONLESS
        if op in ("AND", "OR"):
            return DIMENSIONLESS
        if op in ("*", "/"):
            if left is None or right is None:
                return None
            if left is FREE and right is FREE:
                return FREE
            lu = left if isinstance(left, Unit) else DIMENSIONLESS
            ru = right if isinstance(right, Unit) else DIMENSIONLESS
            return lu * ru if op == "*" else lu / ru
        return self.power(node, left, right)

    def power(self, node: BinOp, base: Inferred, exponent: Inferred) -> Inferred:
        plain_base = not isinstance(base, Unit) or base == DIMENSIONLESS
        if isinstance(exponent, Unit) and exponent != DIMENSIONLESS:
            periods = len(exponent.powers) == 1 and exponent.powers[0][1] == 1
            if not (plain_base and periods and exponent.powers[0][0] in _TIME_NAMES):
                self.issue(f"an exponent must be dimensionless, not {exponent}", node.right.col)
        if plain_base:
            return base
        value = _number(node.right)
        if value is None:
            self.issue(
                f"{base} raised to a variable power", node.col, "make the base dimensionless"
            )
            return None
        assert isinstance(base, Unit)
        return base ** Fraction(value).limit_denominator(1000)

    def call(self, node: Call) -> Inferred:
        func = node.func
        args = [self.infer(a) for a in node.args]
        if func in self.spec.lookups:
            want = self.lookup_in.get(func)
            if want is not None and args:
                self.expect(args[0], want, node.args[0].col, f"the input of lookup {func!r}")
            return self.units.get(func)
        upper = func.upper()
        builtin = BUILTINS.get(upper)
        if builtin is not None and not builtin.min_args <= len(args) <= builtin.max_args:
            return None  # a wrong number of arguments: the compiler says so, located
        if upper in _TRANSCENDENTAL:
            self.expect(args[0], DIMENSIONLESS, node.col, f"the argument of {upper}")
            return DIMENSIONLESS
        if upper in _SMOOTHS:
            return self.smooth(node, upper, args)
        return self.simple_call(node, upper, args)

    def smooth(self, node: Call, func: str, args: list[Inferred]) -> Inferred:
        self.expect(args[1], self.time, node.args[1].col, f"the delay time of {func}")
        rest = args[2:]
        if func == "DELAYN" and rest:
            self.expect(rest[0], DIMENSIONLESS, node.args[2].col, "the order of DELAYN")
            rest = rest[1:]
        for r in rest:
            self.same(args[0], r, node.col, f"the input and initial value of {func}")
        return args[0]

    def simple_call(self, node: Call, func: str, args: list[Inferred]) -> Inferred:
        col = node.col
        if func in ("ABS", "INT", "INIT", "SUM", "MEAN", "NEIGHBOR_MEAN", "PEER_TRANSFER"):
            return args[0] if args else None
        if func in ("MIN", "MAX", "MOD"):
            out = args[0]
            for a in args[1:]:
                out = self.same(out, a, col, f"the arguments of {func}")
            return out
        if func == "SQRT":
            a = args[0]
            return a ** Fraction(1, 2) if isinstance(a, Unit) else a
        if func == "SAFEDIV":
            ratio = self.binop(BinOp("/", node.args[0], node.args[1], col))
            return (
                self.same(ratio, args[2], col, "SAFEDIV's ratio and default")
                if len(args) > 2
                else ratio
            )
        if func == "IF_THEN_ELSE":
            return self.same(args[1], args[2], col, "IF_THEN_ELSE branches")
        if func in ("STEP", "RAMP", "PULSE"):
            return self.input_call(node, func, args)
        if func == "LOOKUP" and isinstance(node.args[0], Name):
            return self.units.get(node.args[0].name)
        if func in ("GINI", "DEGREE"):
            return DIMENSIONLESS
        if func == "TEAMS_REACHED":
            self.same(args[0], args[1], col, "the arguments of TEAMS_REACHED")
            return DIMENSIONLESS
        return None  # an extension function without a unit rule

    def input_call(self, node: Call, func: str, args: list[Inferred]) -> Inferred:
        for k in range(1, len(args)):
            self.expect(args[k], self.time, node.args[k].col, f"the times of {func}")
        height = args[0]
        if not isinstance(height, Unit):
            return height
        if func == "RAMP":
            return height * self.time
        if func == "PULSE":
            return height / self.time
        return height

    # -- the model ---------------------------------------------------------------------------
    def equation(self, eq: Any, path: tuple[str, ...], want: Unit | None, what: str) -> None:
        texts = eq.items() if isinstance(eq, Mapping) else [(None, eq)]
        for element, text in texts:
            self.path = (*path, element) if element is not None else path
            try:
                tree = parse(str(text))
                got = self.infer(tree)
            except (ExpressionError, RecursionError):
                continue  # the compiler reports syntax errors
            numbers = {n.value for n in walk(tree) if isinstance(n, Num)}
            if want is not None and isinstance(got, Unit) and got != want:
                if _converts(got / want, numbers):
                    continue
                self.issue(
                    f"the equation gives {got}, {what} is declared {want}",
                    hint=f"fix the equation, or declare units = {str(got)!r}",
                )

    def run(self) -> list[UnitIssue]:
        spec = self.spec
        for name, s in spec.stocks.items():
            unit = self.units.get(name)
            self.equation(s.initial, ("stocks", name, "initial"), unit, "the stock")
            if unit is None:
                continue
            want = unit / self.time
            for key, flows in (("inflows", s.inflows), ("outflows", s.outflows)):
                for f in flows:
                    got = self.units.get(f)
                    if got is not None and got != want:
                        self.path = ("stocks", name, key)
                        self.issue(
                            f"flow {f!r} is in {got}; a flow of stock {name!r} ({unit}) "
                            f"must be in {want}",
                            hint=f"declare the flow units = {str(want)!r} or fix the stock's",
                        )
        for name, flow in spec.flows.items():
            self.equation(
                flow.equation, ("flows", name, "equation"), self.units.get(name), "the flow"
            )
        for name, a in spec.auxiliaries.items():
            self.equation(a.equation, ("auxiliaries", name, "equation"), self.units.get(name), "it")
        for name, e in spec.events.items():
            self.equation(
                e.hazard, ("events", name, "hazard"), DIMENSIONLESS / self.time, "a hazard"
            )
            for stock, eq in e.reset.items():
                self.equation(
                    eq, ("events", name, "reset", stock), self.units.get(stock), "the stock"
                )
        return self.issues


#: Factors between time units; a number equal to one may convert between them.
_TIME_FACTORS: dict[tuple[str, str], float] = {
    ("month", "year"): 12.0,
    ("week", "year"): 52.0,
    ("day", "year"): 365.0,
    ("day", "week"): 7.0,
    ("hour", "day"): 24.0,
    ("minute", "hour"): 60.0,
    ("second", "minute"): 60.0,
}
_TIME_NAMES = frozenset(n for pair in _TIME_FACTORS for n in pair)


def _converts(ratio: Unit, numbers: set[float]) -> bool:
    """Whether ``ratio`` is ``(big/small)^±1`` of two time units whose factor is in ``numbers``."""
    if len(ratio.powers) != 2:
        return False
    (a, pa), (b, pb) = ratio.powers
    if pa != -pb or abs(pa) != 1:
        return False
    factor = _TIME_FACTORS.get((a, b)) or _TIME_FACTORS.get((b, a))
    return factor is not None and any(
        abs(x - factor) < 1e-9 or abs(x * factor - 1) < 1e-9 for x in numbers
    )


def _number(node: Node) -> float | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, UnaryOp) and node.op == "-":
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def check_units(spec: ModelSpec) -> list[UnitIssue]:
    """Every unit inconsistency of a model, in file order of the variables.

    Examples
    --------
    >>> from simdyn.model.loader import spec_from_dict
    >>> spec = spec_from_dict({"model": {"name": "m", "time_units": "month"},
    ...     "stocks": {"staff": {"initial": "10", "inflows": ["hiring"], "units": "person"}},
    ...     "flows": {"hiring": {"equation": "staff * 0.1", "units": "person"}}})
    >>> [i.what for i in check_units(spec)]
    ["flow 'hiring' is in person; a flow of stock 'staff' (person) must be in person/month"]
    """
    return _Checker(spec).run()
