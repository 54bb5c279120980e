"""The variable table the passes before lowering share (a draft of the model being compiled).

:func:`~simdyn.model.passes.resolve.resolve` fills it from the spec; later passes add hidden
variables, dimensions and the evaluation order; :func:`~simdyn.model.passes.lower.lower` turns
it into the immutable :class:`~simdyn.model.ir.Program`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from simdyn.errors import ModelError, SimdynError
from simdyn.expr import Call, Name, Node, Subscript, walk
from simdyn.model.emit.numpy_expr import Emitter, printer
from simdyn.model.ir import Symbol
from simdyn.model.spec import ModelSpec

__all__ = ["Draft", "DraftEvent", "Tree", "Var", "refs"]

#: an equation: one tree, or one tree per element of the first dimension
Tree = Node | dict[str, Node]


@dataclass
class Var:
    """One stock, flow, auxiliary or ``INIT`` value (``hidden`` when a pass introduced it)."""

    name: str
    kind: str  # "stock", "flow", "auxiliary", "init"
    dims: tuple[str, ...]
    eq: Tree | None  # auxiliaries and flows; INIT arguments
    initial: Tree | None = None  # stocks
    rate: Node | None = None  # stocks
    hidden: bool = False
    infer_dims: bool = False
    non_negative: bool = False
    uniflow: bool = False
    owner: tuple[str, ...] = ()  # key path of the equation this came from (for errors)
    deps: tuple[str, ...] = ()  # hidden stocks: the hidden auxiliaries their dims follow


@dataclass
class DraftEvent:
    """A random event's parsed hazard and reset equations."""

    name: str
    dims: tuple[str, ...]
    hazard: Node
    resets: tuple[tuple[str, Node], ...]


@dataclass
class Draft:
    """The model being compiled: dimensions, variables (in insertion order) and their order."""

    spec: ModelSpec
    nodelist: Sequence[Any] | None = None
    dim_order: tuple[str, ...] = ()
    elements: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    vars: dict[str, Var] = field(default_factory=dict)
    events: list[DraftEvent] = field(default_factory=list)
    histories: list[tuple[str, str]] = field(default_factory=list)  # (DELAY output, its input)
    run_order: list[str] = field(default_factory=list)
    init_order: list[str] = field(default_factory=list)
    needed: set[str] = field(default_factory=set)

    @property
    def dim_sizes(self) -> dict[str, int]:
        """Size of each dimension."""
        return {d: len(e) for d, e in self.elements.items()}

    def error(self, exc: SimdynError, path: tuple[str, ...]) -> SimdynError:
        """``exc`` located at the model entry ``path``."""
        return exc.located(
            file=self.spec.source, line=self.spec.line_of(*path), where=".".join(path)
        )

    def fail(self, path: tuple[str, ...], what: str, hint: str | None = None) -> ModelError:
        """A :class:`ModelError` located at the model entry ``path``."""
        spec = self.spec
        return ModelError(
            what, file=spec.source, line=spec.line_of(*path), where=".".join(path), hint=hint
        )

    def canonical(self, dims: tuple[str, ...]) -> tuple[str, ...]:
        """``dims`` in the model's dimension order."""
        return tuple(d for d in self.dim_order if d in dims)

    def shape(self, dims: tuple[str, ...]) -> tuple[int, ...]:
        """Sizes of ``dims``."""
        return tuple(len(self.elements[d]) for d in dims)

    def symbols(self) -> dict[str, Symbol]:
        """Every name expressions may reference, with its kind and dimensions."""
        syms: dict[str, Symbol] = {}
        for c in self.spec.constants.values():
            dims = self.canonical(c.dims)
            syms[c.name] = Symbol(c.name, "constant", dims, self.shape(dims))
        for lk in self.spec.lookups.values():
            syms[lk.name] = Symbol(lk.name, "lookup", (), ())
        for v in self.vars.values():
            syms[v.name] = Symbol(v.name, v.kind, v.dims, self.shape(v.dims), v.hidden)  # type: ignore[arg-type]
        return syms

    def typer(self) -> Emitter:
        """An expression printer whose ``emit(node).dims`` checks and types an expression."""
        return printer(self.dim_order, self.elements, self.symbols(), self.history_dims())

    def history_dims(self) -> dict[str, tuple[str, ...]]:
        """``DELAY`` outputs and the dimensions of their recorded input."""
        return {out: self.vars[x].dims for out, x in self.histories}


def refs(node: Tree | None) -> set[str]:
    """Names (and called functions) an equation refers to."""
    if node is None:
        return set()
    nodes = list(node.values()) if isinstance(node, dict) else [node]
    out: set[str] = set()
    for n in nodes:
        for sub in walk(n):
            if isinstance(sub, Name | Subscript):
                out.add(sub.name)
            elif isinstance(sub, Call):
                out.add(sub.func)
    return out
