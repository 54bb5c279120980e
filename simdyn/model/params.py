"""Parameter rules in one place: bounds, hints, and params/presets → arrays ``(*dims, 1 or n)``.

The loader checks a model file's constant values with :func:`check_bounds`; a run's ``params``
and ``presets`` become arrays with :class:`Params`. A shared value keeps a trailing axis of
length 1; per-scenario values give that axis the batch's length ``n``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from simdyn._types import FloatArray
from simdyn.errors import ScenarioError
from simdyn.model.spec import Constant

if TYPE_CHECKING:
    from simdyn.model.compiled import CompiledModel
    from simdyn.model.model import Model

__all__ = ["Params", "check_bounds", "did_you_mean", "sum_problem"]


def did_you_mean(word: str, choices: Any) -> str | None:
    """A ``did you mean 'x'?`` hint for ``word`` among ``choices``, or ``None``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def check_bounds(c: Constant, value: Any, fail: Any) -> None:
    """Raise ``fail(what, hint)`` (an exception) if any number in ``value`` lies outside ``c``'s bounds."""
    vals = np.asarray(value, dtype=float).ravel()
    if c.min is not None and (vals < c.min).any():
        x = vals[np.argmax(vals < c.min)]
        raise fail(f"{x:g} is below the minimum {c.min:g} of {c.name!r}", _range_hint(c))
    if c.max is not None and (vals > c.max).any():
        x = vals[np.argmax(vals > c.max)]
        raise fail(f"{x:g} is above the maximum {c.max:g} of {c.name!r}", _range_hint(c))


def _range_hint(c: Constant) -> str:
    lo = "-inf" if c.min is None else f"{c.min:g}"
    hi = "inf" if c.max is None else f"{c.max:g}"
    return f"allowed range [{lo}, {hi}]"


def _as_float_array(value: Any, where: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"must be a number or an array of numbers, not {value!r}", where=where
        ) from None
    if not np.all(np.isfinite(arr)):
        raise ScenarioError("must be finite (no NaN or infinity)", where=where)
    return arr


class Params:
    """Turns ``params`` and ``presets`` into arrays laid out ``(*dims, 1 or n)``.

    ``values`` holds the arrays set so far, ``given`` the per-name inputs that the result keeps
    as coordinates, ``preset_names`` the preset chosen per scenario and group, ``n`` the number
    of scenarios the inputs make.
    """

    def __init__(self, cm: CompiledModel, model: Model) -> None:
        self.cm = cm
        self.model = model
        self.values: dict[str, FloatArray] = {}
        self.given: dict[str, FloatArray] = {}  # per-name arrays for coordinates
        self.preset_names: dict[str, list[str]] = {}
        self.n = 1

    @classmethod
    def build(
        cls,
        cm: CompiledModel,
        model: Model,
        params: Mapping[str, Any] | None,
        presets: Mapping[str, str | Sequence[str]] | None,
    ) -> Params:
        """Presets first, then ``params`` (which override preset values)."""
        p = cls(cm, model)
        if presets:
            p.apply_presets(presets)
        for key, raw in (params or {}).items():
            p.set(key, raw, "params")
        p.check_sums()
        return p

    def shape(self, c: Constant) -> tuple[int, ...]:
        """Shape of constant ``c`` without the scenario axis."""
        return tuple(self.cm.dim_sizes[d] for d in self.cm.dim_order if d in c.dims)

    def grow(self, length: int, where: str) -> None:
        """Note an input of ``length`` values per scenario (1: shared)."""
        if length == 1:
            return
        if self.n not in (1, length):
            raise ScenarioError(
                f"has {length} values, but other inputs make {self.n} scenarios",
                where=where,
                hint="give every per-scenario input the same length",
            )
        self.n = length

    def default(self, c: Constant) -> FloatArray:
        """The model's value of ``c``, shared by every scenario."""
        shape = self.shape(c)
        value = np.asarray(c.value, dtype=np.float64)
        return np.broadcast_to(value, shape).reshape(*shape, 1).copy()

    def _elements(self, c: Constant, where: str, what: str) -> tuple[Any, ...]:
        """Elements of ``c``'s one named dimension (the ``node`` dimension has none by name)."""
        if len(c.dims) != 1 or c.dims[0] not in self.model.spec.dimensions:
            raise ScenarioError(what, where=where)
        return tuple(self.cm.elements[c.dims[0]])

    def _element(self, els: tuple[Any, ...], el: str, c: Constant, where: str) -> int:
        if el not in els:
            raise ScenarioError(
                f"{el!r} is not an element of {c.dims[0]!r}",
                where=where,
                hint=did_you_mean(el, els),
            )
        return els.index(el)

    def set(self, key: str, raw: Any, source: str) -> None:
        """Set constant ``key`` (``name`` or ``name[element]``) to ``raw`` from ``source``."""
        consts = self.model.constants
        name, _, element = key.partition("[")
        where = f"{source}.{key}"
        if name not in consts:
            raise ScenarioError(
                f"{name!r} is not a constant of model {self.model.name!r}",
                where=where,
                hint=did_you_mean(name, consts) or "see `simdyn show MODEL` for its constants",
            )
        c = consts[name]
        if isinstance(raw, Mapping):
            what = "a table of element values needs a one-dimensional constant"
            els = self._elements(c, where, what)
            for el in raw:
                self._element(els, el, c, where)
            for el, v in raw.items():
                self.set(f"{name}[{el}]", v, source)
            return
        arr = _as_float_array(raw, where)
        check_bounds(
            c,
            arr,
            lambda what, hint: ScenarioError(what, where=where, hint=hint),
        )
        if element:
            self._set_element(c, key, element.rstrip("]"), arr, where)
        elif not self.shape(c):
            if arr.ndim > 1:
                raise ScenarioError(
                    "a scalar constant takes a number or a 1-D array (one per scenario)",
                    where=where,
                )
            self.grow(arr.size, where)
            self.values[name] = arr.reshape(-1)
            self.given[name] = arr.reshape(-1)
        else:
            self._set_array(c, arr, where)

    def _set_element(
        self, c: Constant, key: str, element: str, arr: FloatArray, where: str
    ) -> None:
        els = self._elements(c, where, f"{c.name!r} has no elements to pick")
        idx = self._element(els, element, c, where)
        if arr.ndim > 1:
            raise ScenarioError(
                "an element takes a number or a 1-D array (one per scenario)", where=where
            )
        self.grow(arr.size, where)
        current = self.values.get(c.name, self.default(c))
        width = max(current.shape[-1], arr.size)
        new = np.broadcast_to(current, (*current.shape[:-1], width)).copy()
        new[idx] = arr.reshape(-1)
        self.values[c.name] = new
        self.given[key] = arr.reshape(-1)

    def _set_array(self, c: Constant, arr: FloatArray, where: str) -> None:
        """A dimensioned constant: ``(*shape)`` shared, ``(*shape, n)`` per scenario, or a number."""
        name, shape = c.name, self.shape(c)
        if arr.ndim == 0:
            self.values[name] = np.full((*shape, 1), float(arr))
        elif arr.shape == shape:
            self.values[name] = arr.reshape(*shape, 1)
        elif arr.ndim == len(shape) + 1 and arr.shape[:-1] == shape:
            self.grow(arr.shape[-1], where)
            self.values[name] = arr
        else:
            raise ScenarioError(
                f"has shape {arr.shape}; {name!r} needs {shape} (shared) or {(*shape, 'n')} (per scenario)",
                where=where,
            )
        self.given[name] = self.values[name]

    def apply_presets(self, presets: Mapping[str, str | Sequence[str]]) -> None:
        """Set the constants of the chosen preset per group (one name, or one per scenario)."""
        groups = self.model.presets
        for group, names in presets.items():
            where = f"presets.{group}"
            if group not in groups:
                raise ScenarioError(
                    f"model {self.model.name!r} has no preset group {group!r}",
                    where=where,
                    hint=did_you_mean(group, groups)
                    or (f"groups: {', '.join(groups)}" if groups else "it has no presets"),
                )
            alts = groups[group]
            seq = [names] if isinstance(names, str) else list(names)
            for nm in seq:
                if nm not in alts:
                    raise ScenarioError(
                        f"{nm!r} is not a {group} preset",
                        where=where,
                        hint=did_you_mean(str(nm), alts) or f"choose one of {', '.join(alts)}",
                    )
            self.grow(len(seq), where)
            self.preset_names[group] = seq
            keys = sorted({k for nm in seq for k in alts[nm].values})
            for k in keys:
                c = self.model.constants[k]
                cols = [np.asarray(alts[nm].values.get(k, c.value), dtype=float) for nm in seq]
                shape = self.shape(c)
                stacked = np.stack([np.broadcast_to(col, shape) for col in cols], axis=-1)
                self.values[k] = stacked
                self.given[k] = stacked

    def check_sums(self) -> None:
        """Constants declared ``sum_to`` in the model must add up in every scenario."""
        for name in {key.partition("[")[0] for key in self.given}:
            arr = self.values[name]
            c = self.model.constants[name]
            if c.sum_to is None:
                continue
            totals = np.asarray(arr, dtype=float).sum(axis=0).ravel()  # its one dimension
            bad = np.flatnonzero(~np.isclose(totals, c.sum_to, rtol=1e-6, atol=1e-9))
            if bad.size:
                elements = tuple(self.model.dimensions[c.dims[0]])
                column = np.asarray(arr, dtype=float)[..., bad[0] if arr.shape[-1] > 1 else 0]
                value = tuple(float(v) for v in column.ravel())
                problem = sum_problem(c, value, elements, _as_tuple(c.value, len(elements)))
                assert problem is not None
                scenario = f" in scenario {int(bad[0])}" if arr.shape[-1] > 1 else ""
                raise ScenarioError(problem[0] + scenario, where=f"params.{name}", hint=problem[1])

    def arrays(self) -> dict[str, FloatArray]:
        """Every constant's array (the model's value where none was set)."""
        out: dict[str, FloatArray] = {}
        for name, c in self.model.constants.items():
            v = self.values.get(name)
            out[name] = v if v is not None else self.default(c)
        return out


def chunk(arrays: Mapping[str, FloatArray], lo: int, hi: int) -> dict[str, FloatArray]:
    """The parameter arrays of scenarios ``lo:hi`` (shared arrays as they are)."""
    return {k: (v if v.shape[-1] == 1 else v[..., lo:hi]) for k, v in arrays.items()}


def sum_problem(
    c: Constant, value: Any, elements: tuple[str, ...], default: Any = None
) -> tuple[str, str] | None:
    """``(what, hint)`` if ``value`` breaks ``c``'s ``sum_to`` constraint, else ``None``.

    With ``default`` (the values before a partial change) the hint names the elements that
    kept their defaults.

    Examples
    --------
    >>> c = Constant("mix", (0.5, 0.5), ("k",), sum_to=1.0)
    >>> sum_problem(c, (1.0, 0.5), ("a", "b"))[0]
    'mix sums to 1.5, it must sum to 1 (sum_to in the model)'
    """
    if c.sum_to is None:
        return None
    vals = value if isinstance(value, tuple) else (float(value),) * len(elements)
    total = math.fsum(vals)
    if math.isclose(total, c.sum_to, rel_tol=1e-6, abs_tol=1e-9):
        return None
    what = f"{c.name} sums to {total:g}, it must sum to {c.sum_to:g} (sum_to in the model)"
    kept = ""
    fixed = _rescaled(vals, c.sum_to)
    if isinstance(default, tuple):
        same = [k for k, (v, old) in enumerate(zip(vals, default, strict=True)) if v == old]
        if same and len(same) < len(elements):
            listed = ", ".join(f"{elements[k]} = {vals[k]:g}" for k in same)
            kept = f"the elements not set keep their defaults ({listed}); "
            changed = math.fsum(v for k, v in enumerate(vals) if k not in same)
            if math.isclose(changed, c.sum_to, rel_tol=1e-6):
                fixed = tuple(0.0 if k in same else v for k, v in enumerate(vals))
    example = ", ".join(f"{e} = {v:g}" for e, v in zip(elements, fixed, strict=True))
    return what, f"{kept}set every element, e.g. {{ {example} }}"


def _rescaled(vals: tuple[float, ...], total: float) -> tuple[float, ...]:
    """``vals`` scaled to add up to ``total`` (equal shares if they add up to zero)."""
    s = math.fsum(vals)
    if s <= 0:
        return tuple(total / len(vals) for _ in vals)
    return tuple(round(v * total / s, 6) for v in vals)


def _as_tuple(value: Any, n: int) -> tuple[float, ...]:
    if isinstance(value, tuple | list):
        return tuple(float(v) for v in value)
    return (float(value),) * n
