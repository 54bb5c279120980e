"""Designs: sizes as SALib documents them, bounds, chunk independence, memory of big designs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from SALib.sample import sobol as salib_sobol

from simdyn.sweep.designs import ExperimentDesign
from simdyn.sweep.spec import Design, Lever, Sweep, Uncertainty


def _uncertainties(d: int) -> tuple[Uncertainty, ...]:
    return tuple(Uncertainty(f"x{k}", f"x{k}", low=-1.0 - k, high=2.0 + k) for k in range(d))


@pytest.mark.parametrize(
    ("kind", "n", "second", "expected"),
    [
        ("sobol", 16, True, 16 * (2 * 3 + 2)),
        ("sobol", 16, False, 16 * (3 + 2)),
        ("morris", 10, True, 10 * (3 + 1)),
        ("lhs", 37, True, 37),
        ("montecarlo", 37, True, 37),
        ("factorial", 0, True, 4**3),
    ],
)
def test_sizes_follow_salib_and_bounds_hold(kind: str, n: int, second: bool, expected: int) -> None:
    sw = Sweep(
        "s.toml",
        uncertainties=_uncertainties(3),
        levers=(Lever("l", "l", (1.0, 2.0, 3.0)),),
        design=Design(kind, n=n or 1, levels=4, second_order=second),
        seed=4,
    )
    d = ExperimentDesign(sw)
    assert d.n_samples == expected
    assert d.n_rows == 3 * expected
    rows = d.rows(0, d.n_rows)
    for j, u in enumerate(sw.uncertainties):
        assert rows.values[:, j].min() >= u.low
        assert rows.values[:, j].max() <= u.high
    # every policy sees the same sample
    per = rows.unit.reshape(3, expected, 3)
    assert np.array_equal(per[0], per[2])
    # rows do not depend on how the design is cut
    pieces = np.concatenate(
        [d.rows(a, min(a + 11, d.n_rows)).values for a in range(0, d.n_rows, 11)]
    )
    assert np.array_equal(pieces, rows.values)


def test_saltelli_rows_are_salibs() -> None:
    sw = Sweep("s.toml", uncertainties=_uncertainties(4), design=Design("sobol", n=32), seed=7)
    d = ExperimentDesign(sw)
    problem = {"num_vars": 4, "names": list("abcd"), "bounds": [[0.0, 1.0]] * 4}
    assert np.array_equal(d.rows(0, d.n_rows).unit, salib_sobol.sample(problem, 32, seed=7))


def test_morris_trajectories_move_one_input_at_a_time() -> None:
    sw = Sweep("s.toml", uncertainties=_uncertainties(3), design=Design("morris", n=70, levels=4))
    d = ExperimentDesign(sw)
    unit = d.rows(0, d.n_rows).unit.reshape(70, 4, 3)
    assert np.all((np.abs(np.diff(unit, axis=1)) > 1e-12).sum(axis=2) == 1)
    assert set(np.round(unit.ravel() * 3, 9)) <= {0.0, 1.0, 2.0, 3.0}


def test_latin_hypercube_strata_each_once() -> None:
    sw = Sweep("s.toml", uncertainties=_uncertainties(3), design=Design("lhs", n=500), seed=2)
    unit = ExperimentDesign(sw).rows(0, 500).unit
    for j in range(3):
        assert sorted(np.floor(unit[:, j] * 500).astype(int)) == list(range(500))


def test_distributions_stay_inside_their_ranges() -> None:
    us = (
        Uncertainty("t", "t", "triangular", 0.0, 4.0, mode=1.0),
        Uncertainty("n", "n", "normal", 0.5, 1.5, mean=1.0, sd=1.0),
        Uncertainty("d", "d", "discrete", 1.0, 3.0, values=(1.0, 2.0, 3.0)),
    )
    sw = Sweep("s.toml", uncertainties=us, design=Design("montecarlo", n=4000), seed=1)
    v = ExperimentDesign(sw).rows(0, 4000).values
    assert v[:, 0].min() >= 0
    assert v[:, 0].max() <= 4
    assert abs(np.median(v[:, 0]) - (4 - np.sqrt(4 * 3 / 2))) < 0.1  # triangular median
    assert v[:, 1].min() >= 0.5
    assert v[:, 1].max() <= 1.5
    assert set(v[:, 2]) == {1.0, 2.0, 3.0}


@pytest.mark.parametrize("kind", ["lhs", "montecarlo", "sobol"])
def test_a_million_row_design_never_materialises(kind: str) -> None:
    n = 1_000_000 if kind != "sobol" else 2**15  # sobol: 2^15 * 34 = 1.1 million rows
    sw = Sweep("s.toml", uncertainties=_uncertainties(16), design=Design(kind, n=n), seed=3)
    d = ExperimentDesign(sw)
    assert d.n_rows >= 1_000_000
    whole = d.n_rows * 16 * 8 * 2  # values and unit sample
    tracemalloc.start()
    try:
        for lo in (0, d.n_rows // 2, d.n_rows - 8192):
            rows = d.rows(lo, lo + 8192)
            assert rows.values.shape == (8192, 16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12_000_000 < whole / 20
