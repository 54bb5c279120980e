"""Analyse a sweep store: sensitivity (SALib), robustness of policies, scenario discovery (PRIM).

Sobol and Morris indices are SALib's (:func:`SALib.analyze.sobol.analyze`,
:func:`SALib.analyze.morris.analyze`), computed per policy on that policy's rows of the
uncertainty sample, for every scalar outcome and, with ``over_time``, for kept series at each
kept time. PRIM is EMA Workbench's implementation (:class:`ema_workbench.analysis.prim.Prim`,
BSD-licensed and maintained with the workbench; the ``prim`` package on PyPI is a GPL fork).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simdyn.errors import SimdynError
from simdyn.sweep.store import open_store

__all__ = [
    "METHODS",
    "Analysis",
    "PrimResult",
    "analyze",
    "format_analysis",
    "load_results",
    "morris_indices",
    "prim_boxes",
    "robustness",
    "sobol_indices",
]

METHODS = ("sobol", "morris", "robustness", "prim")


def load_results(store: str | os.PathLike[str]) -> xr.Dataset:
    """The store as an :class:`xarray.Dataset` loaded in memory (checked to be complete)."""
    open_store(store)
    ds: xr.Dataset = xr.open_zarr(store).load()
    missing = int((ds["chunk_done"].values == 0).sum())
    if missing:
        raise SimdynError(
            f"the sweep is not finished: {missing} chunks are missing",
            file=str(store),
            hint="finish it with `simdyn sweep SCENARIO --out STORE --resume`",
        )
    return ds


def _outcomes(ds: xr.Dataset, outcome: str | None) -> list[str]:
    names = list(ds.attrs["outcomes"]) + [f"goal_{g}_margin" for g in ds.attrs.get("goals", {})]
    if outcome is None:
        return names
    if outcome not in names:
        import difflib

        close = difflib.get_close_matches(outcome, names, n=1)
        raise SimdynError(
            f"no outcome {outcome!r} in the store",
            where="--outcome",
            hint=f"did you mean {close[0]!r}?" if close else "one of " + ", ".join(names),
        )
    return [outcome]


def _problem(ds: xr.Dataset) -> dict[str, Any]:
    names = list(ds.attrs["uncertainties"])
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _policy_rows(ds: xr.Dataset, p: int) -> slice:
    u = int(ds.attrs["n_samples"])
    return slice(p * u, (p + 1) * u)


def _need(ds: xr.Dataset, design: str, method: str) -> None:
    if ds.attrs["design"] != design:
        raise SimdynError(
            f"{method} indices need a {design} design; this store's design is {ds.attrs['design']!r}",
            where="--method",
            hint="set [sweep.design] kind = '" + design + "' and run the sweep again",
        )


def _finite(y: np.ndarray, what: str) -> np.ndarray:
    bad = int((~np.isfinite(y)).sum())
    if bad:
        raise SimdynError(f"{bad} runs have no value of {what} (failed runs)", where="--outcome")
    return y


def _series_targets(ds: xr.Dataset, outcome: str | None, over_time: bool) -> list[tuple[str, Any]]:
    targets: list[tuple[str, Any]] = [(o, None) for o in _outcomes(ds, outcome)]
    if over_time:
        for var in ds.attrs.get("keep", []):
            for k, t in enumerate(ds["keep_time"].values):
                targets.append((f"series_{var}", (k, float(t))))
    return targets


def _values(ds: xr.Dataset, name: str, at: Any, rows: slice) -> np.ndarray:
    da = ds[name].isel(scenario=rows)
    if at is not None:
        da = da.isel(keep_time=at[0])
    return _finite(np.asarray(da.values, dtype=np.float64), name)


def sobol_indices(
    ds: xr.Dataset, outcome: str | None = None, *, over_time: bool = False, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sobol first, total and second order indices with 95 % confidence intervals.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(first and total: policy, outcome, time, input, S1, S1_conf, ST, ST_conf;
        second order: policy, outcome, time, input, other, S2, S2_conf)``; ``time`` is NaN for
        scalar outcomes.
    """
    from SALib.analyze import sobol

    _need(ds, "sobol", "Sobol")
    problem = _problem(ds)
    second = bool(ds.attrs["second_order"])
    names = problem["names"]
    first_rows, second_rows = [], []
    for p, label in enumerate(ds.attrs["policy_labels"]):
        for name, at in _series_targets(ds, outcome, over_time):
            y = _values(ds, name, at, _policy_rows(ds, p))
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                res = sobol.analyze(problem, y, calc_second_order=second, seed=seed)
            time = at[1] if at is not None else np.nan
            for j, inp in enumerate(names):
                first_rows.append(
                    (
                        label,
                        name,
                        time,
                        inp,
                        res["S1"][j],
                        res["S1_conf"][j],
                        res["ST"][j],
                        res["ST_conf"][j],
                    )
                )
                if second:
                    for k in range(j + 1, len(names)):
                        second_rows.append(
                            (
                                label,
                                name,
                                time,
                                inp,
                                names[k],
                                res["S2"][j, k],
                                res["S2_conf"][j, k],
                            )
                        )
    cols = ["policy", "outcome", "time", "input"]
    return (
        pd.DataFrame(first_rows, columns=[*cols, "S1", "S1_conf", "ST", "ST_conf"]),
        pd.DataFrame(second_rows, columns=[*cols, "other", "S2", "S2_conf"]),
    )


def morris_indices(
    ds: xr.Dataset, outcome: str | None = None, *, over_time: bool = False, seed: int = 0
) -> pd.DataFrame:
    """Morris elementary effects (``mu``, ``mu_star`` with its interval, ``sigma``).

    Inputs are scaled to the unit interval, so an effect is per the input's whole range.
    """
    from SALib.analyze import morris

    _need(ds, "morris", "Morris")
    problem = _problem(ds)
    rows = []
    levels = int(ds.attrs.get("levels", 4))
    for p, label in enumerate(ds.attrs["policy_labels"]):
        sl = _policy_rows(ds, p)
        x = np.asarray(ds["unit"].isel(scenario=sl).values)
        for name, at in _series_targets(ds, outcome, over_time):
            y = _values(ds, name, at, sl)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                res = morris.analyze(problem, x, y, num_levels=levels, seed=seed)
            time = at[1] if at is not None else np.nan
            for j, inp in enumerate(problem["names"]):
                rows.append(
                    (label, name, time, inp, res["mu"][j], res["mu_star"][j],
                     res["mu_star_conf"][j], res["sigma"][j])
                )  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["policy", "outcome", "time", "input", "mu", "mu_star", "mu_star_conf", "sigma"],
    )


def _matrix(ds: xr.Dataset, name: str) -> np.ndarray:
    """``(policy, sample)`` values of one per-row array."""
    p, u = int(ds.attrs["n_policies"]), int(ds.attrs["n_samples"])
    return np.asarray(ds[name].values, dtype=np.float64).reshape(p, u)


def robustness(
    ds: xr.Dataset, outcome: str | None = None, *, percentiles: Sequence[float] = (5, 50, 95)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How each policy does across the uncertainty sample.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(per policy: policy, satisficing (share of samples in which every goal is met),
        n; per policy and outcome: policy, outcome, mean, the percentiles, mean_regret,
        max_regret)``. Regret is the gap to the best policy on the same sample row (using the
        outcome's ``sense``).
    """
    labels = list(ds.attrs["policy_labels"])
    goals = list(ds.attrs.get("goals", {}))
    u = int(ds.attrs["n_samples"])
    if goals:
        met = np.all([_matrix(ds, f"goal_{g}_met") == 1 for g in goals], axis=0)
        share = met.mean(axis=1)
    else:
        share = np.full(len(labels), np.nan)
    summary = pd.DataFrame({"policy": labels, "satisficing": share, "n": u})
    rows = []
    for name in _outcomes(ds, outcome):
        m = _matrix(ds, name)
        sense = ds[name].attrs.get("sense", "max")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            best = np.nanmax(m, axis=0) if sense == "max" else np.nanmin(m, axis=0)
            regret = best - m if sense == "max" else m - best
            pct = np.nanpercentile(m, percentiles, axis=1)
            for p, label in enumerate(labels):
                rows.append(
                    (label, name, float(np.nanmean(m[p])), *(float(x) for x in pct[:, p]),
                     float(np.nanmean(regret[p])), float(np.nanmax(regret[p])))
                )  # fmt: skip
    cols = ["policy", "outcome", "mean", *(f"p{q:g}" for q in percentiles)]
    return summary, pd.DataFrame(rows, columns=[*cols, "mean_regret", "max_regret"])


@dataclass(frozen=True)
class PrimResult:
    """A PRIM box: its limits, coverage and density, and the whole peeling trajectory."""

    condition: str
    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    trajectory: pd.DataFrame
    bounds: pd.DataFrame
    share: float
    """The cases of interest's share of the whole sample."""
    threshold: float
    """The density the box was asked for."""

    def box_table(self) -> pd.DataFrame:
        """Each restricted input and what the box keeps of it (a range, or the values kept)."""

        def kept(name: str) -> str:
            lo: Any = self.limits.loc[name, "min"]
            hi: Any = self.limits.loc[name, "max"]
            if isinstance(lo, set | frozenset):
                return ", ".join(sorted(map(str, lo)))
            return f"{float(lo):.4g} to {float(hi):.4g}"

        return pd.DataFrame(
            {"input": list(self.limits.index), "kept": [kept(n) for n in self.limits.index]}
        )

    def summary(self) -> str:
        """One line: the condition, the box's coverage and density, or why there is no box."""
        if self.limits.empty:
            return (
                f"PRIM: {self.condition} in {self.share:.1%} of the runs, and no box of inputs "
                f"reaches a density of {self.threshold:.3f}: no input range concentrates them"
            )
        return (
            f"PRIM box where {self.condition} ({self.share:.1%} of the runs): coverage "
            f"{self.coverage:.3f}, density {self.density:.3f}, mass {self.mass:.3f}"
        )


def _inputs(ds: xr.Dataset) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    for name in [*ds.attrs["uncertainties"], *ds.attrs["levers"]]:
        values = np.asarray(ds[name].values)
        cats = ds[name].attrs.get("categories")
        cols[name] = pd.Categorical(np.asarray(cats, dtype=object)[values]) if cats else values
    return pd.DataFrame(cols)


def prim_boxes(ds: xr.Dataset, outcome: str | None = None, *, threshold: float = 0.8) -> PrimResult:
    """Scenario discovery: the box of inputs in which the cases of interest concentrate.

    The cases of interest are the runs in which some goal is missed, or, with ``outcome``,
    the worst quarter of runs of that outcome (by its ``sense``). The box is the one of
    EMA Workbench's peeling trajectory with the highest coverage whose density is at least
    ``threshold`` (the last one if none is). Where the cases of interest already make up
    ``threshold`` of the whole sample, the whole input space would qualify and say nothing, so
    the density asked for is raised halfway from their share to 1 (``PrimResult.threshold``).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        raise SimdynError("PRIM needs EMA Workbench", hint="pip install 'simdyn[prim]'") from None
    x = _inputs(ds)
    y, condition = _cases(ds, outcome)
    if y.all() or not y.any():
        raise SimdynError(f"PRIM needs both kinds of runs, but {condition} in all or none")
    share = float(np.mean(y))
    if share >= threshold:
        threshold = share + (1.0 - share) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alg = prim.Prim(x, y, threshold=threshold)
        box = alg.find_box()
    traj = box.peeling_trajectory
    ok = traj.index[traj["density"] >= threshold]
    i = int(traj.loc[ok, "coverage"].idxmax()) if len(ok) else int(traj.index[-1])
    lims = box.box_lims[i]
    init = alg.box_init
    restricted = [c for c in lims.columns if not lims[c].equals(init[c])]
    limits = lims[restricted].T.rename(columns={0: "min", 1: "max"})
    return PrimResult(
        condition=condition,
        limits=limits,
        coverage=float(traj.at[i, "coverage"]),
        density=float(traj.at[i, "density"]),
        mass=float(traj.at[i, "mass"]),
        trajectory=traj[["coverage", "density", "mass", "res_dim"]].copy(),
        bounds=init[restricted].T.rename(columns={0: "min", 1: "max"}),
        share=share,
        threshold=threshold,
    )


def _cases(ds: xr.Dataset, outcome: str | None) -> tuple[np.ndarray, str]:
    if outcome is None:
        goals = list(ds.attrs.get("goals", {}))
        if not goals:
            raise SimdynError("the scenario has no goals; choose an --outcome for PRIM")
        met = np.all([np.asarray(ds[f"goal_{g}_met"].values) == 1 for g in goals], axis=0)
        return ~met, "a goal is missed"
    name = _outcomes(ds, outcome)[0]
    v = np.asarray(ds[name].values, dtype=np.float64)
    sense = ds[name].attrs.get("sense", "max")
    if sense == "max":
        cut = float(np.nanpercentile(v, 25))
        return v <= cut, f"{name} <= {cut:.4g} (worst quarter)"
    cut = float(np.nanpercentile(v, 75))
    return v >= cut, f"{name} >= {cut:.4g} (worst quarter)"


@dataclass
class Analysis:
    """The results of :func:`analyze`; each part is ``None`` when it was not computed."""

    sobol: pd.DataFrame | None = None
    sobol_second: pd.DataFrame | None = None
    morris: pd.DataFrame | None = None
    satisficing: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None
    prim: PrimResult | None = None
    notes: list[str] = field(default_factory=list)


def analyze(ds: xr.Dataset, *, method: str | None = None, outcome: str | None = None) -> Analysis:
    """Run one analysis method, or (``method=None``) every method the store's design allows.

    Sobol needs a sobol design, Morris a morris design; robustness always runs; PRIM runs
    when there are inputs and both kinds of cases (and EMA Workbench is installed).
    """
    if method is not None and method not in METHODS:
        import difflib

        close = difflib.get_close_matches(method, METHODS, n=1)
        raise SimdynError(
            f"unknown analysis method {method!r}",
            where="--method",
            hint=f"did you mean {close[0]!r}?" if close else "one of " + ", ".join(METHODS),
        )
    _outcomes(ds, outcome)
    res = Analysis()
    design = ds.attrs["design"]
    if method == "sobol" or (method is None and design == "sobol"):
        res.sobol, res.sobol_second = sobol_indices(ds, outcome, over_time=True)
    if method == "morris" or (method is None and design == "morris"):
        res.morris = morris_indices(ds, outcome, over_time=True)
    if method in (None, "robustness"):
        res.satisficing, res.outcomes = robustness(ds, outcome)
    if method == "prim":
        res.prim = prim_boxes(ds, outcome)
    elif method is None and (ds.attrs["uncertainties"] or ds.attrs["levers"]):
        try:
            res.prim = prim_boxes(ds, outcome)
        except SimdynError as exc:
            res.notes.append(f"PRIM skipped: {exc.what}")
    return res


def format_analysis(res: Analysis) -> str:
    """The analysis as plain-text tables (what ``simdyn analyze`` prints)."""
    parts: list[str] = []

    def add(title: str, frame: pd.DataFrame | None) -> None:
        if frame is not None and len(frame):
            shown = frame[frame["time"].isna()].drop(columns="time") if "time" in frame else frame
            parts.append(f"{title}\n{shown.to_string(index=False, float_format=_fmt)}")

    add("Sobol indices (95 % intervals)", res.sobol)
    add("Sobol second-order indices", res.sobol_second)
    add("Morris elementary effects", res.morris)
    add("Robustness: share of samples with every goal met", res.satisficing)
    add(
        "Outcomes per policy (percentiles over the sample; regret vs the best policy)", res.outcomes
    )
    if res.prim is not None:
        p = res.prim
        box = "" if p.limits.empty else "\n" + p.box_table().to_string(index=False)
        parts.append(p.summary() + box)
    parts.extend(res.notes)
    return "\n\n".join(parts)


def _fmt(x: float) -> str:
    return f"{x:.4g}"
