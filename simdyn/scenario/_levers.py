"""Policies as levers: a policy's numbers become constants of the planned model.

A schedule's times, targets and transition lengths are written into its equation as names of
new constants (``<policy>__at``, ``<policy>__to``, ``<policy>__<lever>__to`` …) whose defaults
are the scenario's values. A run of the scenario gives the same numbers as before; a batch
(for example a sweep) sets those constants per scenario and so runs many policies in one
vectorised call. :func:`policy_constant` names them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from simdyn.model import Model
from simdyn.model.spec import Constant
from simdyn.scenario._schema import PiecewiseLinear, Ramp, Step

__all__ = ["LEVER_FIELDS", "policy_constant", "schedules"]

_ELEMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([A-Za-z0-9_]+)\]$")
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")

LEVER_FIELDS: dict[str, tuple[str, ...]] = {
    "step": ("at", "to", "until"),
    "ramp": ("start", "end", "to"),
    "piecewise": ("points",),
    "style": ("at", "to", "transition"),
}
"""The policy keys a batch can vary, by policy kind (``points[k]`` is the value of point k)."""


class _Applied(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def param(self) -> str: ...
    @property
    def schedule(self) -> Step | Ramp | PiecewiseLinear: ...
    @property
    def base(self) -> float: ...


def policy_constant(policy: str, field: str, lever: str | None = None) -> str:
    """The name of the constant that holds one number of a policy.

    Parameters
    ----------
    policy
        The policy's name (its key under ``[policies]``).
    field
        ``at``, ``to``, ``until``, ``start``, ``end``, ``from`` (the value before the policy),
        ``transition`` (a style change), or ``t<k>`` / ``v<k>`` (time and value of point k of a
        piecewise policy).
    lever
        For a style change's ``from`` and ``to``: the style lever.

    Examples
    --------
    >>> policy_constant("freeze", "at")
    'freeze__at'
    >>> policy_constant("hand-over", "to", "delegation")
    'hand_over__delegation__to'
    """
    stem = _NOT_IDENT.sub("_", policy)
    return f"{stem}__{lever}__{field}" if lever is not None else f"{stem}__{field}"


def schedules(
    applied: Sequence[_Applied],
    kinds: Mapping[str, str],
    extra: Mapping[str, Mapping[str, float]],
    values: Mapping[str, Any],
    model: Model,
) -> tuple[dict[str, Any], list[Constant]]:
    """Equations of the scheduled constants and the lever constants they read.

    Parameters
    ----------
    applied
        Every scheduled parameter (a style change contributes one per lever).
    kinds
        The kind of each policy, by name (``"style"`` for a style change).
    extra
        For a style change: ``{"at": …, "transition": …}``, by policy name.
    values
        The merged constant values (for the other elements of an element schedule).
    model
        The scenario's model.

    Returns
    -------
    tuple
        ``(equations by constant, new constants)``.
    """
    equations: dict[str, Any] = {}
    constants: dict[str, Constant] = {}

    def add(name: str, value: float, like: str | None, doc: str) -> str:
        ref = model.constants[like] if like is not None else None
        lo, hi = (ref.min, ref.max) if ref is not None else (None, None)
        if name.endswith("__transition"):
            lo = 0.0
        constants[name] = Constant(
            name, float(value), units=ref.units if ref is not None else "", doc=doc, min=lo, max=hi
        )
        return name

    for a in applied:
        target = _ELEMENT.match(a.param)
        const = target.group(1) if target else a.param
        doc = f"policy {a.name!r}: {a.label}"
        if kinds[a.name] == "style":
            eq = _style_equation(a, extra[a.name], const, doc, add)
        else:
            eq = _equation(a, const, doc, add)
        if target is None:
            equations[a.param] = eq
            continue
        elements = tuple(model.dimensions[model.constants[const].dims[0]])
        current = equations.get(const)
        if not isinstance(current, dict):
            vals = values[const]
            current = {e: repr(float(v)) for e, v in zip(elements, vals, strict=True)}
            equations[const] = current
        current[target.group(2)] = eq
    return equations, list(constants.values())


def _equation(a: _Applied, const: str, doc: str, add: Any) -> str:
    s = a.schedule
    name = a.name
    if isinstance(s, PiecewiseLinear):
        t = [add(policy_constant(name, f"t{k}"), p[0], None, doc) for k, p in enumerate(s.points)]
        v = [add(policy_constant(name, f"v{k}"), p[1], const, doc) for k, p in enumerate(s.points)]
        terms = [v[0]]
        for k in range(1, len(t)):
            if s.points[k][0] == s.points[k - 1][0]:
                terms.append(f"({v[k]} - {v[k - 1]}) * STEP(1, {t[k - 1]})")
            else:
                slope = f"({v[k]} - {v[k - 1]}) / ({t[k]} - {t[k - 1]})"
                terms.append(f"{slope} * RAMP(1, {t[k - 1]}, {t[k]})")
        return " + ".join(terms)
    base = add(policy_constant(name, "from"), a.base, const, doc)
    to = add(policy_constant(name, "to"), s.to, const, doc)
    if isinstance(s, Step):
        at = add(policy_constant(name, "at"), s.at, None, doc)
        switch = f"STEP(1, {at})"
        if s.until is not None:
            until = add(policy_constant(name, "until"), s.until, None, doc)
            switch = f"({switch} - STEP(1, {until}))"
        return f"{base} + ({to} - {base}) * {switch}"
    start = add(policy_constant(name, "start"), s.start, None, doc)
    end = add(policy_constant(name, "end"), s.end, None, doc)
    return f"{base} + ({to} - {base}) / ({end} - {start}) * RAMP(1, {start}, {end})"


def _style_equation(a: _Applied, times: Mapping[str, float], const: str, doc: str, add: Any) -> str:
    """A style lever: a ramp over the transition, or a step where the transition is zero."""
    at = add(policy_constant(a.name, "at"), times["at"], None, doc)
    tr = add(policy_constant(a.name, "transition"), times["transition"], None, doc)
    base = add(policy_constant(a.name, "from", a.param), a.base, const, doc)
    s = a.schedule
    to = add(policy_constant(a.name, "to", a.param), s.to, const, doc)  # type: ignore[union-attr]
    ramp = f"({to} - {base}) / MAX({tr}, 1e-300) * RAMP(1, {at}, {at} + {tr})"
    step = f"({to} - {base}) * STEP(1, {at})"
    return f"{base} + IF_THEN_ELSE({tr} > 0, {ramp}, {step})"
