"""XMILE front end: an ``.xmile``/``.stmx``/``.xml`` file to the same :class:`ModelSpec` as TOML.

Reading the XML is :mod:`simdyn.model.xmile_xml`'s job, parsing equations
:mod:`simdyn.model.xmile_expr`'s, mapping builtins and names :mod:`simdyn.model.xmile_lower`'s.
This module names things: every XMILE name becomes a simdyn identifier (modules flattened as
``module.variable``), and ``ModelSpec.labels`` keeps the name as written in the file, under
which results are reported.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simdyn.errors import ModelError, SimdynError
from simdyn.expr import Node, is_reserved
from simdyn.expr.printer import unparse
from simdyn.model.loader import spec_from_dict
from simdyn.model.spec import ModelSpec
from simdyn.model.xmile_expr import canonical, parse_xmile
from simdyn.model.xmile_lower import Scope, Table, VarRef, apply_table, lower
from simdyn.model.xmile_xml import XMILE_SUFFIXES, XFile, XGf, XModel, XVar, read_xmile

__all__ = ["XMILE_SUFFIXES", "spec_from_xmile"]

_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")
_MAX_MODULE_DEPTH = 20


def _label(name: str) -> str:
    return " ".join(name.replace("\\n", " ").split())


@dataclass
class _Inst:
    """A variable of one module instance, with its identifier."""

    prefix: tuple[str, ...]  # canonical module path
    model: XModel
    var: XVar
    ident: str
    label: str
    connected_from: str | None = None  # the source of a module input


class _Builder:
    def __init__(self, xf: XFile) -> None:
        self.xf = xf
        self.used: set[str] = set()
        self.labels: dict[str, str] = {}
        self.vars: dict[tuple[str, ...], _Inst] = {}  # canonical path -> instance variable
        self.tables: dict[tuple[str, ...], Table] = {}
        self.modules: dict[tuple[str, ...], XModel] = {}
        self.dims: dict[str, tuple[str, ...]] = {}
        self.dim_names: dict[str, str] = {}
        self.element_names: dict[str, dict[str, str]] = {}
        self.indicators: dict[tuple[str, str], str] = {}
        self.data: dict[str, Any] = {
            "constants": {},
            "stocks": {},
            "flows": {},
            "auxiliaries": {},
            "lookups": {},
        }

    # -- names ------------------------------------------------------------------------------------
    def ident(self, label: str) -> str:
        base = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_") or "v"
        if base[0].isdigit():
            base = "v_" + base
        if is_reserved(base) or base.lower() in ("time", "dt"):
            base += "_v"
        out, k = base, 2
        while out.lower() in self.used:
            out, k = f"{base}_{k}", k + 1
        self.used.add(out.lower())
        return out

    def read_dimensions(self) -> None:
        for d in self.xf.dims.values():
            ident = self.ident(d.name)
            self.dim_names[canonical(d.name)] = ident
            self.labels[ident] = d.name
            names: dict[str, str] = {}
            idents: list[str] = []
            for e in d.elements:
                eid = self.ident(("e" + e) if e[:1].isdigit() else e)
                names[canonical(e)] = eid
                self.labels[eid] = e
                idents.append(eid)
            self.dims[ident] = tuple(idents)
            self.element_names[ident] = names

    def collect(self, model: XModel, prefix: tuple[str, ...], labels: tuple[str, ...]) -> None:
        if len(prefix) > _MAX_MODULE_DEPTH:
            raise self.xf.fail(f"<module name={labels[-1]!r}>", "modules nested too deeply (recursive?)")  # fmt: skip
        self.modules[prefix] = model
        for v in model.variables:
            path = (*prefix, canonical(v.name))
            label = ".".join((*labels, _label(v.name)))
            if path in self.vars:
                raise self.xf.fail(f"<{v.kind} name={v.name!r}>", "defined twice", needle=v.name)
            self.vars[path] = _Inst(prefix, model, v, self.ident(label), label)
            self.labels[self.vars[path].ident] = label
        for g in model.gfs:
            self.tables[(*prefix, canonical(g.name))] = self.table(g, ".".join((*labels, g.name)), named=True)  # fmt: skip
        for m in model.modules:
            sub = self.xf.models.get(m.model)
            if sub is None:
                raise self.xf.fail(f"<module name={m.name!r}>", f"no <model name={m.model!r}> in the file", needle=m.name)  # fmt: skip
            self.collect(sub, (*prefix, canonical(m.name)), (*labels, _label(m.name)))
            own = canonical(m.name) + "."
            for to, src in m.connects:
                to_c = canonical(to)
                to_c = to_c[len(own) :] if to_c.startswith(own) else to_c
                inst = self.vars.get((*prefix, canonical(m.name), to_c))
                if inst is None:
                    raise self.xf.fail(f"<module name={m.name!r}><connect to={to!r}>", f"module {m.model!r} has no variable {to!r}")  # fmt: skip
                inst.connected_from = src

    def table(self, g: XGf, label: str, named: bool = False) -> Table:
        ident = self.ident(label if named else label + "_gf")
        xs = list(g.xs)
        for k in range(1, len(xs)):  # a vertical jump: the second point just after the first
            if xs[k] <= xs[k - 1]:
                xs[k] = xs[k - 1] + 1e-9 * max(1.0, abs(xs[k - 1]))
        if g.kind != "discrete":
            if len(xs) == 1:
                xs, ys = [xs[0], xs[0] + 1.0], [g.ys[0], g.ys[0]]
            else:
                ys = list(g.ys)
            self.data["lookups"][ident] = {"points": [[x, y] for x, y in zip(xs, ys, strict=True)]}
        return Table(ident, tuple(xs), g.ys, g.kind)

    # -- scope ----------------------------------------------------------------------------------
    def resolve(self, prefix: tuple[str, ...], raw: str) -> _Inst | None:
        c = canonical(raw)
        if c.startswith("."):
            return self.resolve(prefix[:-1], raw.lstrip(".")) if prefix else self.resolve((), raw.lstrip("."))  # fmt: skip
        found = self.vars.get((*prefix, c))
        if found is None and "." in c:
            head, _, rest = c.partition(".")
            if (*prefix, head) in self.modules:
                return self.resolve((*prefix, head), rest)
        return found

    def ref(self, inst: _Inst) -> VarRef:
        v = inst.var
        if inst.connected_from is not None:
            src = self.resolve(inst.prefix[:-1], inst.connected_from)
            if src is not None and src is not inst:
                return dataclasses.replace(self.ref(src), ident=inst.ident)
        table = None
        if v.gf is not None:
            table = self._var_tables.get(inst.ident)
        dims = tuple(self.dim_names.get(canonical(d), d) for d in v.dims)
        return VarRef(inst.ident, dims, table)

    def scope(self, prefix: tuple[str, ...], target: tuple[str, ...] = ()) -> Scope:
        def variable(raw: str) -> VarRef | None:
            inst = self.resolve(prefix, raw)
            return None if inst is None else self.ref(inst)

        def table(raw: str) -> Table | None:
            c = canonical(raw)
            return self.tables.get((*prefix, c)) or self.tables.get((c,))

        return Scope(variable, table, self.dims, self.dim_names, self.element_names, target)

    # -- variables ----------------------------------------------------------------------------
    def build(self) -> ModelSpec:
        xf = self.xf
        self.read_dimensions()
        self.collect(xf.models[""], (), ())
        self._var_tables: dict[str, Table] = {}
        for inst in self.vars.values():
            if inst.var.gf is not None:
                self._var_tables[inst.ident] = self.table(inst.var.gf, inst.label)
        for inst in self.vars.values():
            self.variable(inst)
        return self.spec()

    def where(self, inst: _Inst, part: str = "eqn") -> str:
        mod = "".join(f"<module {p!r}>" for p in inst.prefix)
        return f"{mod}<{inst.var.kind} name={inst.var.name!r}><{part}>"

    def equation(self, inst: _Inst, text: str | None, dims: tuple[str, ...], part: str = "eqn") -> tuple[str, Node]:  # fmt: skip
        if text is None or not text.strip() or (text.strip().startswith("{") and text.strip().endswith("}")):  # fmt: skip
            raise self.xf.fail(self.where(inst, part), "no equation", needle=inst.var.name)
        try:
            node = lower(parse_xmile(text), self.scope(inst.prefix, dims))
        except SimdynError as e:
            untranslated = "???" in text
            raise ModelError(
                f"{e.what} in {text.strip()!r}"
                + (
                    " (the tool that wrote this file could not translate the equation)"
                    if untranslated
                    else ""
                ),
                file=self.xf.path,
                line=self.xf.line_of(inst.var.name),
                where=self.where(inst, part),
                column=e.column,
                hint=e.hint,
            ) from None
        return unparse(node), node

    def variable(self, inst: _Inst) -> None:
        v = inst.var
        dims = tuple(self.dim_names.get(canonical(d), "") for d in v.dims)
        for raw, d in zip(v.dims, dims, strict=True):
            if not d:
                raise self.xf.fail(self.where(inst, "dimensions"), f"unknown dimension {raw!r}", needle=v.name)  # fmt: skip
        meta: dict[str, Any] = {"units": v.units, "doc": v.doc}
        if dims:
            meta["dims"] = list(dims)
        if inst.connected_from is not None:
            src = self.resolve(inst.prefix[:-1], inst.connected_from)
            if src is None:
                raise self.xf.fail(self.where(inst, "connect"), f"module input from unknown variable {inst.connected_from!r}")  # fmt: skip
            self.data["auxiliaries"][inst.ident] = {"equation": src.ident, **self.ref_meta(src)}
            return
        if v.kind == "stock":
            self.stock(inst, dims, meta)
            return
        eq = self.body(inst, dims)
        if v.kind == "flow":
            self.data["flows"][inst.ident] = {"equation": eq, "non_negative": v.non_negative, **meta}  # fmt: skip
        elif isinstance(eq, float | list):
            self.data["constants"][inst.ident] = {"value": eq, **meta}
        else:
            self.data["auxiliaries"][inst.ident] = {"equation": eq, **meta}

    def ref_meta(self, src: _Inst) -> dict[str, Any]:
        dims = [self.dim_names.get(canonical(d), d) for d in src.var.dims]
        return {"dims": dims} if dims else {}

    def body(self, inst: _Inst, dims: tuple[str, ...]) -> Any:
        """A flow's or auxiliary's definition: a number, numbers per element, or equations."""
        v = inst.var
        if v.elements:
            if len(dims) > 1:
                return self.elements_nd(inst, dims)
            per: dict[str, str] = {}
            numbers = {canonical(k): t for k, t in v.elements.items() if _NUMBER.match(t)}
            if v.kind == "aux" and not v.gf and not v.element_gfs and len(numbers) == len(v.elements):  # fmt: skip
                names = self.element_names[dims[0]]
                if set(numbers) == set(names):
                    return [float(numbers[canonical(self.labels[e])]) for e in self.dims[dims[0]]]
            for sub, text in v.elements.items():
                el = self.element_names[dims[0]].get(canonical(sub))
                if el is None:
                    raise self.xf.fail(self.where(inst, "element"), f"{sub!r} is not an element of {v.dims[0]!r}", needle=v.name)  # fmt: skip
                gf = v.element_gfs.get(sub) or v.gf
                per[el] = self.with_table(inst, text, gf, f"{inst.label}[{sub}]")
            return per
        text = v.eqn or ""
        if v.gf is None:
            parts = text.split(",")
            if v.kind == "aux" and all(_NUMBER.match(p) for p in parts):
                values = [float(p) for p in parts]
                if len(values) == 1:
                    return values[0]
                if len(dims) == 1 and len(values) == len(self.dims[dims[0]]):
                    return values
                raise self.xf.fail(self.where(inst), f"{len(values)} values for {len(dims)} dimension(s)", needle=v.name)  # fmt: skip
        return self.with_table(inst, text, None if v.gf is None else v.gf, inst.label, dims)

    def elements_nd(self, inst: _Inst, dims: tuple[str, ...]) -> str:
        """Per-element equations over several dimensions as one sum of ``equation * indicator``
        terms, where an indicator is a product of one-dimensional 0/1 constants."""
        v = inst.var
        terms: list[str] = []
        for sub, text in v.elements.items():
            parts = [p.strip() for p in sub.split(",")]
            if len(parts) != len(dims):
                raise self.xf.fail(self.where(inst, "element"), f"subscript {sub!r} does not name one element per dimension", needle=v.name)  # fmt: skip
            factors = []
            for raw, d, part in zip(v.dims, dims, parts, strict=True):
                el = self.element_names[d].get(canonical(part))
                if el is None:
                    raise self.xf.fail(self.where(inst, "element"), f"{part!r} is not an element of {raw!r}", needle=v.name)  # fmt: skip
                factors.append(self.indicator(d, el))
            gf = v.element_gfs.get(sub) or v.gf
            eq = self.with_table(inst, text, gf, f"{inst.label}[{sub}]")
            terms.append(f"({eq}) * {' * '.join(factors)}")
        return " + ".join(terms)

    def indicator(self, dim: str, element: str) -> str:
        """A constant over ``dim``: 1 at ``element``, 0 elsewhere (not reported)."""
        key = (dim, element)
        ident = self.indicators.get(key)
        if ident is None:
            ident = self.indicators[key] = self.ident(f"is_{dim}_{element}")
            values = [1.0 if e == element else 0.0 for e in self.dims[dim]]
            self.data["constants"][ident] = {"value": values, "dims": [dim]}
        return ident

    def with_table(self, inst: _Inst, text: str, gf: XGf | None, label: str, dims: tuple[str, ...] = ()) -> str:  # fmt: skip
        if gf is None:
            return self.equation(inst, text, dims)[0]
        table = self._var_tables.get(inst.ident) if gf is inst.var.gf else self.table(gf, label)
        assert table is not None
        if not text.strip():
            text = "TIME"
        _, node = self.equation(inst, text, dims)
        return unparse(apply_table(table, node, 1))

    def stock(self, inst: _Inst, dims: tuple[str, ...], meta: dict[str, Any]) -> None:
        v = inst.var
        if v.elements:
            initial: Any = self.body(inst, dims)
        else:
            text = v.eqn or ""
            parts = text.split(",")
            if len(parts) > 1 and all(_NUMBER.match(p) for p in parts) and len(dims) == 1:
                initial = {e: p.strip() for e, p in zip(self.dims[dims[0]], parts, strict=False)}
            else:
                initial = self.equation(inst, text, dims)[0]
        flows: dict[str, list[str]] = {"inflows": [], "outflows": []}
        for key, names in (("inflows", v.inflows), ("outflows", v.outflows)):
            for f in names:
                src = self.resolve(inst.prefix, f)
                if src is None or src.var.kind != "flow":
                    raise self.xf.fail(self.where(inst, key[:-1]), f"{f!r} is not a flow", needle=v.name)  # fmt: skip
                flows[key].append(src.ident)
        if v.non_negative:
            flows = self.net_flow(inst, flows, meta)
        self.data["stocks"][inst.ident] = {"initial": initial, **flows, **meta}

    def net_flow(self, inst: _Inst, flows: dict[str, list[str]], meta: dict[str, Any]) -> dict[str, list[str]]:  # fmt: skip
        """A non-negative stock as XMILE tools compute it: the stock never goes below zero in a
        step, ``d/dt stock = MAX(inflows - outflows, -stock / DT)``; the flows keep their values."""
        net = " - ".join([" + ".join(flows["inflows"]) or "0", *flows["outflows"]])
        ident = self.ident(inst.ident + "_net_flow")
        equation = f"MAX({net}, -{inst.ident} / DT)"
        self.data["flows"][ident] = {"equation": equation, **{k: v for k, v in meta.items() if k == "dims"}}  # fmt: skip
        return {"inflows": [ident], "outflows": []}

    # -- the spec -------------------------------------------------------------------------------
    def detach_flows(self) -> None:
        """Flows that only feed non-negative stocks (through their net flows) become auxiliaries."""
        attached = {f for st in self.data["stocks"].values() for k in ("inflows", "outflows") for f in st[k]}  # fmt: skip
        for ident in [f for f in self.data["flows"] if f not in attached]:
            flow = self.data["flows"].pop(ident)
            eq = flow.pop("equation")
            if flow.pop("non_negative", False):
                eq = {k: f"MAX({e}, 0)" for k, e in eq.items()} if isinstance(eq, dict) else f"MAX({eq}, 0)"  # fmt: skip
            self.data["auxiliaries"][ident] = {"equation": eq, **flow}

    def vensim_saveper(self) -> float | None:
        """A number in xmutil's ``SAVEPER`` auxiliary (Vensim saves results at that interval)."""
        inst = self.vars.get(("saveper",))
        text = (inst.var.eqn or "") if inst is not None else ""
        if not _NUMBER.match(text):
            return None
        value = float(text)
        steps = value / self.xf.dt
        return value if abs(steps - round(steps)) < 1e-9 else None

    def spec(self) -> ModelSpec:
        self.detach_flows()
        xf = self.xf
        name = xf.name or Path(xf.path).stem
        time: dict[str, Any] = {
            "start": xf.start,
            "stop": xf.stop,
            "dt": xf.dt,
            "method": xf.method,
        }
        save = xf.save_per if xf.save_per is not None else self.vensim_saveper()
        if save is not None and save > xf.dt:
            time["save_per"] = save
        data = {
            "model": {"name": name, "time_units": xf.time_units or "time"},
            "time": time,
            "dimensions": {k: list(v) for k, v in self.dims.items()},
            **{k: v for k, v in self.data.items() if v},
        }
        try:
            spec = spec_from_dict(data, source=xf.path)
        except SimdynError as e:
            raise e.located(file=xf.path) from None
        return dataclasses.replace(spec, labels=dict(self.labels), source=xf.path)


def spec_from_xmile(path: str | Path) -> ModelSpec:
    """Read an XMILE 1.0 file (Stella Architect, xmutil) into a :class:`ModelSpec`.

    Raises
    ------
    ModelError
        One error naming the file, the element and what is not supported.
    """
    return _Builder(read_xmile(path)).build()


def labels_of(spec: ModelSpec) -> Mapping[str, str]:
    """Original names of ``spec``'s identifiers (the identifier itself where none is recorded)."""
    return spec.labels
