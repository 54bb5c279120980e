"""Policy sweeps: uncertainties x levers, chunked designs, a resumable zarr store, analysis.

See ``docs/sweeps.md``. The pieces, each in its own module: :mod:`~simdyn.sweep.spec` (the
``[sweep]`` table), :mod:`~simdyn.sweep.plan` (checks against the model),
:mod:`~simdyn.sweep.designs`, :mod:`~simdyn.sweep.outcomes`, :mod:`~simdyn.sweep.runner`,
:mod:`~simdyn.sweep.executors`, :mod:`~simdyn.sweep.store`, :mod:`~simdyn.sweep.analysis` and
:mod:`~simdyn.sweep.report`.
"""

from __future__ import annotations

from simdyn.sweep.runner import SweepRun, run_sweep
from simdyn.sweep.spec import Design, Lever, Outcome, Sweep, Uncertainty, load_sweep
from simdyn.sweep.store import export_netcdf, export_parquet, open_store

__all__ = [
    "Design",
    "Lever",
    "Outcome",
    "Sweep",
    "SweepRun",
    "Uncertainty",
    "export_netcdf",
    "export_parquet",
    "load_sweep",
    "open_store",
    "run_sweep",
]
