"""The example sweep scenarios plan against their model and run (at a small size here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from simdyn.sweep import load_sweep, run_sweep
from simdyn.sweep.analysis import analyze, load_results
from simdyn.sweep.plan import plan_sweep

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize(
    ("name", "rows", "small"),
    [
        ("sweep_robustness", 24_000, {"sweep.design.n": 3}),
        ("sweep_sobol", 24_576, {"sweep.design.n": 2}),
    ],
)
def test_example_sweep_runs(name: str, rows: int, small: dict[str, int], tmp_path: Path) -> None:
    path = SCENARIOS / f"{name}.toml"
    assert plan_sweep(load_sweep(path)).design.n_rows == rows
    sw = load_sweep(path, overrides=small)
    run_sweep(sw, tmp_path / "s.zarr")
    ds = load_results(tmp_path / "s.zarr")
    assert int(ds.status.sum()) == 0
    assert xr.open_zarr(tmp_path / "s.zarr").attrs["model"] == "learning_org"
    result = analyze(ds, method="robustness")
    assert result.satisficing is not None
