"""The HTML report: one self-contained page (plots inline as base64 PNG)."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

import simdyn
from simdyn.analysis import loop_dominance
from simdyn.errors import SimdynError
from simdyn.loop_plots import plot_dominance
from simdyn.plot import (
    PLAIN_LIMIT,
    axis_scale,
    plain_text,
    plot_comparison,
    plot_network,
    plot_timeseries,
    scaled_label,
)
from simdyn.report._costs import cost_benefit, value_per_unit
from simdyn.scenario import ScenarioResult, StyleChange

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


def uncertainty_bands(result: ScenarioResult) -> dict[str, list[str]]:
    """Per scenario file, its base run → the runs of its ``[report] uncertainty`` variants."""
    names = set(result.names)
    bands: dict[str, list[str]] = {}
    done: set[str] = set()
    for run in result.runs:
        sc = run.scenario
        if not sc.report_uncertainty or sc.source in done or sc.name in sc.report_uncertainty:
            continue
        done.add(sc.source)  # the first run of a file (its base) owns the band
        stem = Path(sc.source).stem
        members = [
            name for v in sc.report_uncertainty for name in (v, f"{stem}/{v}") if name in names
        ]
        if members:
            bands[run.name] = members
    return bands


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
        name = param.partition("[")[0]
        const = result.runs[0].plan.model.constants.get(name)
        var = result.runs[0].plan.model.auxiliaries.get(name)  # a scheduled constant
        units = const.units if const is not None else (var.units if var is not None else "")
        data[param] = xr.Variable(("time", "scenario"), values, attrs={"units": units})
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
        bands = uncertainty_bands(result)
        goals = result.goals[
            ~result.goals["scenario"].isin([m for ms in bands.values() for m in ms])
        ]
        fig = plot_timeseries(ds, variables, goals=goals, bands=bands)
        plots.append(
            Plot(
                "timeseries",
                "Key variables over time, one line per run (later runs dashed, so identical "
                "lines stay visible). Black bars mark goal targets; each run's value at the goal "
                "time is a triangle in the run's colour, filled if the goal is met, hollow if not."
                + scale_note(ds, variables),
                *_png(fig),
            )
        )
    if len(result.runs) > 1 and variables:
        goal_times = sorted({float(t) for t in result.goals["time"]}) if len(result.goals) else None
        fig = plot_comparison(ds, variables, times=goal_times)
        caption = "Runs side by side at the goal times (or the end)." + scale_note(ds, variables)
        plots.append(Plot("comparison", caption, *_png(fig)))
    network_plot = _network_plot(result)
    if network_plot is not None:
        plots.append(network_plot)
    dominance_plot = _dominance_plot(result)
    if dominance_plot is not None:
        plots.append(dominance_plot)
    if any(r.plan.policies for r in result.runs):
        pds = policy_dataset(result)
        names = [str(v) for v in pds.data_vars]
        fig = plot_timeseries(pds, names, ncols=4, panel=(3.6, 2.4))
        caption = "Scheduled parameters (policies) over time." + scale_note(pds, names)
        plots.append(Plot("policies", caption, *_png(fig)))
    return plots


def scale_note(dataset: xr.Dataset, variables: list[str]) -> str:
    """A caption sentence naming the variables whose axis counts in a power of ten, or ``""``.

    Values beyond ±:data:`~simdyn.plot.PLAIN_LIMIT` (up to ±1.8e308) are drawn divided by a
    power of ten (:func:`~simdyn.plot.axis_scale`), so nothing finite is left out; the caption
    and the axis label both say so.
    """
    scales = {v: axis_scale(dataset[v].values) for v in variables}
    scaled = {v: k for v, k in scales.items() if k != 1.0}
    limit = f"±1e{round(math.log10(PLAIN_LIMIT))}"
    note = ""
    if scaled:
        shown = ", ".join(scaled_label(v, k) for v, k in scaled.items())
        note = (
            f" {', '.join(scaled)} reach beyond {limit}, so their axes count in a power of ten, "
            f"named on the axis label: {shown}."
        )
    return note + _time_note(dataset)


def _time_note(dataset: xr.Dataset) -> str:
    xscale = axis_scale(dataset["time"].values)
    if xscale == 1.0:
        return ""
    limit = f"±1e{round(math.log10(PLAIN_LIMIT))}"
    return f" Time reaches beyond {limit}: the time axis counts in{scaled_label('', xscale)}."


def _shown_loops(dom: xr.Dataset, others: int = 4) -> list[str]:
    """The model's named loops and the strongest unnamed ones (by mean relative score)."""
    ids = [str(x) for x in dom["loop"].values]
    named = [i for i, n in zip(ids, dom["loop_name"].values, strict=True) if n]
    strength = abs(dom["relative_score"]).mean(("time", "scenario")).values
    unnamed = [ids[k] for k in np.argsort(-strength) if ids[k] not in named and strength[k] > 0]
    return named + unnamed[:others]


def _dominance_plot(result: ScenarioResult, limit: int = 4) -> Plot | None:
    """Stacked relative loop scores (Loops that Matter) of the first runs; None if unavailable."""
    runs = [r for r in result.runs if r.graph is None][:limit]
    if not runs:
        return None
    fig = Figure(figsize=(11, 3.2 * len(runs)))
    axes = fig.subplots(len(runs), 1, squeeze=False)[:, 0]
    for ax, r in zip(axes, runs, strict=True):
        try:
            dom = loop_dominance(r.dataset, r.plan.model, discover=False, seed=r.plan.scenario.seed)
        except SimdynError:
            return None  # a run that did not save every variable
        xscale = axis_scale(dom["time"].values)  # time near the float limit: see scale_note
        dom = dom.assign_coords(time=dom["time"].values / xscale)
        plot_dominance(dom, loops=_shown_loops(dom), ax=ax, title=f"{r.name}: loop dominance")
        ax.set_xlabel(scaled_label(ax.get_xlabel(), xscale))
        legend = ax.get_legend()
        plain_text(ax.title, *(legend.get_texts() if legend is not None else ()))
    fig.tight_layout()
    return Plot(
        "loop_dominance",
        "Relative loop scores over time (Loops that Matter, docs/loops.md): the model's named "
        "loops and the strongest others; reinforcing loops above zero, balancing below, the "
        "remaining loops in grey. Which feedback loops drive the behaviour."
        + _time_note(runs[0].dataset),
        *_png(fig),
    )


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


def display_path(path: str) -> str:
    """A path as the report shows it: relative to the working directory, else the file name."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.name


def _goal_row(row: Mapping[Any, Any], model: Any) -> dict[Any, Any]:
    """A goals-table row; a goal labelled with ``%`` shows its values as percentages."""
    out = dict(row)
    percent = "%" in str(row.get("label", "")) and "start" not in str(row.get("comparison", ""))
    for key in ("target", "actual", "margin"):
        value = float(row[key])
        out[key] = f"{100 * value:.3g} %" if percent and math.isfinite(value) else _fmt(row[key])
    out["time"] = _fmt(row["time"])
    name = str(row["variable"]).split("[")[0]
    var = _variable(model, name)
    if "start" in str(row.get("comparison", "")):
        out["units"] = "× its start value"
    else:
        out["units"] = "% (share)" if percent else (var.units if var is not None else "")
    return out


def _variable(model: Any, name: str) -> Any:
    for table in (model.stocks, model.flows, model.auxiliaries, model.constants):
        if name in table:
            return table[name]
    return None


def glossary(result: ScenarioResult) -> list[dict[str, str]]:
    """What the plotted variables (and the unit of output) mean, from the model's docs."""
    model = result.runs[0].plan.model
    rows = []
    for name in key_variables(result):
        var = _variable(model, name)
        if var is None:
            continue
        units = var.units or ""
        meaning = var.doc or ""
        if units in ("dimensionless", "dmnl", "index", "1", "fraction"):
            meaning = f"{meaning} An index without unit: 0 is none, 1 is the full amount.".strip()
        rows.append({"term": name, "units": units, "meaning": meaning})
    for name, const in model.constants.items():
        if const.units.replace(" ", "") == "unit/hour" and const.doc:
            rows.append(
                {
                    "term": "unit (of output)",
                    "units": "unit",
                    "meaning": f"1 unit is the {const.doc[0].lower()}{const.doc[1:]} "
                    f"({name} = {_fmt(const.value)} unit/hour)",
                }
            )
    return rows


def _money(x: float) -> str:
    return f"{x:,.0f} USD"


def _cost_panel(result: ScenarioResult) -> dict[str, Any] | None:
    rows = cost_benefit(result)
    if rows is None:
        return None
    price = value_per_unit(result)
    time_units = result.runs[0].plan.model.time_units
    out = []
    for k, r in enumerate(rows):
        if k == 0:
            be = "base run"
        elif r.break_even is None:
            be = "not within the run"
        else:
            be = f"{time_units} {r.break_even:.1f}"
        out.append(
            {
                "run": r.run,
                "development": _money(r.development),
                "turnover": _money(r.turnover),
                "output": f"{r.output:,.0f} unit",
                "extra_development": "—" if k == 0 else _money(r.extra_development),
                "turnover_avoided": "—" if k == 0 else _money(r.turnover_avoided),
                "output_gained": "—" if k == 0 else f"{r.output_gained:,.0f} unit",
                "output_value": "—" if k == 0 else _money(r.output_value),
                "net": "—" if k == 0 else _money(r.net),
                "net_positive": r.net >= 0,
                "break_even": be,
            }
        )
    return {
        "rows": out,
        "base": rows[0].run,
        "price": f"{price[0]:,.2f} USD per unit, {price[1]}" if price else None,
        "time_units": time_units,
    }


def _levers(run: Any) -> list[dict[str, Any]]:
    """Per style change: the levers it moved and those it left at their ``params`` value."""
    out = []
    for name, policy in run.scenario.policies.items():
        if not isinstance(policy, StyleChange):
            continue
        moved = [p.param for p in run.plan.policies if p.name == name]
        held = [h.param for h in run.plan.held if h.policy == name]
        out.append({"policy": name, "moved": moved, "held": held})
    return out


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
    return _ENV.get_template("report.html.j2").render(
        title=sc.title or sc.name,
        description=sc.description,
        version=simdyn.__version__,
        time_text=f"time {t.start:g} to {t.stop:g} {model.time_units}, "
        f"dt {t.dt:g}, method {t.method or 'model default'}",
        runs=[_run_row(result, run, model) for run in result.runs],
        failures=_failures(result),
        goals=[_goal_row(row, model) for row in result.goals.to_dict("records")],
        figures=[_figure(p) for p in plots],
        model=_model_summary(model),
        sources=[{"path": display_path(path), "text": text} for path, text in result.texts.items()],
        costs=_cost_panel(result),
        glossary=glossary(result),
    )


def _run_row(result: ScenarioResult, run: Any, model: Any) -> dict[str, Any]:
    """One run's section: its style, goals met, policies, levers and changed parameters (with
    their units in ``model``, the first run's)."""
    g = result.goals[result.goals["scenario"] == run.name]
    return {
        "name": run.name,
        "style": run.plan.style,
        "goals_met": int(g["met"].sum()),
        "goals_total": len(g),
        "policies": [{"label": p.label, "text": p.describe()} for p in run.plan.policies],
        "levers": _levers(run),
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


def _figure(plot: Plot) -> dict[str, Any]:
    """A plot as the template embeds it: base64 PNG, caption and size."""
    return {
        "data": base64.b64encode(plot.png).decode("ascii"),
        "caption": plot.caption,
        "width": plot.width,
        "height": plot.height,
    }


def _model_summary(model: Any) -> dict[str, Any]:
    """The model section: name, doc, time units, how many of each kind, outputs and styles."""
    counts = ", ".join(
        f"{len(table)} {kind}"
        for kind, table in (
            ("stocks", model.stocks),
            ("flows", model.flows),
            ("auxiliaries", model.auxiliaries),
            ("constants", model.constants),
        )
    )
    return {
        "name": model.name,
        "doc": model.doc,
        "time_units": model.time_units,
        "counts": counts,
        "key_outputs": list(model.key_outputs),
        "styles": list(model.presets.get("style", {})),
    }
