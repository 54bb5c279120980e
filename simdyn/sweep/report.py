"""The sweep report: one self-contained HTML page with its plots inline (base64 PNG).

Fan charts of the kept series across the uncertainty (per policy), sensitivity bars with
their confidence intervals, robustness per policy (satisficing share, regret), and the PRIM
box over the inputs' ranges.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

import simdyn
from simdyn.sweep.analysis import Analysis, PrimResult

__all__ = ["fan_chart", "prim_chart", "robustness_chart", "sensitivity_bars", "write_report"]

_DPI = 90
_MAX_POLICIES = 8


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def fan_chart(ds: xr.Dataset, variable: str) -> Figure:
    """Median and 5–95 % / 25–75 % bands of a kept series, one colour per policy."""
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.add_subplot()
    t = np.asarray(ds["keep_time"].values)
    labels = list(ds.attrs["policy_labels"])[:_MAX_POLICIES]
    u = int(ds.attrs["n_samples"])
    data = np.asarray(ds[f"series_{variable}"].values)
    for p, label in enumerate(labels):
        block = data[p * u : (p + 1) * u]
        q = np.nanpercentile(block, [5, 25, 50, 75, 95], axis=0)
        (line,) = ax.plot(t, q[2], label=label, lw=1.6)
        ax.fill_between(t, q[0], q[4], color=line.get_color(), alpha=0.12, lw=0)
        ax.fill_between(t, q[1], q[3], color=line.get_color(), alpha=0.25, lw=0)
    ax.set_title(f"{variable}: median, 25–75 % and 5–95 % of the sample")
    ax.set_xlabel(f"time ({ds.attrs.get('time_units', 'model time')})")
    fig.legend(fontsize=7, loc="outside right upper")
    ax.grid(alpha=0.3)
    return fig


def sensitivity_bars(table: pd.DataFrame, outcome: str, method: str) -> Figure:
    """Bars of S1 and ST (Sobol) or mu* (Morris) with their 95 % intervals, first policy."""
    first = table[(table["outcome"] == outcome) & table["time"].isna()]
    first = first[first["policy"] == first["policy"].iloc[0]]
    fig = Figure(figsize=(7.5, 0.5 + 0.45 * len(first) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(first))
    if method == "sobol":
        ax.barh(y - 0.2, first["S1"], 0.4, xerr=first["S1_conf"], label="first order S1", capsize=3)
        ax.barh(y + 0.2, first["ST"], 0.4, xerr=first["ST_conf"], label="total ST", capsize=3)
        ax.set_xlabel("Sobol index (95 % interval)")
    else:
        ax.barh(y, first["mu_star"], 0.5, xerr=first["mu_star_conf"], label="μ*", capsize=3)
        ax.set_xlabel("Morris μ* (per input range; 95 % interval)")
    ax.set_yticks(y, list(first["input"]))
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{outcome} ({first['policy'].iloc[0]})", fontsize=10)
    return fig


def robustness_chart(satisficing: pd.DataFrame, outcomes: pd.DataFrame) -> Figure:
    """Satisficing share per policy, and the regret of the first outcome."""
    fig = Figure(figsize=(10, 0.8 + 0.42 * len(satisficing) + 0.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(satisficing))
    ax1.barh(y, satisficing["satisficing"], color="#4c72b0")
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("share of samples with every goal met")
    ax1.set_yticks(y, [str(s) for s in satisficing["policy"]], fontsize=7)
    ax1.invert_yaxis()
    if len(outcomes):
        name = outcomes["outcome"].iloc[0]
        sub = outcomes[outcomes["outcome"] == name]
        ax2.barh(y, sub["mean_regret"], color="#dd8452", label="mean")
        ax2.plot(sub["max_regret"], y, "k|", ms=12, label="max")
        ax2.set_xlabel(f"regret of {name}")
        ax2.legend(fontsize=7)
    for ax in (ax1, ax2):
        ax.grid(axis="x", alpha=0.3)
    return fig


def prim_chart(result: PrimResult) -> Figure:
    """The PRIM box: each restricted input's limits inside its sampled range."""
    lims, bounds = result.limits, result.bounds
    fig = Figure(figsize=(7.5, 0.9 + 0.5 * max(len(lims), 1)), layout="constrained")
    ax = fig.add_subplot()
    for k, name in enumerate(lims.index):
        lo, hi = lims.loc[name, "min"], lims.loc[name, "max"]
        blo, bhi = bounds.loc[name, "min"], bounds.loc[name, "max"]
        if isinstance(lo, set | frozenset) or isinstance(blo, set | frozenset):
            ax.barh(k, 1.0, left=0.0, color="#dddddd", height=0.5)
            ax.text(0.5, k, ", ".join(sorted(map(str, lo))), ha="center", va="center", fontsize=8)
            continue
        span = float(bhi) - float(blo) or 1.0
        ax.barh(k, 1.0, left=0.0, color="#dddddd", height=0.5)
        ax.barh(k, (float(hi) - float(lo)) / span, left=(float(lo) - float(blo)) / span, height=0.5)
        ax.text(1.01, k, f"{float(lo):.3g} – {float(hi):.3g}", va="center", fontsize=8)
    ax.set_yticks(range(len(lims)), list(lims.index))
    ax.set_xlim(0, 1.25)
    ax.set_ylim(len(lims) - 0.5, -0.5)
    ax.set_xlabel("share of the sampled range")
    ax.set_title(
        f"PRIM box where {result.condition}: coverage {result.coverage:.2f}, "
        f"density {result.density:.2f}",
        fontsize=10,
    )
    return fig


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_html(index=False, float_format=lambda x: f"{x:.{digits}g}", border=0)


def write_report(ds: xr.Dataset, analysis: Analysis, out: str | os.PathLike[str]) -> Path:
    """Write the sweep report to ``out`` (atomically) and return its path."""
    sections: list[str] = []

    def figure(fig: Figure, caption: str) -> str:
        return f'<figure><img src="data:image/png;base64,{_png(fig)}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'

    for var in ds.attrs.get("keep", []):
        sections.append(figure(fan_chart(ds, var), f"Fan chart of {var} across the uncertainty"))
    for method, table in (("sobol", analysis.sobol), ("morris", analysis.morris)):
        if table is not None and len(table):
            for outcome in dict.fromkeys(table["outcome"][table["time"].isna()]):
                sections.append(
                    figure(
                        sensitivity_bars(table, outcome, method), f"{method} indices of {outcome}"
                    )
                )
            sections.append(_table(table[table["time"].isna()].drop(columns="time")))
    if analysis.satisficing is not None and analysis.outcomes is not None:
        sections.append(
            figure(
                robustness_chart(analysis.satisficing, analysis.outcomes), "Robustness per policy"
            )
        )
        sections.append(_table(analysis.satisficing))
        sections.append(_table(analysis.outcomes))
    if analysis.prim is not None and analysis.prim.limits.empty:
        sections.append(f"<p>{html.escape(analysis.prim.summary())}.</p>")
    elif analysis.prim is not None:
        sections.append(figure(prim_chart(analysis.prim), "PRIM scenario discovery"))
        sections.append(_table(analysis.prim.box_table()))
    notes = "".join(f"<p class=note>{html.escape(n)}</p>" for n in analysis.notes)
    body = _page(ds, "\n".join(sections), notes)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _page(ds: xr.Dataset, content: str, notes: str) -> str:
    a = ds.attrs
    facts: Sequence[tuple[str, object]] = (
        ("scenario file", a.get("scenario_file")),
        ("model", a.get("model")),
        ("design", f"{a.get('design')} (n = {a.get('design_n')}), seed {a.get('seed')}"),
        (
            "rows",
            f"{a.get('n_rows'):,} = {a.get('n_policies')} policies × {a.get('n_samples')} samples",
        ),
        ("uncertainties", ", ".join(a.get("uncertainties", [])) or "none"),
        ("levers", ", ".join(a.get("levers", [])) or "none"),
        ("failed runs", int((np.asarray(ds["status"].values) == 1).sum())),
        ("simdyn", f"{a.get('simdyn_version')} (report by {simdyn.__version__})"),
    )
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }}
th, td {{ padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: left; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 0.9em; }} .note {{ color: #8a5300; }}
</style></head><body>
<h1>Sweep report</h1>
<table>{rows}</table>
{notes}
{content}
</body></html>
"""
