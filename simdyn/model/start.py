"""A model whose stocks start from given values (``simulate(..., start_from=...)``).

Each stock's initial equation is replaced by a constant of the stock's dimensions and unit,
set per run: a preset's steady state, or the stocks of another run at a time. Runs that differ
in style or policy then start from the same place. Smooths and delays start from their inputs
(as in any run) and ``INIT(x)`` is ``x`` at the new start, so a start taken from a steady state
is itself steady.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from simdyn.model.model import Model
from simdyn.model.spec import Constant

__all__ = ["START_PREFIX", "start_constants", "start_model"]

START_PREFIX = "start_value_of_"
"""Prefix of the constants that hold the stocks' initial values."""


def start_model(model: Model, state: Mapping[str, Any]) -> tuple[Model, dict[str, Any]]:
    """``model`` with every stock starting at a constant, and the values of those constants.

    Parameters
    ----------
    model
        The model to start elsewhere.
    state
        One value per stock: a number or an array laid out ``(*dims)`` (shared) or
        ``(*dims, n_scenarios)``.

    Returns
    -------
    (Model, dict)
        The new model and the parameters to pass to :func:`simdyn.simulate`.

    Examples
    --------
    >>> from simdyn.model.model import load_model
    >>> m, params = start_model(load_model("teacup"), {"teacup_temperature": 120.0})
    >>> m.stocks["teacup_temperature"].initial, params
    ('start_value_of_teacup_temperature', {'start_value_of_teacup_temperature': 120.0})
    """
    spec = model.spec
    taken = {*spec.constants, *spec.stocks, *spec.flows, *spec.auxiliaries, *spec.lookups}
    consts = dict(spec.constants)
    stocks = dict(spec.stocks)
    params: dict[str, Any] = {}
    for name, stock in spec.stocks.items():
        cname = START_PREFIX + name
        while cname in taken:
            cname += "_"
        consts[cname] = Constant(
            cname, 0.0, dims=stock.dims, units=stock.units, doc=f"initial value of {name}"
        )
        stocks[name] = dataclasses.replace(stock, initial=cname)
        params[cname] = state[name]
    python = {**spec.python, **dict.fromkeys(spec.stocks, "start_from")}
    return Model(dataclasses.replace(spec, constants=consts, stocks=stocks, python=python)), params


def start_constants(model: Model) -> list[str]:
    """Names of the constants :func:`start_model` added."""
    return [n for n in model.constants if n.startswith(START_PREFIX)]
