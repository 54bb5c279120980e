"""Pass 2: smooths, delays and ``INIT`` become hidden stocks and auxiliaries.

Each call is replaced by the name of a hidden variable. The names of one call share the prefix
``_<function>_<k>_<owner>`` where ``k`` numbers the calls of the model: model names cannot start
with ``_``, a function name contains no ``_`` and ``k`` is delimited on both sides, so no two
calls (``DELAY1`` at call 2 and ``DELAY`` at call 12, say) can produce the same name; the draft
refuses a hidden name twice as well. Dimensions of hidden variables are left for
:mod:`~simdyn.model.passes.dims`.

===========  ===============================================================================
SMTH1/3      1 or 3 first-order stages ``s_i' = (s_{i-1} - s_i) / (tau / n)``, start at init
DELAY1/3/N   material stages holding content, each draining at content / (tau / n)
DELAY        a fixed pipeline: the input ``tau`` ago, read from a recorded history
INIT         the argument's value at the start, frozen for the run
===========  ===============================================================================
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from simdyn._limits import MAX_DELAY_ORDER
from simdyn.errors import ExpressionError
from simdyn.expr import BUILTINS, STATEFUL, BinOp, Call, If, Name, Node, Num, UnaryOp, walk
from simdyn.model.passes.draft import Draft, Tree, Var

__all__ = ["expand"]


def expand(d: Draft) -> Draft:
    """Replace every smooth, delay and ``INIT`` call in ``d``'s equations by hidden variables.

    Hidden variables are inserted just before the variable whose equation holds the call, so
    that the evaluation order among independent variables follows the model file.
    """
    old, d.vars = d.vars, {}
    x = _Expander(d)
    for name, v in old.items():
        if v.kind == "stock":
            assert v.initial is not None
            v.initial = x.tree(v.initial, (*v.owner, "initial"))
        else:
            assert v.eq is not None
            v.eq = x.tree(v.eq, v.owner)
        d.vars[name] = v
    return d


class _Expander:
    def __init__(self, d: Draft) -> None:
        self.d = d
        self.counter: Iterator[int] = itertools.count(1)

    def tree(self, tree: Tree, path: tuple[str, ...]) -> Tree:
        if isinstance(tree, dict):
            return {el: self.node(n, (*path, el), path[1]) for el, n in tree.items()}
        return self.node(tree, path, path[1])

    def node(self, node: Node, path: tuple[str, ...], owner: str) -> Node:
        """:meth:`rewrite`, skipped (no recursion) for equations without smooths or delays."""
        if any(isinstance(n, Call) and n.func.upper() in STATEFUL for n in walk(node)):
            try:
                return self.rewrite(node, path, owner)
            except RecursionError:
                raise self.d.error(ExpressionError("equation nested too deeply"), path) from None
        return node

    def rewrite(self, node: Node, path: tuple[str, ...], owner: str) -> Node:
        if isinstance(node, Call):
            args = tuple(self.rewrite(a, path, owner) for a in node.args)
            upper = node.func.upper()
            if upper in STATEFUL:
                return self.stateful(upper, args, node.col, path, owner)
            return Call(node.func, args, node.col)
        if isinstance(node, BinOp):
            left = self.rewrite(node.left, path, owner)
            return BinOp(node.op, left, self.rewrite(node.right, path, owner), node.col)
        if isinstance(node, UnaryOp):
            return UnaryOp(node.op, self.rewrite(node.operand, path, owner), node.col)
        if isinstance(node, If):
            cond = self.rewrite(node.cond, path, owner)
            then = self.rewrite(node.then, path, owner)
            return If(cond, then, self.rewrite(node.otherwise, path, owner), node.col)
        return node

    # -- hidden variables -----------------------------------------------------------------------
    def add(self, var: Var) -> Name:
        if var.name in self.d.vars:
            raise AssertionError(f"hidden name {var.name!r} made twice")  # pragma: no cover
        self.d.vars[var.name] = var
        return Name(var.name, 0)

    def aux(self, name: str, eq: Node, path: tuple[str, ...]) -> Name:
        return self.add(Var(name, "auxiliary", (), eq, hidden=True, infer_dims=True, owner=path))

    def init(self, name: str, eq: Node, path: tuple[str, ...]) -> Name:
        return self.add(Var(name, "init", (), eq, hidden=True, infer_dims=True, owner=path))

    def stock(
        self, name: str, initial: Node, rate: Node, deps: tuple[str, ...], path: tuple[str, ...]
    ) -> Name:
        var = Var(name, "stock", (), None, initial=initial, rate=rate, hidden=True)
        var.infer_dims, var.owner, var.deps = True, path, deps
        return self.add(var)

    # -- the calls ------------------------------------------------------------------------------
    def stateful(
        self, upper: str, args: tuple[Node, ...], col: int, path: tuple[str, ...], owner: str
    ) -> Node:
        b = BUILTINS[upper]
        if not b.min_args <= len(args) <= b.max_args:
            want = str(b.min_args) if b.min_args == b.max_args else f"{b.min_args} to {b.max_args}"
            raise self.d.error(
                ExpressionError(f"{upper} takes {want} argument(s), {len(args)} given", column=col),
                path,
            )
        base = f"_{upper.lower()}_{next(self.counter)}_{owner}"
        if upper == "INIT":
            return Name(self.init(base, args[0], path).name, col)
        x = self.aux(f"{base}_in", args[0], path)
        tau = self.aux(f"{base}_tau", args[1], path)
        if upper == "DELAY":
            return self.pipeline(base, args, x, tau, col, path)
        order, init_arg = self.order(upper, args, col, path)
        init = self.aux(f"{base}_init", init_arg, path) if init_arg is not None else x
        deps = (x.name, tau.name, init.name)
        stage_time: Name = tau
        if order > 1:
            stage_time = self.aux(f"{base}_st", BinOp("/", tau, Num(float(order), 0), 0), path)
        if upper.startswith("SMTH"):
            prev: Name = x
            for i in range(1, order + 1):
                s = Name(f"{base}_{i}", 0)
                rate = BinOp("/", BinOp("-", prev, s, 0), stage_time, 0)
                prev = self.stock(s.name, init, rate, deps, path)
            return Name(prev.name, col)
        # material delays: each stage holds content, drains at content / stage time
        inflow: Name = x
        for i in range(1, order + 1):
            s = Name(f"{base}_{i}", 0)
            out = self.aux(f"{base}_out{i}", BinOp("/", s, stage_time, 0), path)
            content = BinOp("*", init, stage_time, 0)
            self.stock(s.name, content, BinOp("-", inflow, out, 0), deps, path)
            inflow = out
        return Name(inflow.name, col)

    def order(
        self, upper: str, args: tuple[Node, ...], col: int, path: tuple[str, ...]
    ) -> tuple[int, Node | None]:
        """Number of stages and the initial-value argument (if given) of a smooth or delay."""
        if upper != "DELAYN":
            return (3 if upper in ("SMTH3", "DELAY3") else 1), (args[2] if len(args) > 2 else None)
        n_node = args[2]
        if not isinstance(n_node, Num) or n_node.value != int(n_node.value) or n_node.value < 1:
            raise self.d.error(
                ExpressionError("the order n of DELAYN must be a whole number ≥ 1", column=col),
                path,
            )
        order = int(n_node.value)
        if order > MAX_DELAY_ORDER:
            raise self.d.error(
                ExpressionError(
                    f"DELAYN of order {order:,} is too high (at most {MAX_DELAY_ORDER:,})",
                    column=col,
                    hint="each order is one hidden stock; orders above ~10 add little",
                ),
                path,
            )
        return order, (args[3] if len(args) > 3 else None)

    def pipeline(
        self, base: str, args: tuple[Node, ...], x: Name, tau: Name, col: int, path: tuple[str, ...]
    ) -> Name:
        """``DELAY(x, tau[, init])``: the input ``tau`` ago, read from a history of ``x``."""
        if len(args) > 2:
            init_node = self.aux(f"{base}_init", args[2], path)
        else:  # the input's value at the start, as in XMILE
            init_node = self.init(f"{base}_init", args[0], path)
        self.d.histories.append((base, x.name))
        call = Call(f"$history:{base}", (tau, Name(init_node.name, col)), col)
        return self.aux(base, call, path)
