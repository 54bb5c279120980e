"""The fixed-step driver: work arrays reused, same arithmetic as the textbook loop."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simdyn.integrate import FIXED_METHODS, integrate_fixed
from simdyn.integrate.fixed import _row_ranges

A = np.array([[-0.5, 0.2, 0.0], [0.1, -0.3, 0.4], [0.0, 0.3, -0.9]])


class Linear:
    """``dy/dt = A y + sin(t)``; records the ``out`` arrays it is given."""

    def __init__(self) -> None:
        self.outs: list[int] = []

    def __call__(self, t: float, ts: float, y: Any, out: Any = None) -> Any:
        if out is None:
            out = np.empty_like(y)
        else:
            self.outs.append(out.__array_interface__["data"][0])
        np.matmul(A, y, out=out)
        out += np.sin(t)
        return out


def textbook(y0: Any, tableau: Any, dt: float, n_steps: int) -> Any:
    """The loop the driver replaced: a new array per stage and per term."""
    a, b, c = tableau.a, tableau.b, tableau.c
    f = Linear()
    y = y0.copy()
    for i in range(n_steps):
        t = i * dt
        ks: list[Any] = []
        for j in range(tableau.stages):
            yj = y if j == 0 else y.copy()
            for m, coef in enumerate(a[j] if j else ()):
                if coef != 0.0:
                    yj += (dt * coef) * ks[m]
            ks.append(f(t + c[j] * dt, t, yj))
        for j in range(tableau.stages):
            y += (dt * b[j]) * ks[j]
        np.maximum(y[1:], 0.0, out=y[1:])
    return y


@pytest.mark.parametrize("method", sorted(FIXED_METHODS))
def test_driver_is_bit_identical_to_the_textbook_loop(method: str) -> None:
    y0 = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    saved: list[Any] = []
    f = Linear()
    status = integrate_fixed(
        f,
        y0,
        start=0.0,
        dt=0.1,
        n_steps=50,
        save_every=50,
        tableau=FIXED_METHODS[method],
        on_save=lambda k, t, y: saved.append(y.copy()),
        clamp_rows=np.array([2, 1]),
    )
    assert status.ok.all()
    np.testing.assert_array_equal(saved[-1], textbook(y0, FIXED_METHODS[method], 0.1, 50))
    # every stage writes into one of the driver's preallocated slots
    assert len(set(f.outs)) == FIXED_METHODS[method].stages


def test_a_scenario_that_goes_non_finite_is_marked_once() -> None:
    def rhs(t: float, ts: float, y: Any, out: Any = None) -> Any:
        out = np.zeros_like(y) if out is None else out
        out[...] = 0.0
        if t >= 0.5:
            out[1, 1] = np.inf
        return out

    status = integrate_fixed(
        rhs,
        np.zeros((2, 3)),
        start=0.0,
        dt=0.25,
        n_steps=8,
        save_every=1,
        tableau=FIXED_METHODS["euler"],
        on_save=lambda k, t, y: None,
    )
    np.testing.assert_array_equal(status.ok, [True, False, True])
    assert status.fail_time[1] == 0.75
    assert status.fail_row[1] == 1


def test_row_ranges_group_consecutive_rows() -> None:
    assert _row_ranges(np.array([5, 1, 2, 3, 8, 7])) == [(1, 4), (5, 6), (7, 9)]
    assert _row_ranges(np.array([], dtype=np.int64)) == []
    assert _row_ranges(None) == []
