"""Writing a :class:`ModelSpec` as an XMILE 1.0 file that Stella and PySD open.

Names are written as the model's labels (the names an XMILE import read) or identifiers;
equations are printed from simdyn's syntax tree with XMILE spellings (``IF THEN ELSE``, ``x[*]``
inside array reductions). Constants take their default values, or those of chosen presets.
What XMILE cannot express (per-person ``node`` variables, random events, network builtins) is
refused with one error naming the variable.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from simdyn.errors import ModelError
from simdyn.expr import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp, parse
from simdyn.expr.printer import unparse
from simdyn.model.functions import FUNCTIONS
from simdyn.model.loader import NODE_DIM
from simdyn.model.spec import Equation, ModelSpec

__all__ = ["XMILE_NS", "write_xmile", "xmile_text"]

XMILE_NS = "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"
_METHODS = {"euler": "Euler", "rk2": "RK2", "heun": "RK2", "rk4": "RK4"}
_REDUCTIONS = frozenset({"SUM", "MEAN", "MIN", "MAX"})


class _Writer:
    def __init__(self, spec: ModelSpec, values: Mapping[str, Any], dialect: str) -> None:
        if dialect not in ("xmile", "pysd"):
            raise ModelError(f"unknown XMILE dialect {dialect!r}", hint="'xmile' or 'pysd'")
        self.dialect = dialect
        self.spec = spec
        self.values = values
        self.dims: dict[str, tuple[str, ...]] = {}
        for table in (spec.constants, spec.stocks, spec.flows, spec.auxiliaries):
            for name, v in table.items():
                self.dims[name] = tuple(v.dims)
                if NODE_DIM in v.dims:
                    raise ModelError(
                        f"{name!r} has the dimension 'node' (one value per person): XMILE has no org graph",
                        where=name,
                        hint="export a model without network variables",
                    )
        if spec.events:
            raise ModelError(
                "random events cannot be written as XMILE", where=next(iter(spec.events))
            )

    def name(self, ident: str) -> str:
        return self.spec.labels.get(ident, ident)

    def ref(self, ident: str) -> str:
        """A name as an equation writes it: spaces as ``_``, quoted if it is not plain."""
        label = self.name(ident).replace(" ", "_")
        return label if label.replace("_", "a").replace(".", "a").isalnum() else f'"{label}"'

    # -- equations --------------------------------------------------------------------------------
    def xmile_tree(self, node: Node, in_reduction: bool = False) -> Node:
        go = self.xmile_tree
        if self.dialect == "pysd" and _is_pi(node):
            return Num(math.pi, node.col)  # PySD 3.14 reads no PI builtin
        if isinstance(node, Name):
            dims = self.dims.get(node.name)
            if in_reduction and dims:
                if self.dialect == "pysd":
                    return Subscript(node.name, tuple(f"{self.ref(d)}!" for d in dims), node.col)
                return Subscript(node.name, ("*",) * len(dims), node.col)
            return node
        if isinstance(node, Call):
            upper = node.func.upper()
            if upper in FUNCTIONS:
                raise ModelError(f"{upper} has no XMILE equivalent")
            if upper == "IF_THEN_ELSE":
                c, a, b = (go(x, in_reduction) for x in node.args)
                return If(c, a, b, node.col)
            red = upper in _REDUCTIONS and len(node.args) == 1
            if upper in ("SUM", "MEAN") and len(node.args) == 2:
                raise ModelError(
                    f"{upper}(x, dimension) has no XMILE form; write {upper}(x[*, ...])"
                )
            return Call(node.func, tuple(go(a, in_reduction or red) for a in node.args), node.col)
        if isinstance(node, BinOp):
            return BinOp(node.op, go(node.left, in_reduction), go(node.right, in_reduction), node.col)  # fmt: skip
        if isinstance(node, UnaryOp):
            return UnaryOp(node.op, go(node.operand, in_reduction), node.col)
        if isinstance(node, If):
            cond, then, other = (
                go(x, in_reduction) for x in (node.cond, node.then, node.otherwise)
            )
            return If(cond, then, other, node.col)
        return node

    def equation(self, where: str, text: str) -> str:
        try:
            tree = self.xmile_tree(parse(text))
        except ModelError as e:
            raise ModelError(e.what, where=where, hint=e.hint) from None
        names = set(self.dims) | set(self.spec.lookups)
        elements = {e for els in self.spec.dimensions.values() for e in els}

        def rename(s: str) -> str:
            if s in names:
                return self.ref(s)
            if s in elements:
                return self.ref(s)
            return s

        return unparse(tree, rename=rename)

    # -- elements ---------------------------------------------------------------------------------
    def put_dims(self, el: Element, dims: tuple[str, ...]) -> None:
        if dims:
            box = SubElement(el, "dimensions")
            for d in dims:
                SubElement(box, "dim", name=self.name(d))

    def put_equation(self, el: Element, where: str, eq: Equation, dims: tuple[str, ...]) -> None:
        if isinstance(eq, str):
            SubElement(el, "eqn").text = self.equation(where, eq)
            return
        for element, text in eq.items():
            sub = SubElement(el, "element", subscript=self.name(element))
            SubElement(sub, "eqn").text = self.equation(f"{where}[{element}]", text)

    def put_meta(self, el: Element, v: Any) -> None:
        if v.units:
            SubElement(el, "units").text = v.units
        doc = " ".join(x for x in (v.doc, f"Source: {v.source}" if v.source else "") if x)
        if doc:
            SubElement(el, "doc").text = doc

    def constant(self, parent: Element, name: str) -> None:
        c = self.spec.constants[name]
        value = self.values.get(name, c.value)
        el = SubElement(parent, "aux", name=self.name(name))
        self.put_dims(el, c.dims)
        if isinstance(value, int | float):
            SubElement(el, "eqn").text = repr(float(value))
        else:
            elements = self.spec.dimensions[c.dims[0]]
            for element, x in zip(elements, value, strict=True):
                sub = SubElement(el, "element", subscript=self.name(element))
                SubElement(sub, "eqn").text = repr(float(x))
        self.put_meta(el, c)

    def variables(self, parent: Element) -> None:
        spec = self.spec
        for name in spec.constants:
            self.constant(parent, name)
        for name, s in spec.stocks.items():
            el = SubElement(parent, "stock", name=self.name(name))
            self.put_dims(el, s.dims)
            self.put_equation(el, f"stocks.{name}.initial", s.initial, s.dims)
            for inflow in s.inflows:
                SubElement(el, "inflow").text = self.ref(inflow)
            for outflow in s.outflows:
                SubElement(el, "outflow").text = self.ref(outflow)
            if s.non_negative:
                SubElement(el, "non_negative")
            self.put_meta(el, s)
        for name, f in spec.flows.items():
            el = SubElement(parent, "flow", name=self.name(name))
            self.put_dims(el, f.dims)
            self.put_equation(el, f"flows.{name}.equation", f.equation, f.dims)
            if f.non_negative:
                SubElement(el, "non_negative")
            self.put_meta(el, f)
        for name, a in spec.auxiliaries.items():
            el = SubElement(parent, "aux", name=self.name(name))
            self.put_dims(el, a.dims)
            self.put_equation(el, f"auxiliaries.{name}.equation", a.equation, a.dims)
            self.put_meta(el, a)
        for name, lk in spec.lookups.items():
            el = SubElement(parent, "gf", name=self.name(name))
            SubElement(el, "xpts").text = ",".join(repr(float(x)) for x in lk.xs)
            SubElement(el, "ypts").text = ",".join(repr(float(y)) for y in lk.ys)
            self.put_meta(el, lk)

    def document(self) -> Element:
        spec = self.spec
        root = Element("xmile", version="1.0", xmlns=XMILE_NS)
        header = SubElement(root, "header")
        SubElement(header, "vendor").text = "simdyn"
        SubElement(header, "name").text = spec.name
        SubElement(header, "product", version="1.0", lang="en").text = "simdyn"
        t = spec.time
        method = _METHODS.get((t.method or "euler").lower())
        if method is None:
            raise ModelError(
                f"method {t.method!r} has no XMILE name",
                where="time.method",
                hint="euler, rk2, rk4",
            )
        ss = SubElement(root, "sim_specs", method=method, time_units=spec.time_units)
        SubElement(ss, "start").text = repr(float(t.start))
        SubElement(ss, "stop").text = repr(float(t.stop))
        SubElement(ss, "dt").text = repr(float(t.dt))
        if t.save_per is not None:
            ss.set("save_interval", repr(float(t.save_per)))
        if spec.dimensions:
            dims = SubElement(root, "dimensions")
            for d, elements in spec.dimensions.items():
                dim = SubElement(dims, "dim", name=self.name(d))
                for e in elements:
                    SubElement(dim, "elem", name=self.name(e))
        model = SubElement(root, "model")
        if spec.doc:
            model.set("doc", spec.doc)
        self.variables(SubElement(model, "variables"))
        return root


def _preset_values(spec: ModelSpec, presets: Mapping[str, str] | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group, choice in (presets or {}).items():
        alts = spec.presets.get(group)
        if alts is None or choice not in alts:
            known = ", ".join(f"{g}: {', '.join(a)}" for g, a in spec.presets.items()) or "none"
            raise ModelError(f"no preset {group}={choice!r}", where="presets", hint=known)
        values.update(alts[choice].values)
    return values


def xmile_text(
    spec: ModelSpec, presets: Mapping[str, str] | None = None, dialect: str = "xmile"
) -> str:
    """The XMILE document for ``spec`` (constants from ``presets``, one name per group).

    ``dialect="pysd"`` writes array reductions as ``SUM(x[dim!])``, the only form PySD 3.14
    reads, instead of XMILE's ``SUM(x[*])``.
    """
    root = _Writer(spec, _preset_values(spec, presets), dialect).document()
    indent(root)
    body = tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'


def write_xmile(
    spec: ModelSpec,
    path: str | Path,
    presets: Mapping[str, str] | None = None,
    dialect: str = "xmile",
) -> Path:
    """Write ``spec`` as XMILE to ``path`` atomically (see :func:`xmile_text`)."""
    text = xmile_text(spec, presets, dialect)
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _is_pi(node: Node) -> bool:
    """``PI`` written as a name or as a call without arguments."""
    if isinstance(node, Name):
        return node.name.upper() == "PI"
    return isinstance(node, Call) and node.func.upper() == "PI" and not node.args
