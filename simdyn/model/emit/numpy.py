"""The numpy emitter: a :class:`~simdyn.model.ir.Program` as one module of straight-line numpy.

The generated module has one function, ``bind(P, F, S, _DT, _START, _STOP)`` (parameter arrays,
extension-function instances, the number of scenarios and the time settings), which returns
``init()`` and ``make(C)``: ``init`` evaluates the initial values and returns the state ``y``
(``(n_state, S)``) and the ``INIT`` values ``C``; ``make(C)`` returns ``rhs(t, ts, y, out=None)``
(the stock rates, written into ``out`` when given),
``observe(t, ts, y)``, ``events(t, ts, y)``, ``record(t, ts, y)`` (these two ``None`` when
the model has no events or no ``DELAY``) and ``observe_into(t, ts, y, D)`` (``observe``
through scratch arrays, each value copied into ``D[j]``; ``None`` without scratch arrays).
``rhs`` computes only the auxiliaries the stock
rates need, in order, with no per-variable Python dispatch; its operations on the state write
into scratch arrays allocated once per number of scenarios (see :mod:`.numpy_into`), so a call
allocates nothing but what numpy has no ``out=`` form for.

The source comes only from the IR's syntax trees (see :mod:`.numpy_expr`): names are validated
identifiers with a prefix, numbers are re-printed with ``repr(float)`` and elements become
integer indices, so no text from a model file reaches Python's compiler.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simdyn.errors import ModelError
from simdyn.model import ir, runtime
from simdyn.model.compiled import CompiledModel, EventSlot, StockSlot
from simdyn.model.emit.numpy_expr import Code, Emitter, code_name, printer
from simdyn.model.emit.numpy_into import IntoEmitter, Stmt, pack

__all__ = ["emit_numpy", "module_source"]


def emit_numpy(program: ir.Program, *, scratch: bool = True) -> CompiledModel:
    """Generate, compile and wrap the numpy module of ``program``.

    ``scratch=False`` writes ``rhs`` as plain numpy expressions (a temporary per operation),
    the form ``observe`` uses; results are bit-identical either way.
    """
    source, functions = module_source(program, scratch=scratch)
    bind = _load(program, source)
    slot_of = {s.name: s for s in program.stocks}
    events = tuple(
        EventSlot(ev.name, ev.dims, ev.shape, tuple(slot_of[r.target] for r in ev.resets))
        for ev in program.events
    )
    nonneg = [r for s in program.stocks if s.non_negative for r in range(s.start, s.stop)]
    return CompiledModel(
        spec=program.spec,
        dim_order=program.dim_order,
        dim_sizes=dict(program.dim_sizes),
        elements=dict(program.elements),
        stocks=list(program.stocks),
        n_state=program.n_state,
        variables=dict(program.variables),
        observed=program.observed,
        source=source,
        functions=functions,
        nonneg_rows=np.asarray(nonneg, dtype=np.int64),
        events=events,
        has_history=bool(program.histories),
        _bind=bind,
    )


def module_source(program: ir.Program, *, scratch: bool = True) -> tuple[str, tuple[str, ...]]:
    """The module's source, and the extension functions it calls."""
    m = _Module(program, scratch)
    body = [
        "def bind(P, F, S, _DT, _START, _STOP):",
        *(f"    p_{c.name} = P[{c.name!r}]" for c in program.constants),
        *(f"    H_{h.name} = _rt.History({m.shape(h.dims, 'S')})" for h in program.histories),
        *m.init(),
        *m.make(),
        "    return init, make",
        "",
    ]
    used = sorted(m.em.used_functions)
    body[1:1] = [f"    f_{f} = F[{f!r}]" for f in used]
    return "\n".join(body), tuple(used)


def _load(program: ir.Program, source: str) -> Any:
    namespace: dict[str, Any] = {"np": np, "_rt": runtime}
    for lk in program.lookups:
        namespace[f"L_{lk.name}_x"] = np.asarray(lk.xs, dtype=float)
        namespace[f"L_{lk.name}_y"] = np.asarray(lk.ys, dtype=float)
    spec = program.spec
    try:
        code = compile(source, f"<simdyn model {spec.name}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else exc
        raise ModelError(
            f"the model's equations are too complex to compile ({type(exc).__name__}: {detail})",
            file=spec.source,
            hint="split long or deeply nested equations into several auxiliaries",
        ) from None
    exec(code, namespace)
    return namespace["bind"]


class _Module:
    """Prints the functions of the generated module."""

    def __init__(self, program: ir.Program, scratch: bool = True) -> None:
        self.p = program
        self.scratch = scratch
        histories = {h.name: h.dims for h in program.histories}
        self.em: Emitter = printer(program.dim_order, program.elements, program.symbols, histories)

    def shape(self, dims: tuple[str, ...], scenarios: str) -> str:
        return "(" + ", ".join([*(str(self.p.dim_sizes[d]) for d in dims), scenarios]) + ",)"

    def assign(self, a: ir.Assign) -> list[str]:
        target = code_name(self.p.symbols[a.target])
        if a.expr is None:
            lines = [f"{target} = np.empty({self.shape(a.dims, '_S')})"]
            lines += [f"{target}[{i}] = {self.em.emit(e).text}" for i, e in enumerate(a.elements)]
            return lines
        c = self.em.emit(a.expr)
        text = c.text
        if a.non_negative:
            text = f"np.maximum({text}, 0.0)"
        if c.dims != a.dims:
            aligned = self.em.align(Code(text, c.dims), a.dims)
            text = f"np.broadcast_to({aligned}, {self.shape(a.dims, '_S')})"
        return [f"{target} = {text}"]

    def value(self, a: ir.Assign) -> str:
        """``a``'s expression aligned with its dimensions (no broadcasting)."""
        assert a.expr is not None
        c = self.em.emit(a.expr)
        return self.em.align(c, a.dims) if c.dims else c.text

    def inits(self) -> str:
        return "".join(f"c_{n}, " for n in self.p.inits)

    def init(self) -> list[str]:
        lines = ["    def init():", "        t = _START", "        ts = _START", "        _S = S"]
        for a in self.p.initial:
            lines += ["        " + line for line in self.assign(a)]
        lines += [f"        H_{h.name}.record(_START, v_{h.input})" for h in self.p.histories]
        lines.append(f"        y = np.empty(({self.p.n_state}, S))")
        lines += [f"        {_rows(s, 'y')} = v_{s.name}" for s in self.p.stocks]
        lines.append(f"        return y, ({self.inits()})")
        return lines

    def evaluate(self, assigns: tuple[ir.Assign, ...]) -> list[str]:
        lines = ["            _S = y.shape[-1]"]
        lines += [f"            v_{s.name} = {_view(s)}" for s in self.p.stocks]
        for a in assigns:
            lines += ["            " + line for line in self.assign(a)]
        return lines

    def make(self) -> list[str]:
        p = self.p
        lines = ["    def make(C):", f"        ({self.inits()}) = C"]
        lines += self.rhs_into() if self.scratch else self.rhs_plain()
        evaluate_all = self.evaluate(p.evaluate)
        lines += ["        def observe(t, ts, y):", *evaluate_all]
        lines.append(f"            return ({''.join(f'v_{n}, ' for n in p.observed)})")
        if p.events:
            returns = "".join(f"{self.event(ev)}, " for ev in p.events)
            lines += [
                "        def events(t, ts, y):",
                *evaluate_all,
                f"            return ({returns})",
            ]
        else:
            lines.append("        events = None")
        if p.histories:
            lines += ["        def record(t, ts, y):", *evaluate_all]
            lines += [f"            H_{h.name}.record(t, v_{h.input})" for h in p.histories]
        else:
            lines.append("        record = None")
        lines += self.observe_into() if self.scratch else ["        observe_into = None"]
        lines.append("        return rhs, observe, events, record, observe_into")
        return lines

    def rhs_plain(self) -> list[str]:
        """``rhs`` as plain numpy expressions."""
        lines = ["        def rhs(t, ts, y, out=None):", *self.evaluate(self.p.rhs)]
        lines += ["            if out is None:", "                out = np.empty_like(y)"]
        slot_of = {s.name: s for s in self.p.stocks}
        lines += [
            f"            {_rows(slot_of[r.target], 'out')} = {self.value(r)}" for r in self.p.rates
        ]
        return [*lines, "            return out"]

    def into_emitter(self) -> IntoEmitter:
        """An emitter of ``out=`` statements, the stocks bound to views of ``y``."""
        p, em = self.p, self.em
        ie = IntoEmitter(
            em.dim_order,
            em.elements,
            em.symbols,
            em.lookups,
            em.histories,
            em.used_functions,
            wide={s.name for s in p.stocks},
            plain=em,
        )
        ie.stmts += [Stmt(f"v_{s.name} = {_view(s)}") for s in p.stocks]
        return ie

    def into_function(self, ie: IntoEmitter, head: str, cache: str) -> list[str]:
        """The function ``head`` with ``ie``'s statements, its scratch arrays (and constant
        arrays) allocated once per number of scenarios by ``_<cache>(S)``."""
        body, buffers = pack(ie.stmts, ie.temps)
        arrays = "".join(
            f"np.empty({self.shape(dims, 'S')}{', dtype=bool' if t == 'bool' else ''}), "
            for dims, t in buffers
        )
        arrays += "".join(
            f"np.full({self.shape(dims, 'S')}, {number}), " for (number, dims) in ie.consts
        )
        names = "".join(f"_b{k}, " for k in range(len(buffers)))
        names += "".join(f"{name}, " for name in ie.consts.values())
        return [
            f"        _{cache}_width = [-1, ()]",
            f"        def _{cache}(S):",
            f"            if _{cache}_width[0] != S:",
            f"                _{cache}_width[1] = ({arrays})",
            f"                _{cache}_width[0] = S",
            f"            return _{cache}_width[1]",
            f"        {head}",
            "            _S = y.shape[-1]",
            f"            ({names}) = _{cache}(_S)",
            *("            " + line for line in body),
        ]

    def observe_into(self) -> list[str]:
        """``observe_into(t, ts, y, D)``: each observed value copied into ``D[j]`` (skipped
        where ``D[j]`` is ``None``) as soon as it is computed, through scratch arrays."""
        ie = self.into_emitter()
        index = {name: j for j, name in enumerate(self.p.observed)}

        def copy(name: str) -> None:
            if name in index:
                j = index[name]
                ie.stmts.append(Stmt(f"if D[{j}] is not None: D[{j}][...] = v_{name}"))

        for s in self.p.stocks:
            copy(s.name)
        for a in self.p.evaluate:
            self.assign_into(ie, a)
            copy(a.target)
        return self.into_function(ie, "def observe_into(t, ts, y, D):", "observe")

    def rhs_into(self) -> list[str]:
        """``rhs`` writing into scratch arrays, one set per number of scenarios ``_S``."""
        p, em = self.p, self.em
        ie = self.into_emitter()
        for a in p.rhs:
            self.assign_into(ie, a)
        slot_of = {s.name: s for s in p.stocks}
        for r in p.rates:
            assert r.expr is not None
            c = ie.emit(r.expr)
            rows = _rows(slot_of[r.target], "out")
            if c.dims == r.dims and c.text in ie.temps and ie.retarget(c.text, rows):
                continue  # the rate's last operations write straight into its rows
            value = em.align(c, r.dims) if c.dims else c.text
            ie.stmts.append(Stmt(f"{rows} = {value}"))
        ie.stmts.insert(0, Stmt("if out is None: out = np.empty_like(y)"))
        lines = self.into_function(ie, "def rhs(t, ts, y, out=None):", "scratch")
        return [*lines, "            return out"]

    def assign_into(self, ie: IntoEmitter, a: ir.Assign) -> None:
        """Append the statements computing ``a`` to ``ie.stmts``."""
        target = code_name(self.p.symbols[a.target])
        if a.expr is None:
            ie.wide.add(a.target)
            ie.stmts.append(Stmt(f"{target} = np.empty({self.shape(a.dims, '_S')})"))
            for i, e in enumerate(a.elements):
                ie.stmts.append(Stmt(f"{target}[{i}] = {ie.emit(e).text}"))
            return
        if not ie.is_wide(a.expr):
            ie.stmts += [Stmt(line) for line in self.assign(a)]
            return
        ie.wide.add(a.target)
        c = ie.emit(a.expr)
        if a.non_negative:
            c = ie.op("np.maximum", [c.text, "0.0"], c.dims)
        text = c.text
        if c.dims != a.dims:
            text = f"np.broadcast_to({ie.align(c, a.dims)}, {self.shape(a.dims, '_S')})"
        ie.stmts.append(Stmt(f"{target} = {text}"))

    def event(self, ev: ir.Event) -> str:
        """``(hazard, (reset values))``, copies: an event's reset does not change the values
        of later events (a value that is a stock would otherwise be a view of the state)."""
        resets = "".join(f"np.array({self.value(r)}), " for r in ev.resets)
        return f"(np.array({self.value(ev.hazard)}), ({resets}))"


def _rows(s: StockSlot, array: str) -> str:
    if not s.dims:
        return f"{array}[{s.start}]"
    return f"{array}[{s.start}:{s.stop}].reshape({', '.join(map(str, s.shape))}, -1)[...]"


def _view(s: StockSlot) -> str:
    if not s.dims:
        return f"y[{s.start}]"
    return f"y[{s.start}:{s.stop}].reshape({', '.join(map(str, s.shape))}, -1)"
