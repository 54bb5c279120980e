"""Build a :class:`~simdyn.model.spec.ModelSpec` from a TOML file or a ``dict``.

Structure is checked here (known keys, types, names, dimensions, presets); equations are checked
when the model is compiled.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simdyn._toml import TomlDocument, load_toml
from simdyn.errors import ModelError, ScenarioError
from simdyn.expr import is_reserved
from simdyn.model.params import check_bounds, did_you_mean, sum_problem
from simdyn.model.spec import (
    Auxiliary,
    Constant,
    Equation,
    Event,
    Flow,
    Lookup,
    LoopSpec,
    ModelSpec,
    Preset,
    Stock,
    TimeSpec,
    Value,
)
from simdyn.model.timegrid import TimeGrid

__all__ = [
    "NODE_DIM",
    "check_bounds",
    "did_you_mean",
    "spec_from_dict",
    "spec_from_file",
]

#: The dimension reserved for the org graph; its elements come from the network.
NODE_DIM = "node"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP = (
    "model",
    "time",
    "dimensions",
    "constants",
    "stocks",
    "flows",
    "auxiliaries",
    "lookups",
    "presets",
    "events",
    "loops",
)
_COMMON = ("units", "doc", "source", "dims")
_KEYS = {
    "model": ("name", "time_units", "doc", "key_outputs", "extends", "remove"),
    "time": ("start", "stop", "dt", "save_per", "method"),
    "constants": ("value", "min", "max", "sum_to", *_COMMON),
    "stocks": ("initial", "inflows", "outflows", "non_negative", *_COMMON),
    "flows": ("equation", "non_negative", *_COMMON),
    "auxiliaries": ("equation", *_COMMON),
    "lookups": ("points", "units", "input_units", "doc", "source"),
    "preset": ("values", "doc", "source"),
    "events": ("hazard", "reset", "dims", "doc", "source"),
    "loops": ("variables", "polarity", "description", "source"),
}


class _Reader:
    """Checks one document and raises :class:`ModelError` located at ``file:line``."""

    def __init__(self, data: Mapping[str, Any], file: str | None, doc: TomlDocument | None):
        self.data = data
        self.file = file
        self.doc = doc

    def fail(self, path: tuple[str, ...], what: str, hint: str | None = None) -> ModelError:
        line = self.doc.line(*path) if self.doc is not None else None
        return ModelError(what, file=self.file, line=line, where=".".join(path), hint=hint)

    def table(self, value: Any, path: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a table, not {_typename(value)}")
        return value

    def keys(
        self, table: Mapping[str, Any], allowed: tuple[str, ...], path: tuple[str, ...]
    ) -> None:
        for key in table:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f"allowed keys: {', '.join(allowed)}"
                raise self.fail((*path, key), f"unknown key {key!r}", hint)

    def number(self, value: Any, path: tuple[str, ...]) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"must be a number, not {_typename(value)}")
        if not math.isfinite(value):
            raise self.fail(path, "must be a finite number")
        return float(value)

    def text(self, value: Any, path: tuple[str, ...]) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be text, not {_typename(value)}")
        return value

    def names(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, "must be a list of names")
        return tuple(value)

    def boolean(self, value: Any, path: tuple[str, ...]) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, not {_typename(value)}")
        return value

    def meta(self, v: Mapping[str, Any], path: tuple[str, ...]) -> dict[str, str]:
        """The documentation keys every entry may carry: units, doc, source."""
        return {k: self.text(v.get(k, ""), (*path, k)) for k in ("units", "doc", "source")}

    # -- sections ----------------------------------------------------------------------------
    def read(self) -> ModelSpec:
        top = self.table(self.data, ())
        self.keys(top, _TOP, ())
        if "model" not in top:
            raise self.fail(("model",), "missing [model] table", "it needs name and time_units")
        model = self.table(top["model"], ("model",))
        self.keys(model, _KEYS["model"], ("model",))
        for req in ("name", "time_units"):
            if req not in model:
                raise self.fail(("model",), f"missing key {req!r}")
        name = self.text(model["name"], ("model", "name"))
        time_units = self.text(model["time_units"], ("model", "time_units"))
        doc = self.text(model.get("doc", ""), ("model", "doc"))
        key_outputs = self.names(model.get("key_outputs", []), ("model", "key_outputs"))

        time = self.read_time(self.table(top.get("time", {}), ("time",)))
        dims = self.read_dimensions(self.table(top.get("dimensions", {}), ("dimensions",)))

        seen: dict[str, str] = {}
        constants = {
            n: self.read_constant(n, v, dims) for n, v in self.items(top, "constants", seen).items()
        }
        stocks = {
            n: self.read_stock(n, v, dims) for n, v in self.items(top, "stocks", seen).items()
        }
        flows = {n: self.read_flow(n, v, dims) for n, v in self.items(top, "flows", seen).items()}
        auxes = {
            n: self.read_aux(n, v, dims) for n, v in self.items(top, "auxiliaries", seen).items()
        }
        lookups = {n: self.read_lookup(n, v) for n, v in self.items(top, "lookups", seen).items()}
        presets = self.read_presets(self.table(top.get("presets", {}), ("presets",)), constants)
        events = {
            n: self.read_event(n, v, dims, stocks)
            for n, v in self.items(top, "events", seen).items()
        }
        loops = self.read_loops(self.table(top.get("loops", {}), ("loops",)), stocks, flows, auxes)

        for i, out in enumerate(key_outputs):
            if out not in stocks and out not in flows and out not in auxes:
                raise self.fail(
                    ("model", "key_outputs"),
                    f"key output {out!r} (item {i + 1}) is not a stock, flow or auxiliary",
                    did_you_mean(out, [*stocks, *flows, *auxes]),
                )
        for s in stocks.values():
            for key, names in (("inflows", s.inflows), ("outflows", s.outflows)):
                for f in names:
                    if f not in flows:
                        raise self.fail(
                            ("stocks", s.name, key),
                            f"{f!r} is not a flow",
                            did_you_mean(f, flows) or "declare it under [flows]",
                        )
        return ModelSpec(
            name=name,
            time_units=time_units,
            time=time,
            doc=doc,
            key_outputs=key_outputs,
            dimensions=dims,
            constants=constants,
            stocks=stocks,
            flows=flows,
            auxiliaries=auxes,
            lookups=lookups,
            presets=presets,
            events=events,
            loops=loops,
            source=self.file,
            lines=dict(self.doc.lines) if self.doc is not None else {},
        )

    def items(self, top: Mapping[str, Any], section: str, seen: dict[str, str]) -> dict[str, Any]:
        table = self.table(top.get(section, {}), (section,))
        for name in table:
            path = (section, name)
            if not _NAME.match(name):
                raise self.fail(path, f"{name!r} is not a valid name", "use letters, digits and _")
            if is_reserved(name):
                raise self.fail(
                    path, f"{name!r} is reserved (a builtin, a keyword or starts with _)"
                )
            if name == NODE_DIM:
                raise self.fail(path, f"{name!r} is reserved for the org-graph dimension")
            if name in seen:
                raise self.fail(path, f"{name!r} is already defined under [{seen[name]}]")
            seen[name] = section
        return dict(table)

    def read_time(self, t: Mapping[str, Any]) -> TimeSpec:
        self.keys(t, _KEYS["time"], ("time",))
        vals = {
            k: self.number(t[k], ("time", k)) for k in ("start", "stop", "dt", "save_per") if k in t
        }
        spec = TimeSpec(
            start=vals.get("start", 0.0),
            stop=vals.get("stop", 100.0),
            dt=vals.get("dt", 1.0),
            save_per=vals.get("save_per"),
            method=self.text(t["method"], ("time", "method")) if "method" in t else None,
        )
        if spec.dt <= 0:
            raise self.fail(("time", "dt"), "must be positive")
        if spec.stop <= spec.start:
            raise self.fail(("time", "stop"), "must be after start")
        if spec.save_per is not None and spec.save_per <= 0:
            raise self.fail(("time", "save_per"), "must be positive")
        try:
            save_per = spec.save_per if spec.save_per is not None else spec.dt
            TimeGrid(float(spec.start), float(spec.stop), float(spec.dt), float(save_per))
        except ScenarioError as exc:
            key = exc.where if exc.where in t else next((k for k in ("stop", "dt") if k in t), "")
            raise self.fail(("time", key or "dt"), exc.what, exc.hint) from None
        return spec

    def read_dimensions(self, table: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        dims: dict[str, tuple[str, ...]] = {}
        for name, elems in table.items():
            path = ("dimensions", name)
            if name == NODE_DIM:
                raise self.fail(
                    path, "the dimension 'node' is reserved: its elements come from the network"
                )
            if not _NAME.match(name):
                raise self.fail(path, f"{name!r} is not a valid dimension name")
            els = self.names(elems, path)
            if not els:
                raise self.fail(path, "a dimension needs at least one element")
            for e in els:
                if not _NAME.match(e):
                    raise self.fail(path, f"element {e!r} is not a valid name")
            if len(set(els)) != len(els):
                raise self.fail(path, "elements must be unique")
            dims[name] = els
        return dims

    def read_dims(
        self, v: Mapping[str, Any], path: tuple[str, ...], dims: Mapping[str, Any]
    ) -> tuple[str, ...]:
        d = self.names(v.get("dims", []), (*path, "dims"))
        for name in d:
            if name != NODE_DIM and name not in dims:
                raise self.fail(
                    (*path, "dims"),
                    f"unknown dimension {name!r}",
                    did_you_mean(name, [*dims, NODE_DIM]) or "declare it under [dimensions]",
                )
        if len(set(d)) != len(d):
            raise self.fail((*path, "dims"), "a dimension is listed twice")
        return d

    def equation(
        self, value: Any, path: tuple[str, ...], d: tuple[str, ...], dims: Mapping[str, Any]
    ) -> Equation:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return repr(float(value))
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            if len(d) != 1 or d[0] == NODE_DIM:
                raise self.fail(
                    path, "per-element equations need exactly one declared dimension (not node)"
                )
            elements = dims[d[0]]
            out: dict[str, str] = {}
            for el in elements:
                if el not in value:
                    raise self.fail(path, f"no equation for element {el!r}")
            for el, eq in value.items():
                if el not in elements:
                    raise self.fail(
                        (*path, el),
                        f"{el!r} is not an element of {d[0]!r}",
                        did_you_mean(el, elements),
                    )
                if isinstance(eq, int | float) and not isinstance(eq, bool):
                    eq = repr(float(eq))
                out[el] = self.text(eq, (*path, el))
            return out
        raise self.fail(path, f"must be an equation (text or number), not {_typename(value)}")

    def read_constant(self, name: str, v: Any, dims: Mapping[str, Any]) -> Constant:
        path = ("constants", name)
        if not isinstance(v, Mapping):
            v = {"value": v}
        self.keys(v, _KEYS["constants"], path)
        if "value" not in v:
            raise self.fail(path, "missing key 'value'")
        d = self.read_dims(v, path, dims)
        value = self.value(v["value"], (*path, "value"), d, dims)
        lo = self.number(v["min"], (*path, "min")) if "min" in v else None
        hi = self.number(v["max"], (*path, "max")) if "max" in v else None
        if lo is not None and hi is not None and lo > hi:
            raise self.fail((*path, "min"), f"min {lo:g} is above max {hi:g}")
        c = Constant(
            name=name,
            value=value,
            dims=d,
            **self.meta(v, path),
            min=lo,
            max=hi,
            sum_to=self.number(v["sum_to"], (*path, "sum_to")) if "sum_to" in v else None,
        )
        check_bounds(c, c.value, lambda what, hint: self.fail((*path, "value"), what, hint))
        if c.sum_to is not None:
            if len(d) != 1 or d[0] == NODE_DIM:
                raise self.fail(
                    (*path, "sum_to"),
                    "sum_to needs a constant with one dimension",
                    'declare dims = ["<dimension>"] and one value per element',
                )
            problem = sum_problem(c, c.value, dims[d[0]])
            if problem is not None:
                raise self.fail((*path, "value"), *problem)
        return c

    def value(
        self, raw: Any, path: tuple[str, ...], d: tuple[str, ...], dims: Mapping[str, Any]
    ) -> Value:
        if not d:
            return self.number(raw, path)
        if NODE_DIM in d:
            if len(d) > 1 or isinstance(raw, list | Mapping):
                raise self.fail(path, "a node constant takes one number for every node")
            return self.number(raw, path)
        if len(d) > 1:
            if isinstance(raw, list | Mapping):
                raise self.fail(path, "a constant with several dimensions takes one number")
            return self.number(raw, path)
        elements = dims[d[0]]
        if isinstance(raw, Mapping):
            for el in raw:
                if el not in elements:
                    raise self.fail(
                        (*path, el),
                        f"{el!r} is not an element of {d[0]!r}",
                        did_you_mean(el, elements),
                    )
            missing = [el for el in elements if el not in raw]
            if missing:
                raise self.fail(path, f"no value for element(s) {', '.join(missing)}")
            return tuple(self.number(raw[el], (*path, el)) for el in elements)
        if isinstance(raw, list):
            if len(raw) != len(elements):
                raise self.fail(
                    path, f"has {len(raw)} values, dimension {d[0]!r} has {len(elements)} elements"
                )
            return tuple(self.number(x, path) for x in raw)
        return self.number(raw, path)

    def read_stock(self, name: str, v: Any, dims: Mapping[str, Any]) -> Stock:
        path = ("stocks", name)
        v = self.table(v, path)
        self.keys(v, _KEYS["stocks"], path)
        if "initial" not in v:
            raise self.fail(path, "missing key 'initial'", 'e.g. initial = "100"')
        d = self.read_dims(v, path, dims)
        return Stock(
            name=name,
            initial=self.equation(v["initial"], (*path, "initial"), d, dims),
            inflows=self.names(v.get("inflows", []), (*path, "inflows")),
            outflows=self.names(v.get("outflows", []), (*path, "outflows")),
            dims=d,
            **self.meta(v, path),
            non_negative=self.boolean(v.get("non_negative", False), (*path, "non_negative")),
        )

    def read_flow(self, name: str, v: Any, dims: Mapping[str, Any]) -> Flow:
        path = ("flows", name)
        v = self.table(v, path)
        self.keys(v, _KEYS["flows"], path)
        if "equation" not in v:
            raise self.fail(path, "missing key 'equation'")
        d = self.read_dims(v, path, dims)
        return Flow(
            name=name,
            equation=self.equation(v["equation"], (*path, "equation"), d, dims),
            dims=d,
            **self.meta(v, path),
            non_negative=self.boolean(v.get("non_negative", False), (*path, "non_negative")),
        )

    def read_aux(self, name: str, v: Any, dims: Mapping[str, Any]) -> Auxiliary:
        path = ("auxiliaries", name)
        if isinstance(v, str):
            v = {"equation": v}
        v = self.table(v, path)
        self.keys(v, _KEYS["auxiliaries"], path)
        if "equation" not in v:
            raise self.fail(path, "missing key 'equation'")
        d = self.read_dims(v, path, dims)
        return Auxiliary(
            name=name,
            equation=self.equation(v["equation"], (*path, "equation"), d, dims),
            dims=d,
            **self.meta(v, path),
        )

    def read_lookup(self, name: str, v: Any) -> Lookup:
        path = ("lookups", name)
        v = self.table(v, path)
        self.keys(v, _KEYS["lookups"], path)
        pts = v.get("points")
        if not isinstance(pts, list) or len(pts) < 2:
            raise self.fail((*path, "points"), "needs a list of at least two [x, y] points")
        xs: list[float] = []
        ys: list[float] = []
        for i, p in enumerate(pts):
            if not isinstance(p, list) or len(p) != 2:
                raise self.fail((*path, "points"), f"point {i + 1} must be a pair [x, y]")
            xs.append(self.number(p[0], (*path, "points")))
            ys.append(self.number(p[1], (*path, "points")))
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise self.fail((*path, "points"), "x values must increase strictly")
        return Lookup(
            name=name,
            xs=tuple(xs),
            ys=tuple(ys),
            **self.meta(v, path),
            input_units=self.text(v.get("input_units", ""), (*path, "input_units")),
        )

    def read_event(
        self, name: str, v: Any, dims: Mapping[str, Any], stocks: Mapping[str, Stock]
    ) -> Event:
        path = ("events", name)
        v = self.table(v, path)
        self.keys(v, _KEYS["events"], path)
        if "hazard" not in v:
            raise self.fail(path, "missing key 'hazard'", 'e.g. hazard = "quit_rate"')
        reset = self.table(v.get("reset", {}), (*path, "reset"))
        if not reset:
            raise self.fail((*path, "reset"), "an event must reset at least one stock")
        d = self.read_dims(v, path, dims)
        out: dict[str, str] = {}
        for stock, eq in reset.items():
            rpath = (*path, "reset", stock)
            if stock not in stocks:
                raise self.fail(rpath, f"{stock!r} is not a stock", did_you_mean(stock, stocks))
            if stocks[stock].dims != d:
                raise self.fail(
                    rpath,
                    f"stock {stock!r} has dimensions ({', '.join(stocks[stock].dims)}), "
                    f"the event ({', '.join(d)})",
                    "an event resets stocks with exactly its own dimensions",
                )
            out[stock] = self.equation(eq, rpath, (), dims)  # type: ignore[assignment]
        return Event(
            name=name,
            hazard=self.text(
                self.equation(v["hazard"], (*path, "hazard"), (), dims), (*path, "hazard")
            ),
            reset=out,
            dims=d,
            doc=self.text(v.get("doc", ""), (*path, "doc")),
            source=self.text(v.get("source", ""), (*path, "source")),
        )

    def read_loops(
        self, table: Mapping[str, Any], *variables: Mapping[str, Any]
    ) -> dict[str, LoopSpec]:
        """``[loops.NAME]``: a named feedback loop, its variables in causal order."""
        known = {n for t in variables for n in t}
        out: dict[str, LoopSpec] = {}
        for name, v in table.items():
            path = ("loops", name)
            if not _NAME.match(name):
                raise self.fail(path, f"{name!r} is not a valid name", "use letters, digits and _")
            v = self.table(v, path)
            self.keys(v, _KEYS["loops"], path)
            if "variables" not in v:
                raise self.fail(
                    path, "missing key 'variables'", "list the loop's variables in order"
                )
            names = self.names(v["variables"], (*path, "variables"))
            if len(names) < 1 or len(set(names)) != len(names):
                raise self.fail(
                    (*path, "variables"), "must list the loop's variables once each, in order"
                )
            for n in names:
                if n not in known:
                    raise self.fail(
                        (*path, "variables"),
                        f"{n!r} is not a stock, flow or auxiliary",
                        did_you_mean(n, known),
                    )
            polarity = self.text(v.get("polarity", ""), (*path, "polarity"))
            if polarity not in ("", "R", "B"):
                raise self.fail(
                    (*path, "polarity"), f'polarity must be "R" or "B", not {polarity!r}'
                )
            out[name] = LoopSpec(
                name=name,
                variables=names,
                polarity=polarity,
                description=self.text(v.get("description", ""), (*path, "description")),
                source=self.text(v.get("source", ""), (*path, "source")),
            )
        return out

    def read_presets(
        self, table: Mapping[str, Any], constants: Mapping[str, Constant]
    ) -> dict[str, dict[str, Preset]]:
        out: dict[str, dict[str, Preset]] = {}
        for group, alts in table.items():
            gpath = ("presets", group)
            alts = self.table(alts, gpath)
            if not alts:
                raise self.fail(gpath, "a preset group needs at least one preset")
            out[group] = {}
            for pname, p in alts.items():
                path = (*gpath, pname)
                p = self.table(p, path)
                self.keys(p, _KEYS["preset"], path)
                vals = self.table(p.get("values", {}), (*path, "values"))
                values: dict[str, Value] = {}
                for cname, raw in vals.items():
                    vpath = (*path, "values", cname)
                    if cname not in constants:
                        raise self.fail(
                            vpath, f"{cname!r} is not a constant", did_you_mean(cname, constants)
                        )
                    c = constants[cname]
                    values[cname] = self.value(raw, vpath, c.dims, self.data.get("dimensions", {}))
                    check_bounds(
                        c, values[cname], lambda what, hint, vp=vpath: self.fail(vp, what, hint)
                    )
                out[group][pname] = Preset(
                    group=group,
                    name=pname,
                    values=values,
                    doc=self.text(p.get("doc", ""), (*path, "doc")),
                    source=self.text(p.get("source", ""), (*path, "source")),
                )
        return out


def _typename(value: Any) -> str:
    return {
        "str": "text",
        "int": "an integer",
        "float": "a number",
        "bool": "a boolean",
        "list": "a list",
        "dict": "a table",
    }.get(type(value).__name__, type(value).__name__)


def spec_from_dict(data: Mapping[str, Any], *, source: str | None = None) -> ModelSpec:
    """Build a spec from the structure of a model file.

    Examples
    --------
    >>> spec = spec_from_dict({"model": {"name": "decay", "time_units": "day"},
    ...                        "constants": {"k": 0.1},
    ...                        "stocks": {"x": {"initial": "1", "outflows": ["loss"]}},
    ...                        "flows": {"loss": {"equation": "k * x"}}})
    >>> spec.stocks["x"].outflows
    ('loss',)
    """
    raw: Any = data  # checked by the reader; it may be anything at run time
    model = raw.get("model") if isinstance(raw, Mapping) else None
    if isinstance(model, Mapping) and "extends" in model:
        base_dir = Path(source).parent if source else Path.cwd()
        data = _extend(data, base_dir / "<dict>", (), None)
    return _Reader(data, source, None).read()


def spec_from_file(path: str | Path) -> ModelSpec:
    """Read and check a TOML model file (following ``[model] extends``)."""
    doc = load_toml(path, error=ModelError, hint="see docs/model-files.md", what="model file")
    named = doc.data.get("model")
    if isinstance(named, str):
        raise ModelError(
            "this is a scenario file, not a model file (model = ... names its model)",
            file=str(path),
            line=doc.line("model"),
            where="model",
            hint=f"run it with `simdyn run {path}`; see its model with `simdyn show {named}`",
        )
    data = _extend(doc.data, Path(path), (), doc)
    return _Reader(data, str(path), doc).read()


#: Built-in model files, for ``extends = "name"``.
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"

_VARIABLE_TABLES = ("constants", "stocks", "flows", "auxiliaries", "lookups", "events")


def _extend(
    raw: Mapping[str, Any], path: Path, chain: tuple[Path, ...], doc: TomlDocument | None
) -> dict[str, Any]:
    """Merge a model file (or a ``dict`` said to live at ``path``) over the one it ``extends``.

    Each entry of the child (a variable, a preset group, a dimension, a ``[model]`` or ``[time]``
    key) replaces the base's entry of the same name; ``[model] remove`` lists names to drop.
    """
    data = dict(raw)
    model = data.get("model")
    file = str(path) if doc is not None else None
    if not isinstance(model, Mapping) or "extends" not in model:
        if isinstance(model, Mapping) and "remove" in model:
            raise ModelError(
                "'remove' only applies together with 'extends'",
                file=file,
                line=doc.line("model", "remove") if doc is not None else None,
                where="model.remove",
            )
        return data
    reader = _Reader(data, file, doc)
    target = reader.text(model["extends"], ("model", "extends"))
    if not target.strip() or "\x00" in target:
        raise reader.fail(("model", "extends"), "must be a model name or file (no NUL byte)")
    try:
        base_path = (
            MODELS_DIR / f"{target}.toml"
            if "/" not in target and not target.endswith(".toml")
            else (path.parent / target)
        ).resolve()
        found = base_path.is_file()
    except OSError as exc:
        raise reader.fail(
            ("model", "extends"), f"cannot use {target[:80]!r}: {exc.strerror or exc}"
        ) from None
    if base_path in chain or base_path == path.resolve():
        raise reader.fail(
            ("model", "extends"), f"circular extends: {target!r} extends this file again"
        )
    if not found:
        raise reader.fail(
            ("model", "extends"),
            f"cannot find the model {target!r} to extend",
            "a built-in model name or a path relative to this file",
        )
    base_doc = load_toml(
        base_path, error=ModelError, hint="see docs/model-files.md", what="model file"
    )
    base = _extend(base_doc.data, base_path, (*chain, path.resolve()), base_doc)
    _Reader(base, str(base_path), base_doc).read()  # the base must be valid on its own
    merged: dict[str, Any] = {
        k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()
    }
    for section, value in data.items():
        if isinstance(value, Mapping) and isinstance(merged.get(section), Mapping):
            merged[section] = {**merged[section], **value}
        elif not isinstance(value, Mapping) and (
            isinstance(merged.get(section), Mapping) or section in _VARIABLE_TABLES
        ):
            raise reader.fail(
                (section,), f"must be a table, not {_typename(value)}", f"write [{section}.NAME]"
            )
        else:
            merged[section] = value
    merged["model"] = {k: v for k, v in merged["model"].items() if k not in ("extends", "remove")}
    for name in reader.names(model.get("remove", []), ("model", "remove")):
        tables = [t for t in _VARIABLE_TABLES if name in merged.get(t, {})]
        if not tables:
            raise reader.fail(("model", "remove"), f"{name!r} is not defined in {target!r}")
        for t in tables:
            merged[t] = {k: v for k, v in merged[t].items() if k != name}
        # a named loop through a removed variable no longer exists
        loops = merged.get("loops")
        if isinstance(loops, Mapping):
            merged["loops"] = {
                k: v
                for k, v in loops.items()
                if not (isinstance(v, Mapping) and name in (v.get("variables") or ()))
            }
    return merged
