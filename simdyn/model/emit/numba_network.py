"""Network builtins in the compiled kernel: the graph is data, the products are loops.

``NEIGHBOR_MEAN``, ``NEIGHBOR_SUM``, ``NEIGHBOR_COUNT``, ``DIFFUSION_FLUX`` (products with the
CSR matrices ``averaging``, ``adjacency``, ``counts`` and ``flux`` of
:class:`simdyn.network.GraphOperators`), ``PEER_TRANSFER``, ``GINI``, ``TEAMS_REACHED`` and
``DEGREE``. The kernel does not contain the graph: each run passes it as two arrays
(:meth:`GraphLayout.arrays`), so one kernel serves every graph with its node count and compiling
does not grow with the number of edges.

``GI`` (int64): the row pointers of each matrix the model uses (``n + 1`` each, pointing into
the shared edge arrays), the team code of each node, the number of teams, then the column index
of every stored entry. ``GF`` (float64): the degree of each node, ``1 / size`` of each node's
team, then the value of every stored entry. Every offset but the edges' is a literal.

A function that calls network builtins runs in *phases* (:meth:`NetworkPrinter.function`):
each phase is one scenario loop over straight-line code, as without a network; the argument of
a call is written to rows of the block's work array ``B`` at the end of the phase that can
compute it, the product runs between phases as a loop over nodes and edges with the scenario
loop innermost (vectorized across the block), and later phases read the result's rows. Values a
later phase needs are kept in rows of ``B`` too (locals do not outlive a scenario loop). Each
product adds the stored entries of a row in their order to 0, as scipy's CSR product does, and
``GINI`` and ``TEAMS_REACHED`` follow :func:`simdyn.network.gini` and the numpy backend's team
means, so both backends give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from simdyn._types import FloatArray, IntArray
from simdyn.errors import ScenarioError
from simdyn.expr import BinOp, Call, If, Name, Node, Num, Subscript, UnaryOp
from simdyn.model import ir
from simdyn.model.emit.numba_expr import (
    Env,
    ScalarPrinter,
    UnsupportedByCompiled,
    flat_index,
    index_tuples,
    slot,
)

if TYPE_CHECKING:
    from simdyn.network import GraphOperators

__all__ = ["HELPERS", "GraphLayout", "NetworkPrinter", "empty_graph", "network_printer"]

NODE = "node"
#: the matrix each product builtin multiplies by (``PEER_TRANSFER`` walks the adjacency's ties)
MATRIX_OF = {
    "NEIGHBOR_MEAN": "averaging",
    "NEIGHBOR_SUM": "adjacency",
    "NEIGHBOR_COUNT": "counts",
    "DIFFUSION_FLUX": "flux",
    "PEER_TRANSFER": "adjacency",
}
_MATRICES = ("adjacency", "averaging", "counts", "flux")
#: builtins reducing over the nodes (the result has the argument's other dimensions)
_REDUCING = ("GINI", "TEAMS_REACHED")
SUPPORTED = frozenset((*MATRIX_OF, *_REDUCING, "DEGREE"))
_I1, _I2 = "    ", "        "


@dataclass(frozen=True)
class GraphLayout:
    """Where a graph's arrays sit in ``GI`` and ``GF`` for ``n_nodes`` nodes and ``matrices``."""

    n_nodes: int
    matrices: tuple[str, ...]

    def pointers(self, matrix: str) -> int:
        """Offset in ``GI`` of ``matrix``'s row pointers."""
        return self.matrices.index(matrix) * (self.n_nodes + 1)

    @property
    def codes(self) -> int:
        return len(self.matrices) * (self.n_nodes + 1)

    @property
    def indices(self) -> int:
        return self.codes + self.n_nodes + 1

    def constants(self) -> list[str]:
        """The module constants the helpers read."""
        n = self.n_nodes
        return [
            f"NN = {n}",
            f"TC = {self.codes}",
            f"NT = {self.codes + n}",
            f"IX = {self.indices}",
            f"TW = {n}",
            f"DX = {2 * n}",
        ]

    def arrays(self, ops: GraphOperators, teams: IntArray | None) -> tuple[IntArray, FloatArray]:
        """``GI`` and ``GF`` of a graph (``teams``: each node's team code; None: one team)."""
        n = self.n_nodes
        if ops.n_nodes != n:
            raise ScenarioError(
                f"the kernel was built for {n} nodes, the network has {ops.n_nodes}",
                where="network",
                hint="compile the model for this network's node list",
            )
        pointers, indices, values = [], [], []
        base = 0
        for name in self.matrices:
            M = getattr(ops, name)
            pointers.append(np.asarray(M.indptr, dtype=np.int64) + base)
            indices.append(np.asarray(M.indices, dtype=np.int64))
            values.append(np.asarray(M.data, dtype=np.float64))
            base += int(M.indptr[-1])
        codes = np.zeros(n, dtype=np.int64) if teams is None else np.asarray(teams, np.int64)
        n_teams = int(codes.max(initial=-1)) + 1
        sizes = np.bincount(codes, minlength=n_teams).astype(np.float64)
        GI = np.concatenate([*pointers, codes, [n_teams], *indices]).astype(np.int64)
        degree = np.asarray(ops.degree, dtype=np.float64)
        GF = np.concatenate([degree, 1.0 / sizes[codes], *values]).astype(np.float64)
        return GI, GF


def empty_graph(layout: GraphLayout | None) -> tuple[IntArray, FloatArray]:
    """Arrays of a graph without edges or teams (for a model without network builtins)."""
    if layout is None:
        return np.zeros(1, dtype=np.int64), np.zeros(1)
    return np.zeros(layout.indices + 1, dtype=np.int64), np.zeros(2 * layout.n_nodes + 1)


def network_printer(program: ir.Program, block: int, first_row: int) -> NetworkPrinter | None:
    """The printer of ``program``'s network builtins (None when it calls none).

    Raises
    ------
    UnsupportedByCompiled
        For an extension function that is not a network builtin.
    """
    if not program.functions:
        return None
    other = [f for f in program.functions if f.upper() not in SUPPORTED]
    if other:
        raise UnsupportedByCompiled(
            f"the extension function {', '.join(other)} (of the extension functions it runs "
            "only the network builtins)"
        )
    used = {MATRIX_OF[f.upper()] for f in program.functions if f.upper() in MATRIX_OF}
    layout = GraphLayout(program.dim_sizes[NODE], tuple(m for m in _MATRICES if m in used))
    return NetworkPrinter(program, layout, block, first_row)


@dataclass
class _Call:
    """One network call in one function: the phase computing its arguments, its rows in ``B``."""

    node: Call
    upper: str
    phase: int
    arg_dims: tuple[str, ...] = ()
    dims: tuple[str, ...] = ()
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class NetworkPrinter:
    """Prints network calls (a :class:`~simdyn.model.emit.numba_expr.FunctionPrinter`) and the
    phased functions that contain them; ``first_row`` is the first row of ``B`` it may use."""

    program: ir.Program
    layout: GraphLayout
    block: int
    first_row: int
    n_rows: int = 0  # rows of B past first_row that the functions use
    _calls: dict[int, _Call] = field(default_factory=dict)

    # -- the FunctionPrinter protocol -----------------------------------------------------------
    def dims(self, node: Call, arg_dims: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
        upper = node.func.upper()
        if upper == "DEGREE":
            return (NODE,)
        if upper in _REDUCING:
            return tuple(d for d in arg_dims[0] if d != NODE)
        return arg_dims[0]

    def emit(self, node: Call, env: Env, printer: ScalarPrinter) -> str:
        if node.func.upper() == "DEGREE":
            return f"GF[{env[NODE]}]"
        c = self._calls[id(node)]
        shape = self._shape(c.dims)
        flat = flat_index(shape, tuple(env[d] for d in c.dims))
        return slot((c.rows["result"] + flat) * self.block)

    # -- phases ---------------------------------------------------------------------------------
    def function(
        self,
        signature: str,
        preload: Sequence[str],
        loaded: Iterable[str],
        assigns: Sequence[ir.Assign],
        emit_assign: Callable[[ir.Assign, str], list[str]],
        tail: Callable[[], list[str]],
        tail_refs: Sequence[Node],
        printer: ScalarPrinter,
    ) -> list[str]:
        """The function ``signature``: ``preload`` lines (which set the names ``loaded``) at the
        start of every phase, ``assigns`` each in the first phase that can compute it, then
        ``tail`` (reading ``tail_refs``) in the last phase."""
        self._calls = {}
        defined: dict[str, int] = {}
        phase_of = {id(a): self._assign_phase(a, defined, printer) for a in assigns}
        last = max([0, *phase_of.values(), *(self._phase(r, defined, printer) for r in tail_refs)])
        refs: list[set[str]] = [set() for _ in range(last + 1)]
        for a in assigns:
            refs[phase_of[id(a)]] |= _names(_exprs(a))
        for c in self._calls.values():
            refs[c.phase] |= _names(c.node.args)
        refs[last] |= _names(tail_refs)
        keep = self._kept(defined, refs, set(loaded))
        rows = self._allocate(keep)
        body = [f"def {signature}:"]
        for q in range(last + 1):
            lines = [ln.removeprefix(_I1) for ln in preload]
            lines += [
                f"{v} = {s}"
                for name in sorted(refs[q])
                if keep.get(name, q) < q
                for v, s in rows[name]
            ]
            lines += [ln for a in assigns if phase_of[id(a)] == q for ln in emit_assign(a, "")]
            for c in self._calls.values():
                if c.phase == q:
                    lines += self._store_args(c, printer)
            lines += [f"{s} = {v}" for name, p in keep.items() if p == q for v, s in rows[name]]
            if q == last:
                lines += [ln.removeprefix(_I1) for ln in tail()]
            body += [f"{_I1}for j in range(m):"] + [_I2 + ln for ln in lines]
            body += [_I1 + self._product(c) for c in self._calls.values() if c.phase == q]
        return body

    def _assign_phase(self, a: ir.Assign, defined: dict[str, int], sp: ScalarPrinter) -> int:
        p = max([0, *(self._phase(e, defined, sp) for e in _exprs(a))])
        defined[a.target] = p
        return p

    def _phase(self, node: Node, defined: dict[str, int], sp: ScalarPrinter) -> int:
        """The first phase in which ``node`` can be computed (registering its network calls)."""
        if isinstance(node, Name | Subscript):
            return defined.get(node.name, 0)
        if isinstance(node, Call) and _is_product_call(node):
            p = max(self._phase(a, defined, sp) for a in node.args)
            upper = node.func.upper()
            c = _Call(node, upper, p, sp.dims(node.args[0]), sp.dims(node))
            self._check(c, sp)
            self._calls[id(node)] = c
            return p + 1
        return max([0, *(self._phase(ch, defined, sp) for ch in _children(node))])

    def _check(self, c: _Call, sp: ScalarPrinter) -> None:
        if not c.arg_dims or c.arg_dims[0] != NODE:
            raise UnsupportedByCompiled(f"{c.upper} of a value without the node dimension")
        if c.upper == "TEAMS_REACHED" and not set(sp.dims(c.node.args[1])) <= set(c.dims):
            raise UnsupportedByCompiled(
                "TEAMS_REACHED with a level over dimensions its first argument lacks"
            )

    def _kept(
        self, defined: dict[str, int], refs: list[set[str]], loaded: set[str]
    ) -> dict[str, int]:
        """The locals a later phase reads, with the phase that computes them."""
        keep: dict[str, int] = {}
        for name, p in defined.items():
            sym = self.program.symbols[name]
            if sym.kind in ("constant", "init") or name in loaded:
                continue  # constants and INIT values live in B already; loaded: in every phase
            if any(name in r for r in refs[p + 1 :]):
                keep[name] = p
        return keep

    def _allocate(self, keep: dict[str, int]) -> dict[str, list[tuple[str, str]]]:
        """Rows of ``B`` for the kept locals and the calls: (local, slot) pairs of each local."""
        row = self.first_row
        pairs: dict[str, list[tuple[str, str]]] = {}
        for name in keep:
            size = math.prod(self.program.symbols[name].shape)
            pairs[name] = [(f"v_{name}_{k}", slot((row + k) * self.block)) for k in range(size)]
            row += size
        for c in self._calls.values():
            sizes = {"arg": self._size(c.arg_dims), "result": self._size(c.dims)}
            if c.upper == "TEAMS_REACHED":
                sizes |= {"level": self._size(c.dims), "teams": self.layout.n_nodes}
            if c.upper == "GINI":
                sizes["sort"] = -(-self.layout.n_nodes // self.block)
            for key, size in sizes.items():
                c.rows[key] = row
                row += size
        self.n_rows = max(self.n_rows, row - self.first_row)
        return pairs

    def _store_args(self, c: _Call, sp: ScalarPrinter) -> list[str]:
        """Lines writing the call's arguments into its rows (for the current scenario ``j``)."""
        lines = []
        arg = c.node.args[0]
        for idx in index_tuples(self._shape(c.arg_dims)):
            env = dict(zip(c.arg_dims, idx, strict=True))
            flat = flat_index(self._shape(c.arg_dims), idx)
            lines.append(f"{slot((c.rows['arg'] + flat) * self.block)} = {sp.emit(arg, env)}")
        if c.upper == "TEAMS_REACHED":
            for idx in index_tuples(self._shape(c.dims)):
                env = dict(zip(c.dims, idx, strict=True))
                flat = flat_index(self._shape(c.dims), idx)
                level = sp.emit(c.node.args[1], env)
                lines.append(f"{slot((c.rows['level'] + flat) * self.block)} = {level}")
        return lines

    def _product(self, c: _Call) -> str:
        """The call of the helper that computes ``c`` for the block."""
        r = c.rows
        other = self._size(c.arg_dims[1:])
        if c.upper == "GINI":
            return f"_net_gini(B, m, {r['arg']}, {r['result']}, {r['sort']}, {other})"
        if c.upper == "TEAMS_REACHED":
            rows = f"{r['arg']}, {r['level']}, {r['result']}, {r['teams']}"
            return f"_net_teams(B, m, GI, GF, {rows}, {other})"
        helper = "_net_peer" if c.upper == "PEER_TRANSFER" else "_net_product"
        ptr = self.layout.pointers(MATRIX_OF[c.upper])
        return f"{helper}(B, m, GI, GF, {ptr}, {r['arg']}, {r['result']}, {other})"

    def _shape(self, dims: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self.program.dim_sizes[d] for d in dims)

    def _size(self, dims: tuple[str, ...]) -> int:
        return math.prod(self._shape(dims))


def _is_product_call(node: Call) -> bool:
    upper = node.func.upper()
    return upper in SUPPORTED and upper != "DEGREE"


def _exprs(a: ir.Assign) -> tuple[Node, ...]:
    return (a.expr,) if a.expr is not None else a.elements


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, UnaryOp):
        return (node.operand,)
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, If):
        return (node.cond, node.then, node.otherwise)
    if isinstance(node, Call):
        return node.args
    return ()


def _names(nodes: Iterable[Node]) -> set[str]:
    """Names ``nodes`` read in their own phase (not inside the arguments of network calls)."""
    found: set[str] = set()
    stack: list[Any] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, Name | Subscript):
            found.add(node.name)
        elif isinstance(node, Num) or (isinstance(node, Call) and _is_product_call(node)):
            continue
        else:
            stack.extend(_children(node))
    return found


#: the loops the kernel calls between phases (rows of ``B`` given in rows of ``BL`` numbers)
HELPERS = """
@nb.njit(cache=True, error_model="numpy")
def _net_product(B, m, GI, GF, ptr, x, r, E):
    # rows r + i * E + k: the stored entries of row i of the matrix at GI[ptr:] times the rows
    # x + col * E + k, added in their order to 0 (scipy's CSR product); scenarios innermost
    for i in range(NN):
        first = GI[ptr + i]
        last = GI[ptr + i + 1]
        for k in range(E):
            o = (r + i * E + k) * BL
            out = B[o : o + BL]
            for j in range(m):
                out[j] = 0.0
            for e in range(first, last):
                w = GF[DX + e]
                c = (x + GI[IX + e] * E + k) * BL
                xs = B[c : c + BL]
                for j in range(m):
                    out[j] += w * xs[j]


@nb.njit(cache=True, error_model="numpy")
def _net_peer(B, m, GI, GF, ptr, x, r, E):
    # knowledge_transfer_rate: the sum over ties of w * max(x_col - x_row, 0)
    for i in range(NN):
        first = GI[ptr + i]
        last = GI[ptr + i + 1]
        for k in range(E):
            o = (r + i * E + k) * BL
            out = B[o : o + BL]
            s = (x + i * E + k) * BL
            xi = B[s : s + BL]
            for j in range(m):
                out[j] = 0.0
            for e in range(first, last):
                w = GF[DX + e]
                c = (x + GI[IX + e] * E + k) * BL
                xs = B[c : c + BL]
                for j in range(m):
                    out[j] += w * np.maximum(xs[j] - xi[j], 0.0)


@nb.njit(cache=True, error_model="numpy")
def _net_gini(B, m, x, r, sort, E):
    # simdyn.network.gini of each scenario's sorted values (NaN where one is negative or not
    # finite, 0 where they sum to 0)
    s = B[sort * BL : sort * BL + NN]
    for k in range(E):
        for j in range(m):
            bad = False
            for i in range(NN):
                v = B[(x + i * E + k) * BL + j]
                if not (np.isfinite(v) and v >= 0):
                    bad = True
                s[i] = v
            if bad:
                B[(r + k) * BL + j] = np.nan
                continue
            s.sort()
            total = 0.0
            ranked = 0.0
            for i in range(NN):
                total += s[i]
                ranked += (i + 1.0) * s[i]
            g = (2.0 * ranked) / (NN * total) - (NN + 1.0) / NN
            B[(r + k) * BL + j] = g if total > 0 else 0.0


@nb.njit(cache=True, error_model="numpy")
def _net_teams(B, m, GI, GF, x, level, r, teams, E):
    # the share of teams whose mean (the members' values times 1 / size, added in node order)
    # is at least the level
    nt = GI[NT]
    for k in range(E):
        for c in range(nt):
            o = (teams + c) * BL
            for j in range(m):
                B[o + j] = 0.0
        for i in range(NN):
            o = (teams + GI[TC + i]) * BL
            acc = B[o : o + BL]
            w = GF[TW + i]
            c = (x + i * E + k) * BL
            xs = B[c : c + BL]
            for j in range(m):
                acc[j] += w * xs[j]
        o = (r + k) * BL
        out = B[o : o + BL]
        lv = B[(level + k) * BL : (level + k) * BL + BL]
        for j in range(m):
            out[j] = 0.0
        for c in range(nt):
            acc = B[(teams + c) * BL : (teams + c) * BL + BL]
            for j in range(m):
                out[j] += 1.0 if acc[j] >= lv[j] else 0.0
        for j in range(m):
            out[j] = out[j] / nt
"""
