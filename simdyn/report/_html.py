"""The HTML report: one self-contained page (plots inline as base64 PNG)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import jinja2
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

import simdyn
from simdyn.plot import plot_comparison, plot_network, plot_timeseries
from simdyn.scenario import ScenarioResult

__all__ = ["Plot", "make_plots", "render_html"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("simdyn.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


_DPI = 90


@dataclass(frozen=True)
class Plot:
    """A rendered figure: file stem, caption and PNG bytes."""

    name: str
    caption: str
    png: bytes
    width: int
    height: int


def _png(fig: Figure) -> tuple[bytes, int, int]:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    width, height = (round(float(v) * _DPI) for v in fig.get_size_inches())
    return buf.getvalue(), width, height


def key_variables(result: ScenarioResult, limit: int = 6) -> list[str]:
    """The variables to plot: the scenario's ``[report]`` choice, the model's key outputs,
    else its first stocks; only those in the results."""
    first = result.runs[0]
    model = first.plan.model
    names = list(first.scenario.report_variables) or list(model.key_outputs)
    goal_vars = (
        [str(v).split("[")[0] for v in result.goals["variable"]] if len(result.goals) else []
    )
    for v in goal_vars:
        if v not in names:
            names.append(v)
    return [n for n in names if n in result.dataset.data_vars]


def policy_dataset(result: ScenarioResult) -> xr.Dataset:
    """The scheduled parameters of every run over the saved times (``time`` × ``scenario``)."""
    ds = result.dataset
    times = np.asarray(ds["time"].values, dtype=float)
    params = sorted({p.param for r in result.runs for p in r.plan.policies})
    data = {}
    for param in params:
        values = np.full((len(times), len(result.runs)), np.nan)
        for k, run in enumerate(result.runs):
            applied = [p for p in run.plan.policies if p.param == param]
            if applied:
                values[:, k] = [applied[0].value_at(float(t)) for t in times]
            else:
                values[:, k] = _constant_value(run, param)
        data[param] = (("time", "scenario"), values)
    out = xr.Dataset(data, coords={"time": times, "scenario": np.arange(len(result.runs))})
    out = out.assign_coords(variant=("scenario", list(result.names)))
    out.attrs["time_units"] = ds.attrs.get("time_units", "time")
    return out


def _constant_value(run: Any, param: str) -> float:
    name, _, element = param.partition("[")
    model = run.plan.model
    value = run.plan.params.get(
        name, model.constants[name].value if name in model.constants else np.nan
    )
    if isinstance(value, tuple | list):
        elements = list(model.dimensions[model.constants[name].dims[0]])
        return float(value[elements.index(element.rstrip("]"))])
    return float(value)


def make_plots(result: ScenarioResult) -> list[Plot]:
    """Render the report's figures: key variables with goal markers, run comparison, policies."""
    ds = result.dataset
    plots: list[Plot] = []
    variables = key_variables(result)
    if variables:
        fig = plot_timeseries(ds, variables, goals=result.goals)
        plots.append(
            Plot(
                "timeseries",
                "Key variables over time; triangles mark goals (filled: met, hollow: not met).",
                *_png(fig),
            )
        )
    if len(result.runs) > 1 and variables:
        goal_times = sorted({float(t) for t in result.goals["time"]}) if len(result.goals) else None
        fig = plot_comparison(ds, variables, times=goal_times)
        plots.append(
            Plot("comparison", "Runs side by side at the goal times (or the end).", *_png(fig))
        )
    network_plot = _network_plot(result)
    if network_plot is not None:
        plots.append(network_plot)
    if any(r.plan.policies for r in result.runs):
        pds = policy_dataset(result)
        fig = plot_timeseries(pds, [str(v) for v in pds.data_vars], ncols=4, panel=(3.6, 2.4))
        plots.append(Plot("policies", "Scheduled parameters (policies) over time.", *_png(fig)))
    return plots


def _network_plot(result: ScenarioResult, limit: int = 4) -> Plot | None:
    """The org graph of network runs, coloured by the first node-level stock at the end."""
    runs = [r for r in result.runs if r.graph is not None][:limit]
    if not runs:
        return None
    model = runs[0].plan.model
    first = runs[0].dataset
    node_vars = [n for n in model.variables if n in first and "node" in first[n].dims]
    if not node_vars:
        return None
    var = node_vars[0]
    graph = runs[0].graph
    assert graph is not None
    same_graph = all(r.graph is not None and list(r.graph) == list(graph) for r in runs)
    if not same_graph:
        runs = runs[:1]
    values = {r.name: r.dataset[var].isel(time=-1, scenario=0).values for r in runs}
    t_end = float(runs[0].dataset.time[-1])
    fig = plot_network(graph, values, variable=var)
    return Plot(
        "network",
        f"The org graph at time {t_end:g}: each person coloured by {var}; edges by kind "
        "(grey team, blue hierarchy, orange cross-team, green community).",
        *_png(fig),
    )


def _fmt(x: Any) -> str:
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, float | np.floating):
        return f"{float(x):.4g}"
    if isinstance(x, tuple):
        return ", ".join(_fmt(v) for v in x)
    return str(x)


def _failures(result: ScenarioResult) -> list[str]:
    from simdyn.report._write import failed_runs

    return failed_runs(result.dataset)


def render_html(result: ScenarioResult, plots: list[Plot] | None = None) -> str:
    """Render the self-contained HTML report of ``result``.

    Parameters
    ----------
    result
        What :func:`simdyn.scenario.run_scenario` returned.
    plots
        Figures to embed (default: :func:`make_plots`).

    Returns
    -------
    str
        A complete HTML page; images are inline ``data:`` URIs, so the file stands alone.
    """
    plots = make_plots(result) if plots is None else plots
    first = result.runs[0]
    model = first.plan.model
    sc = first.scenario
    t = first.plan.time
    runs = []
    for run in result.runs:
        g = result.goals[result.goals["scenario"] == run.name]
        runs.append(
            {
                "name": run.name,
                "style": run.plan.style,
                "goals_met": int(g["met"].sum()),
                "goals_total": len(g),
                "policies": [{"label": p.label, "text": p.describe()} for p in run.plan.policies],
                "changed": [
                    {
                        "name": name,
                        "default": _fmt(old),
                        "value": _fmt(new),
                        "units": model.constants[name].units if name in model.constants else "",
                    }
                    for name, (old, new) in run.plan.changed.items()
                ],
            }
        )
    goals = [
        {k: (_fmt(v) if k in ("time", "target", "actual", "margin") else v) for k, v in row.items()}
        for row in result.goals.to_dict("records")
    ]
    counts = ", ".join(
        f"{len(table)} {kind}"
        for kind, table in (
            ("stocks", model.stocks),
            ("flows", model.flows),
            ("auxiliaries", model.auxiliaries),
            ("constants", model.constants),
        )
    )
    return _ENV.get_template("report.html.j2").render(
        title=sc.title or sc.name,
        description=sc.description,
        version=simdyn.__version__,
        time_text=f"time {t.start:g} to {t.stop:g} {model.time_units}, "
        f"dt {t.dt:g}, method {t.method or 'model default'}",
        runs=runs,
        failures=_failures(result),
        goals=goals,
        figures=[
            {
                "data": base64.b64encode(p.png).decode("ascii"),
                "caption": p.caption,
                "width": p.width,
                "height": p.height,
            }
            for p in plots
        ],
        model={
            "name": model.name,
            "doc": model.doc,
            "time_units": model.time_units,
            "counts": counts,
            "key_outputs": list(model.key_outputs),
            "styles": list(model.presets.get("style", {})),
        },
        sources=[{"path": path, "text": text} for path, text in result.texts.items()],
    )
