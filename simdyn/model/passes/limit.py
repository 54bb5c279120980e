"""Pass 3: a non-negative stock scales its outflows so it never gives more than it holds.

Each outflow ``f`` of a non-negative stock ``s`` becomes ``_raw_f * _outflow_scale_s`` with

    _outflow_scale_s = MIN(1, SAFEDIV(MAX(s, 0), DT * MAX(sum of raw outflows, 0), 1))

so the stock that receives ``f`` gets exactly what ``s`` loses (XMILE's non-negative stocks limit
the outflows, not the net rate). ``_raw_`` and ``_outflow_`` are no function names, so these
hidden names cannot meet those of :mod:`~simdyn.model.passes.expand`.
"""

from __future__ import annotations

from simdyn.expr import BinOp, Call, Name, Node, Num
from simdyn.model.passes.draft import Draft, Var

__all__ = ["limit_outflows"]

SCALE = "_outflow_scale_"


def limit_outflows(d: Draft) -> Draft:
    """Limit the outflows of every non-negative stock of ``d``."""
    for s in d.spec.stocks.values():
        if s.non_negative and s.outflows:
            _limit(d, s.name, s.outflows)
    return d


def _limit(d: Draft, stock: str, outflows: tuple[str, ...]) -> None:
    s = d.vars[stock]
    path = ("stocks", stock, "outflows")
    scale = f"{SCALE}{stock}"
    total: Node | None = None
    for f in outflows:
        v = d.vars[f]
        if v.dims != s.dims:
            raise d.fail(
                path,
                f"outflow {f!r} of the non-negative stock {stock!r} must have the stock's "
                f"dimensions ({', '.join(s.dims) or 'none'})",
            )
        if (
            isinstance(v.eq, BinOp)
            and isinstance(v.eq.right, Name)
            and v.eq.right.name.startswith(SCALE)
        ):
            raise d.fail(
                path,
                f"flow {f!r} drains two non-negative stocks",
                "a flow can be the outflow of one stock only",
            )
        raw = f"_raw_{f}"
        assert v.eq is not None
        assert raw not in d.vars
        d.vars[raw] = Var(
            raw, "auxiliary", v.dims, v.eq, hidden=True, uniflow=v.uniflow, owner=v.owner
        )
        v.eq = BinOp("*", Name(raw, 0), Name(scale, 0), 0)
        v.uniflow = False
        total = Name(raw, 0) if total is None else BinOp("+", total, Name(raw, 0), 0)
    assert total is not None
    zero, one = Num(0.0, 0), Num(1.0, 0)
    content = Call("MAX", (Name(stock, 0), zero), 0)
    capacity = BinOp("*", Name("DT", 0), Call("MAX", (total, zero), 0), 0)
    eq = Call("MIN", (one, Call("SAFEDIV", (content, capacity, one), 0)), 0)
    d.vars[scale] = Var(scale, "auxiliary", s.dims, eq, hidden=True, owner=path)
