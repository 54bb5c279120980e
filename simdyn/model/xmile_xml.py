"""Reading an XMILE file into plain records (no equations are interpreted here).

The XML is parsed with :mod:`defusedxml` (no external entities, no entity expansion). Files
written by Vensim's xmutil use the ``isee:`` prefix without declaring it; such undeclared
prefixes are declared on the root element before parsing, so these files read like any other.
Vendor extensions (``isee:`` elements and attributes) are ignored.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from simdyn.errors import ModelError

__all__ = [
    "XMILE_SUFFIXES",
    "XDim",
    "XFile",
    "XGf",
    "XModel",
    "XModule",
    "XVar",
    "XmileWarning",
    "read_xmile",
]

#: File name endings read as XMILE.
XMILE_SUFFIXES = (".xmile", ".stmx", ".xml", ".itmx")
_ISEE_NS = "http://iseesystems.com/XMILE"
_PREFIX = re.compile(r"[<\s]([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*")
_DECLARED = re.compile(r"xmlns:([A-Za-z_][\w.-]*)\s*=")
_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?xmile\b")


class XmileWarning(UserWarning):
    """An XMILE file was read, but not as written (for example XML that is not well-formed)."""


@dataclass(frozen=True)
class XGf:
    """A graphical function: points, and how it reads between and beyond them."""

    name: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    kind: str = "continuous"  # "continuous", "extrapolate" or "discrete"


@dataclass
class XVar:
    """One ``<stock>``, ``<flow>``, ``<aux>`` (or a connected placeholder)."""

    kind: str  # "stock", "flow", "aux"
    name: str
    eqn: str | None = None
    inflows: list[str] = field(default_factory=list)
    outflows: list[str] = field(default_factory=list)
    non_negative: bool = False
    dims: list[str] = field(default_factory=list)
    elements: dict[str, str] = field(default_factory=dict)  # "e1,e2" -> equation
    gf: XGf | None = None
    element_gfs: dict[str, XGf] = field(default_factory=dict)
    units: str = ""
    doc: str = ""


@dataclass(frozen=True)
class XModule:
    """A ``<module>``: an instance of a sub-model and its input connections."""

    name: str
    model: str
    connects: tuple[tuple[str, str], ...]  # (to, from)


@dataclass
class XModel:
    """One ``<model>``: variables, named graphical functions and module instances."""

    name: str
    variables: list[XVar] = field(default_factory=list)
    gfs: list[XGf] = field(default_factory=list)
    modules: list[XModule] = field(default_factory=list)


@dataclass(frozen=True)
class XDim:
    """A dimension: its elements (``size="3"`` gives elements ``1``, ``2``, ``3``)."""

    name: str
    elements: tuple[str, ...]


@dataclass
class XFile:
    """Everything simdyn reads from an XMILE file."""

    path: str
    text: str
    name: str = ""
    start: float = 0.0
    stop: float = 100.0
    dt: float = 1.0
    save_per: float | None = None
    method: str = "euler"
    time_units: str = ""
    dims: dict[str, XDim] = field(default_factory=dict)
    models: dict[str, XModel] = field(default_factory=dict)
    macros: tuple[str, ...] = ()
    non_negative: dict[str, bool] = field(default_factory=dict)  # <behavior>: kind -> default

    def fail(self, where: str, what: str, hint: str | None = None, needle: str = "") -> ModelError:
        """A :class:`ModelError` located at ``file:line`` of ``needle`` (when found)."""
        return ModelError(what, file=self.path, line=self.line_of(needle), where=where, hint=hint)

    def line_of(self, needle: str) -> int | None:
        """Line of the first ``name="needle"`` in the file (``None`` when absent)."""
        if not needle:
            return None
        k = self.text.find(f'name="{needle}"')
        return None if k < 0 else self.text.count("\n", 0, k) + 1


def _local(tag: Any) -> str:
    """The element's tag without its namespace; vendor tags (``isee:``) keep a ``vendor:`` mark."""
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        vendor = "isee" in ns.lower() or ns.startswith("urn:simdyn:undeclared")
        return f"vendor:{local}" if vendor else local
    return tag


def _children(el: Any, tag: str) -> list[Any]:
    return [c for c in el if _local(c.tag) == tag]


def _child(el: Any, tag: str) -> Any:
    found = _children(el, tag)
    return found[0] if found else None


def _text(el: Any) -> str:
    return "" if el is None else "".join(el.itertext()).strip()


def _attr(el: Any, name: str) -> str | None:
    """An attribute by local name, in any namespace (``isee:save_interval`` too)."""
    for k, v in el.attrib.items():
        if k == name or k.endswith("}" + name):
            return str(v)
    return None


def _declare_prefixes(text: str) -> str:
    used = {m.group(1) for m in _PREFIX.finditer(text)} - {"xml", "xmlns"}
    missing = sorted(used - set(_DECLARED.findall(text)))
    m = _ROOT.search(text)
    if not missing or m is None:
        return text
    decl = "".join(
        f' xmlns:{p}="{_ISEE_NS if p == "isee" else "urn:simdyn:undeclared:" + p}"' for p in missing
    )
    return text[: m.end()] + decl + text[m.end() :]


def _parse(path: str, text: str) -> Any:
    data = _declare_prefixes(text).encode("utf-8")
    try:
        return fromstring(data)
    except DefusedXmlException as e:
        raise ModelError(f"unsafe XML refused: {type(e).__name__}", file=path) from None
    except ParseError as e:
        problem = str(e)
    return _recover(path, data, problem)


def _recover(path: str, data: bytes, problem: str) -> Any:
    """Read a file that is not well-formed with lxml's recovering parser (hardened), warning."""
    from lxml import etree

    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root = etree.fromstring(data, parser)
    if root is None:
        raise ModelError(
            f"not well-formed XML: {problem}", file=path, hint="is this an XMILE file?"
        )
    warnings.warn(
        f"{path}: not well-formed XML ({problem}); read with a recovering parser",
        XmileWarning,
        stacklevel=4,
    )
    return root


def read_xmile(path: str | Path) -> XFile:
    """Parse ``path`` into an :class:`XFile`; a :class:`ModelError` names what is wrong."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ModelError(f"cannot read model file: {e.strerror}", file=str(p)) from None
    text = raw.decode("utf-8-sig", errors="replace")
    root = _parse(str(p), text)
    xf = XFile(path=str(p), text=text)
    if _local(root.tag) != "xmile":
        raise xf.fail("<xmile>", f"the root element is <{_local(root.tag)}>, not <xmile>")
    header = _child(root, "header")
    xf.name = _text(_child(header, "name")) if header is not None else ""
    _read_sim_specs(xf, _child(root, "sim_specs"))
    dims = _child(root, "dimensions")
    if dims is not None:
        for d in _children(dims, "dim"):
            _read_dim(xf, d)
    behavior = _child(root, "behavior")
    if behavior is not None:
        xf.non_negative = _behavior(behavior)
    xf.macros = tuple(_attr(m, "name") or "?" for m in _children(root, "macro"))
    for m in _children(root, "model"):
        model = _read_model(xf, m)
        if model.name in xf.models:
            raise xf.fail(f"<model name={model.name!r}>", "two models have the same name")
        xf.models[model.name] = model
    if "" not in xf.models:
        if not xf.models:
            raise xf.fail("<xmile>", "no <model> in the file")
        used = {mod.model for m in xf.models.values() for mod in m.modules}
        roots = [m for name, m in xf.models.items() if name not in used]
        xf.models[""] = roots[0] if roots else next(iter(xf.models.values()))
    return xf


def _flag(el: Any) -> bool | None:
    """``<non_negative/>`` (true unless its text says false), ``None`` when absent."""
    if el is None:
        return None
    return _text(el).lower() not in ("false", "0", "no")


def _behavior(b: Any) -> dict[str, bool]:
    out: dict[str, bool] = {}
    every = _flag(_child(b, "non_negative"))
    for kind in ("stock", "flow"):
        el = _child(b, kind)
        own = _flag(_child(el, "non_negative")) if el is not None else None
        value = own if own is not None else every
        if value is not None:
            out[kind] = value
    return out


def _number(xf: XFile, where: str, text: str) -> float:
    """A number, or a fraction ``a/b`` (``<dt>1/4</dt>``)."""
    num, slash, den = text.partition("/")
    try:
        return float(num) / float(den) if slash else float(text)
    except (ValueError, ZeroDivisionError):
        raise xf.fail(where, f"{text!r} is not a number") from None


def _read_sim_specs(xf: XFile, ss: Any) -> None:
    if ss is None:
        raise xf.fail("<sim_specs>", "missing <sim_specs> (start, stop, dt)")
    xf.time_units = _attr(ss, "time_units") or ""
    for tag in ("start", "stop"):
        el = _child(ss, tag)
        if el is None:
            raise xf.fail("<sim_specs>", f"missing <{tag}>")
        setattr(xf, tag, _number(xf, f"<sim_specs><{tag}>", _text(el)))
    dt = _child(ss, "dt")
    if dt is not None:
        value = _number(xf, "<sim_specs><dt>", _text(dt))
        if (_attr(dt, "reciprocal") or "").lower() == "true":
            if value == 0:
                raise xf.fail("<sim_specs><dt>", "reciprocal dt of 0")
            value = 1.0 / value
        xf.dt = value
    save = _attr(ss, "save_interval") or _text(_child(ss, "save_interval")) or None
    if save:
        xf.save_per = _number(xf, "<sim_specs save_interval>", save)
    method = (_attr(ss, "method") or "euler").strip().lower()
    methods = {"euler": "euler", "rk2": "rk2", "rk4": "rk4", "rk45": "RK45"}
    if method not in methods:
        raise xf.fail(
            "<sim_specs method>",
            f"integration method {method!r} is not supported",
            hint="Euler, RK2 or RK4",
        )
    xf.method = methods[method]


def _read_dim(xf: XFile, d: Any) -> None:
    name = _attr(d, "name") or ""
    elems = tuple(_attr(e, "name") or "" for e in _children(d, "elem"))
    if not elems:
        size = _attr(d, "size")
        if size is None:
            raise xf.fail(f"<dim name={name!r}>", "a dimension needs <elem> children or a size")
        elems = tuple(str(k) for k in range(1, int(_number(xf, f"<dim name={name!r}>", size)) + 1))
    xf.dims[name] = XDim(name, elems)


def _read_model(xf: XFile, m: Any) -> XModel:
    model = XModel(_attr(m, "name") or "")
    variables = _child(m, "variables")
    legacy = variables is None  # XMILE drafts put variables directly in <model>
    for el in _variable_elements(m if variables is None else variables):
        tag = _local(el.tag)
        where = f"<{tag} name={_attr(el, 'name')!r}>"
        if tag in ("stock", "flow", "aux"):
            model.variables.append(_read_var(xf, el, tag))
        elif tag == "gf":
            model.gfs.append(_read_gf(xf, el, where))
        elif tag == "module":
            connects = tuple(
                (_attr(c, "to") or "", _attr(c, "from") or "") for c in _children(el, "connect")
            )
            name = _attr(el, "name") or ""
            model.modules.append(XModule(name, _attr(el, "model") or name, connects))
        elif tag == "group" or tag.startswith("vendor:") or legacy:
            continue
        else:
            raise xf.fail(where, f"<{tag}> is not supported", needle=_attr(el, "name") or "")
    return model


def _variable_elements(variables: Any) -> list[Any]:
    """Children of ``<variables>``, and variables a recovering parse left nested in one."""
    out: list[Any] = []
    for el in variables:
        out.append(el)
        if _local(el.tag) in ("stock", "flow", "aux"):
            out.extend(c for c in el if _local(c.tag) in ("stock", "flow", "aux", "module"))
    return out


def _read_var(xf: XFile, el: Any, tag: str) -> XVar:
    name = _attr(el, "name") or ""
    where = f"<{tag} name={name!r}>"
    for unsupported in ("conveyor", "queue"):
        if _child(el, unsupported) is not None:
            raise xf.fail(
                where,
                f"{unsupported} stocks are not supported",
                hint="model it as a stock with DELAY/DELAYN outflows",
                needle=name,
            )
    if tag == "flow" and _child(el, "multiplier") is not None:
        raise xf.fail(where, "unit-conversion flows (<multiplier>) are not supported", needle=name)
    v = XVar(tag, name, units=_text(_child(el, "units")), doc=_text(_child(el, "doc")))
    eqn = _child(el, "eqn")
    v.eqn = None if eqn is None else _text(eqn)
    v.inflows = [_text(i) for i in _children(el, "inflow")]
    v.outflows = [_text(o) for o in _children(el, "outflow")]
    flag = _flag(_child(el, "non_negative"))
    v.non_negative = xf.non_negative.get(tag, False) if flag is None else flag
    dims = _child(el, "dimensions")
    if dims is not None:
        v.dims = [_attr(d, "name") or "" for d in _children(dims, "dim")]
    gf = _child(el, "gf")
    if gf is not None:
        v.gf = _read_gf(xf, gf, where)
    for e in _children(el, "element"):
        sub = _attr(e, "subscript") or ""
        v.elements[sub] = _text(_child(e, "eqn"))
        egf = _child(e, "gf")
        if egf is not None:
            v.element_gfs[sub] = _read_gf(xf, egf, f"{where}<element subscript={sub!r}>")
    return v


def _points(xf: XFile, el: Any, where: str) -> tuple[float, ...]:
    if el is None:
        return ()
    sep = _attr(el, "sep") or ","
    parts = [p.strip() for p in _text(el).split(sep) if p.strip()]
    return tuple(_number(xf, where, p) for p in parts)


def _read_gf(xf: XFile, gf: Any, where: str) -> XGf:
    name = _attr(gf, "name") or ""
    ys = _points(xf, _child(gf, "ypts"), f"{where}<gf><ypts>")
    xs = _points(xf, _child(gf, "xpts"), f"{where}<gf><xpts>")
    if not ys:
        raise xf.fail(f"{where}<gf>", "a graphical function needs <ypts>", needle=name)
    if not xs:
        scale = _child(gf, "xscale")
        if scale is None:
            raise xf.fail(f"{where}<gf>", "a graphical function needs <xpts> or <xscale>")
        lo = _number(xf, f"{where}<gf><xscale>", _attr(scale, "min") or "")
        hi = _number(xf, f"{where}<gf><xscale>", _attr(scale, "max") or "")
        n = len(ys)
        xs = tuple(lo + (hi - lo) * k / (n - 1) for k in range(n)) if n > 1 else (lo,)
    if len(xs) != len(ys):
        raise xf.fail(f"{where}<gf>", f"{len(xs)} x points but {len(ys)} y points", needle=name)
    if any(b < a for a, b in itertools.pairwise(xs)):
        raise xf.fail(f"{where}<gf>", "x points must not decrease", needle=name)
    kind = (_attr(gf, "type") or "continuous").lower()
    if (_attr(gf, "discrete") or "").lower() == "true":
        kind = "discrete"
    if kind not in ("continuous", "extrapolate", "discrete"):
        raise xf.fail(f"{where}<gf type>", f"graphical function type {kind!r} is not supported")
    return XGf(name, xs, ys, kind)
