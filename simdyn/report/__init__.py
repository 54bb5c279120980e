"""Reports of scenario runs: files, plots and a self-contained HTML page."""

from __future__ import annotations

from simdyn.report._html import Plot, make_plots, render_html
from simdyn.report._model import describe_model, list_models_text
from simdyn.report._write import (
    OUTPUT_FILES,
    failed_runs,
    failed_runs_in,
    report_scenarios,
    write_run,
)

__all__ = [
    "OUTPUT_FILES",
    "Plot",
    "describe_model",
    "failed_runs",
    "failed_runs_in",
    "list_models_text",
    "make_plots",
    "render_html",
    "report_scenarios",
    "write_run",
]
