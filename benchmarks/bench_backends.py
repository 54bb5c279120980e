"""Backends benchmark: simdyn numpy vs compiled vs a hand-written numba kernel, PySD and solve_ivp.

Run on demand (``make bench``), not as a test::

    python benchmarks/bench_backends.py [--sizes 1,1000,10000,100000] [--big] [--repeats 3]
    python benchmarks/bench_backends.py --adaptive-only --adaptive-models sir,learning_org
    python benchmarks/bench_backends.py --million [--sizes 10000,1000000]

Models: teacup, SIR, workforce20 (``models/workforce20.toml``: 22 variables, two lookups, SMTH1,
DELAY3, STEP) and the built-in ``learning_org``; the first three also as Vensim text
(``models/*.mdl``) for PySD. Before timing, every engine's trajectories are checked against
simdyn's numpy backend. Every figure is the median of ``--repeats`` runs measured side by side
in this process (compile time excluded and reported apart). Writes
``benchmarks/RESULTS-backends.md`` and ``benchmarks/backends.png``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

import simdyn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import handwritten  # noqa: E402

RESULTS = HERE / "RESULTS-backends.md"
PLOT = HERE / "backends.png"
MILLION = HERE / "RESULTS-million.md"
MODELS = {
    "teacup": ("teacup", "teacup.mdl", ("characteristic_time", 5.0, 20.0)),
    "sir": ("sir", "sir.mdl", ("contact_rate", 0.2, 0.8)),
    "workforce20": (
        str(HERE / "models" / "workforce20.toml"),
        "workforce20.mdl",
        ("arrival_rate", 50.0, 90.0),
    ),
    "learning_org": ("learning_org", None, ("delegation", 0.2, 0.8)),
}


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def varied(model: str, n: int) -> dict[str, Any]:
    name, lo, hi = MODELS[model][2]
    return {name: np.linspace(lo, hi, n)}


# -- engines -------------------------------------------------------------------------------------
def run_simdyn(model: simdyn.Model, key: str, n: int, method: str, backend: str) -> Any:
    """simdyn on ``n`` scenarios; saving what the hand-written kernel saves, where there is one."""
    save = list(hand_names(key)) if key in ("sir", "workforce20") else None
    return simdyn.simulate(model, params=varied(key, n), method=method, backend=backend, save=save)


def run_hand(model: simdyn.Model, key: str, n: int, method: str) -> np.ndarray:
    g = model.spec.time
    n_steps = round((g.stop - g.start) / g.dt)
    every = round((g.save_per or g.dt) / g.dt)
    values = varied(key, n)[MODELS[key][2][0]]
    rk4 = method == "rk4"
    if key == "sir":
        out = np.empty((n_steps // every + 1, 5, n))
        c = model.constants
        handwritten.sir(
            values,
            np.full(n, c["recovery_time"].value),
            np.full(n, c["initial_infected"].value),
            float(c["population"].value),
            g.dt,
            n_steps,
            every,
            rk4,
            out,
        )
        return out
    consts = np.array(
        [np.full(n, float(model.constants[k].value)) for k in handwritten.WF_CONSTANTS]
    )
    consts[handwritten.WF_CONSTANTS.index("arrival_rate")] = values
    out = np.empty((n_steps // every + 1, len(handwritten.WF_SAVED), n))
    handwritten.workforce(consts, g.dt, n_steps, every, rk4, out)
    return out


def hand_names(key: str) -> tuple[str, ...]:
    if key == "sir":
        return ("susceptible", "infected", "recovered", "infection", "recovery")
    return handwritten.WF_SAVED


def pysd_model(mdl: str) -> Any:
    import shutil
    import tempfile

    import pysd

    # PySD writes its translation beside the .mdl file: translate a copy in a scratch folder
    copy = Path(tempfile.mkdtemp(prefix="simdyn-bench-")) / mdl
    shutil.copy(HERE / "models" / mdl, copy)
    return pysd.read_vensim(str(copy))


def pysd_per_run(pm: Any, key: str, runs: int) -> float:
    name = MODELS[key][2][0]
    values = np.linspace(MODELS[key][2][1], MODELS[key][2][2], runs)

    def loop() -> None:
        for v in values:
            pm.run(params={name: float(v)}, progress=False)

    return median_time(loop, 3) / runs


def solve_ivp_per_run(
    model: simdyn.Model, runs: int, rtol: float, atol: float
) -> tuple[float, Any]:
    """One scipy ``solve_ivp`` RK45 per scenario on simdyn's generated right-hand side."""
    from scipy.integrate import solve_ivp

    from simdyn.model.compile import to_ir
    from simdyn.model.functions import BindContext

    cm = model.compile()
    g = model.spec.time
    program = to_ir(model.spec)
    arrays = {
        c.name: np.broadcast_to(np.asarray(model.constants[c.name].value, float), c.shape).reshape(
            *c.shape, 1
        )
        for c in program.constants
    }
    ctx = BindContext(
        n_scenarios=1,
        dim_sizes=cm.dim_sizes,
        network=None,
        teams=None,
        seed=np.random.SeedSequence(0),
        scenarios=slice(0, 1),
    )
    bound = cm.bind(arrays, 1, dt=g.dt, start=g.start, stop=g.stop, ctx=ctx)
    times = np.arange(g.start, g.stop + 1e-9, g.save_per or g.dt)

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(bound.rhs(t, t, y.reshape(-1, 1))).ravel()

    result: list[Any] = []

    def loop() -> None:
        for _ in range(runs):
            result.append(
                solve_ivp(
                    fun,
                    (g.start, g.stop),
                    bound.y0.ravel(),
                    method="RK45",
                    t_eval=times,
                    rtol=rtol,
                    atol=atol,
                )
            )

    return median_time(loop, 3) / runs, result[-1]


# -- checks ----------------------------------------------------------------------------------------
def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-9)))


def check_agreement(key: str, model: simdyn.Model, pm: Any) -> dict[str, float]:
    """Largest relative difference of each engine from simdyn numpy (euler, a few scenarios)."""
    ref = run_simdyn(model, key, 4, "euler", "numpy")
    got: dict[str, float] = {}
    comp = run_simdyn(model, key, 4, "euler", "compiled")
    got["compiled"] = max(
        rel_diff(comp[v].values, ref[v].values) for v in ref.data_vars if "time" in ref[v].dims
    )
    if key in ("sir", "workforce20"):
        for method in ("euler", "rk4"):
            r = run_simdyn(model, key, 4, method, "numpy")
            hand = run_hand(model, key, 4, method)
            got[f"hand-written {method}"] = max(
                rel_diff(hand[:, i], r[v].values) for i, v in enumerate(hand_names(key))
            )
    if pm is not None:
        df = pm.run(progress=False)
        one = run_simdyn(model, key, 1, "euler", "numpy")
        model_default = simdyn.simulate(model, method="euler", backend="numpy")
        worst = 0.0
        for col in df.columns:
            v = col.replace(" ", "_").lower()
            if v in model_default.data_vars and "time" in model_default[v].dims:
                worst = max(worst, rel_diff(model_default[v].values[:, 0], df[col].values))
        got["PySD"] = worst
        del one
    return got


# -- the measurements --------------------------------------------------------------------------
def measure(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {
        "agreement": {},
        "compile_s": {},
        "pysd_per_run": {},
        "ivp_per_run": {},
    }
    sizes = [int(s) for s in args.sizes.split(",")]
    for key, (source, mdl, _) in MODELS.items():
        model = simdyn.load_model(source)
        pm = pysd_model(mdl) if (mdl and not args.no_pysd) else None
        kernel = model.kernel()
        for method in ("euler", "rk4"):  # compile (or load) each method's driver
            run_simdyn(model, key, 1, method, "compiled")
        extra["compile_s"][key] = (kernel.compile_seconds, kernel.from_cache)
        if key in ("sir", "workforce20"):
            run_hand(model, key, 2, "euler")  # compile the hand-written kernel
        extra["agreement"][key] = check_agreement(key, model, pm)
        if pm is not None:
            extra["pysd_per_run"][key] = pysd_per_run(pm, key, args.pysd_runs)
        extra["ivp_per_run"][key] = solve_ivp_per_run(model, 5, 1e-6, 1e-9)[0]
        for method in ("euler", "rk4"):
            for n in sizes:
                if key == "learning_org" and n > 10_000 and not args.big:
                    continue
                reps = args.repeats if n <= 10_000 else max(1, args.repeats // 2)
                row: dict[str, Any] = {"model": key, "method": method, "n": n}
                for backend in ("numpy", "compiled"):
                    row[backend] = median_time(
                        partial(run_simdyn, model, key, n, method, backend), reps
                    )
                if key in ("sir", "workforce20"):
                    row["hand"] = median_time(partial(run_hand, model, key, n, method), reps)
                rows.append(row)
                print(fmt_row(row, extra), flush=True)
    extra["adaptive"] = adaptive(args)
    held = simdyn.load_model("learning_org")
    extra["learning_org_single"] = median_time(
        partial(simdyn.simulate, held, method="rk4", backend="compiled"), args.repeats
    )
    return rows, extra


def adaptive(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per-scenario dopri5 on a batch of 1,000 (numpy and compiled backends) against a loop of
    solve_ivp RK45 runs, all at rtol 1e-6, atol 1e-9; compile time apart."""
    out = []
    for key in args.adaptive_models.split(","):
        model = simdyn.load_model(MODELS[key][0])
        n = 1000
        row: dict[str, Any] = {"model": key}
        for backend in ("numpy", "compiled"):
            batch = partial(
                simdyn.simulate,
                model,
                params=varied(key, n),
                method="dopri5",
                rtol=1e-6,
                atol=1e-9,
                backend=backend,
            )
            batch()  # compile (or load) the kernel, outside the timing
            row[f"{backend}_per_scenario"] = median_time(batch, max(1, args.repeats // 2)) / n
        row["ivp_per_run"], sol = solve_ivp_per_run(model, 5, 1e-6, 1e-9)
        ours = simdyn.simulate(model, method="dopri5", rtol=1e-6, atol=1e-9, backend="compiled")
        first = model.compile().stocks[0].name
        row["diff"] = rel_diff(ours[first].values[:, 0], sol.y[0])
        out.append(row)
        print(row, flush=True)
    return out


def fmt_row(row: dict[str, Any], extra: dict[str, Any]) -> str:
    n = row["n"]
    hand = row.get("hand")
    best = min(row["numpy"], row["compiled"])
    pysd = extra["pysd_per_run"].get(row["model"])
    cells = [
        row["model"],
        row["method"],
        f"{n:,}",
        f"{row['numpy']:.4f}",
        f"{row['compiled']:.4f}",
        f"{hand:.4f}" if hand else "–",
        f"{hand / row['compiled']:.2f}" if hand else "–",
        f"{hand / row['numpy']:.2f}" if hand else "–",
        f"{1e6 * best / n:.2f}",
        f"{pysd * n / best:,.0f}" if pysd and row["method"] == "euler" else "–",
        f"{extra['ivp_per_run'][row['model']] * n / best:,.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| model | method | scenarios | numpy s | compiled s | hand-written s | compiled vs hand | "
    "numpy vs hand | µs / scenario (best) | × PySD loop | × solve_ivp loop |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def versions() -> str:
    parts = [f"simdyn {simdyn.__version__}", f"numpy {np.__version__}", f"numba {version('numba')}"]
    parts += [f"scipy {version('scipy')}", f"python {platform.python_version()}"]
    try:
        parts.append(f"pysd {version('pysd')}")
    except Exception:
        parts.append("pysd not installed")
    load = os.getloadavg()
    return ", ".join(parts) + f"; {os.cpu_count()} cores, load average {load[0]:.1f} at the start"


def plot(rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), sharex=True)
    for col, key in enumerate(MODELS):
        for r, method in enumerate(("euler", "rk4")):
            ax = axes[r, col]
            sel = [x for x in rows if x["model"] == key and x["method"] == method]
            ns = np.array([x["n"] for x in sel])
            for label, field, style in (
                ("simdyn numpy", "numpy", "o-"),
                ("simdyn compiled", "compiled", "s-"),
                ("hand-written numba", "hand", "^--"),
            ):
                if sel and field in sel[0]:
                    ax.loglog(ns, [1e6 * x[field] / x["n"] for x in sel], style, label=label)
            if method == "euler" and key in extra["pysd_per_run"]:
                ax.axhline(
                    1e6 * extra["pysd_per_run"][key], color="grey", ls=":", label="PySD (loop)"
                )
            ax.axhline(
                1e6 * extra["ivp_per_run"][key],
                color="tab:red",
                ls="-.",
                lw=0.8,
                label="solve_ivp RK45 (loop)",
            )
            ax.set_title(f"{key}, {method}")
            ax.grid(True, which="both", alpha=0.3)
            if col == 0:
                ax.set_ylabel("µs per scenario")
            if r == 1:
                ax.set_xlabel("scenarios in the batch")
    legend: dict[str, Any] = {}  # every engine once, from whichever panel shows it
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=9)
    fig.suptitle(f"Time per scenario (median of repeats; {os.cpu_count()}-core machine)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(PLOT, dpi=90)


def write(rows: list[dict[str, Any]], extra: dict[str, Any], head: str, elapsed: float) -> None:
    lines = [
        "# Backends benchmark",
        "",
        f"`python benchmarks/bench_backends.py` ({elapsed / 60:.1f} min). {head}.",
        "The machine is shared with other jobs: figures are medians of repeats on a loaded machine.",
        'Ratios are measured side by side in one run; "compiled vs hand" is hand-written time / ',
        'compiled time (1.0 = as fast as the hand-written kernel), "× PySD loop" and "× solve_ivp loop"',
        "are per-scenario speed-ups of the faster simdyn backend over a loop of single runs.",
        "On sir and workforce20 simdyn saves what the hand-written kernel saves (all of sir's",
        "variables, 7 of workforce20's); on teacup and learning_org it saves every variable.",
        "",
        "## Agreement before timing (largest relative difference from simdyn numpy)",
        "",
        "Relative to max(|numpy value|, 1e-9) at each saved point. The compiled kernel calls the C",
        "library's exp/log/power, numpy its own vectorized loops, which can differ in the last bit;",
        "a variable that is a difference of large terms shows that as a larger relative difference",
        "where it nears zero.",
        "",
    ]
    for key, got in extra["agreement"].items():
        lines.append(f"- {key}: " + ", ".join(f"{k} {v:.1e}" for k, v in got.items()))
    lines += [
        "",
        "## Compile time of the compiled backend (the kernel with its Euler and RK4 drivers, "
        "first use; 'cached' = loaded from disk)",
        "",
    ]
    for key, (secs, cached) in extra["compile_s"].items():
        lines.append(f"- {key}: {secs:.1f} s{' (cached)' if cached else ''}")
    lines += ["", "## Throughput", "", HEADER, *(fmt_row(r, extra) for r in rows), ""]
    lines += [
        "PySD per run: "
        + ", ".join(f"{k} {1e3 * v:.1f} ms" for k, v in extra["pysd_per_run"].items())
    ]
    lines += [
        "solve_ivp RK45 per run: "
        + ", ".join(f"{k} {1e3 * v:.1f} ms" for k, v in extra["ivp_per_run"].items())
    ]
    lines += [
        "",
        "## Per-scenario adaptive stepping (dopri5 batch of 1,000 vs solve_ivp loop, rtol 1e-6, atol 1e-9)",
        "",
        "Max rel. diff: the compiled backend's first stock against solve_ivp RK45 on one scenario",
        "(it takes scipy's steps, so the difference is rounding).",
        "",
    ]
    lines += [
        "| model | numpy ms / scenario | compiled ms / scenario | solve_ivp ms / run | solve_ivp / compiled | max rel. diff |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for a in extra["adaptive"]:
        lines.append(
            f"| {a['model']} | {1e3 * a['numpy_per_scenario']:.3f} | {1e3 * a['compiled_per_scenario']:.3f} | {1e3 * a['ivp_per_run']:.2f} | {a['ivp_per_run'] / a['compiled_per_scenario']:.0f}x | {a['diff']:.1e} |"
        )
    lines += [
        "",
        f"A single `learning_org` scenario, RK4, compiled: {1e3 * extra['learning_org_single']:.1f} ms (compile time apart).",
        "",
    ]
    lo = [r for r in rows if r["model"] == "learning_org" and r["method"] == "rk4"]
    if lo:
        big = max(lo, key=lambda r: r["n"])
        est = big["compiled"] * 1_000_000 / big["n"]
        lines.append(
            f"`learning_org` 10^6 scenarios x 60 months RK4 compiled: extrapolated linearly from {big['n']:,} scenarios ({big['compiled']:.2f} s): {est / 60:.1f} min."
        )
    lines += ["", "![time per scenario](backends.png)", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


#: the outcomes a learning_org sweep saves (``--million``)
MILLION_SAVE = ("market_share", "cumulative_output", "skill_stock", "backlog", "engagement")


def million(args: argparse.Namespace) -> str:
    """learning_org, RK4, 60 months: 10^6 scenarios saving a few outcomes, timed at ``--sizes``.

    Runs the largest size asked for (default 10^5, or 10^6 itself) and extrapolates linearly to
    10^6 from each size; also reports what saving every variable would need in memory.
    """
    model = simdyn.load_model("learning_org")
    kernel = model.kernel()
    simdyn.simulate(model, method="rk4", backend="compiled")  # compile (or load) RK4's driver
    compile_s = kernel.compile_seconds
    g = model.spec.time
    n_saved = round((g.stop - g.start) / (g.save_per or g.dt)) + 1
    every = kernel.saved_rows(list(kernel.program.observed))
    lines = [
        f"`learning_org`, RK4, {g.stop - g.start:g} months (dt {g.dt}, {n_saved} saved times), "
        f"compiled (kernel ready in {compile_s:.1f} s, from cache: {kernel.from_cache}), "
        f"saving {len(MILLION_SAVE)} outcomes ({', '.join(MILLION_SAVE)}):",
        "",
    ]
    for n in [int(s) for s in args.sizes.split(",")]:
        params = {"delegation": np.linspace(0.2, 0.8, n)}
        run = partial(simdyn.simulate, model, params=params, method="rk4", save=list(MILLION_SAVE))
        cpu0 = time.process_time()
        reps = args.repeats if n <= 10_000 else 1
        sec = median_time(run, reps)
        cpu = (time.process_time() - cpu0) / reps  # CPU seconds of all threads
        cores = os.cpu_count() or 1
        lines.append(
            f"- {n:,} scenarios: {sec:.2f} s wall ({1e6 * sec / n:.1f} µs / scenario), "
            f"{cpu:.2f} CPU s; 10^6 extrapolated: {sec * 1e6 / n / 60:.1f} min wall here, "
            f"{cpu * 1e6 / n / cores / 60:.1f} min on {cores} idle cores"
        )
    gib = 1e6 * n_saved * every * 8 / 2**30
    lines.append(
        f"- saving every variable ({every} numbers a saved time) for 10^6 scenarios would need "
        f"{gib:.0f} GiB for the outputs alone: save the outcomes a sweep needs"
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,1000,10000,100000")
    ap.add_argument(
        "--big", action="store_true", help="also learning_org at more than 10^4 scenarios"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pysd-runs", type=int, default=5, help="PySD runs per timing")
    ap.add_argument("--no-pysd", action="store_true")
    ap.add_argument("--adaptive-models", default="sir,workforce20,learning_org")
    ap.add_argument(
        "--adaptive-only",
        action="store_true",
        help="only the dopri5 comparison, printed (RESULTS-backends.md is left as it is)",
    )
    ap.add_argument(
        "--million",
        action="store_true",
        help="only learning_org RK4 saving a few outcomes at --sizes (default 10^4,10^6), "
        "each size extrapolated to 10^6 scenarios; writes RESULTS-million.md",
    )
    args = ap.parse_args()
    if args.million:
        if args.sizes == ap.get_default("sizes"):
            args.sizes = "10000,1000000"
        text = f"# learning_org at 10^6 scenarios\n\n`python benchmarks/bench_backends.py --million --sizes {args.sizes}`. {versions()}\n\n{million(args)}\n"
        MILLION.write_text(text, encoding="utf-8")
        print(text)
        return
    head = versions()
    print(head)
    if args.adaptive_only:
        adaptive(args)
        return
    print(HEADER)
    t0 = time.perf_counter()
    rows, extra = measure(args)
    write(rows, extra, head, time.perf_counter() - t0)
    plot(rows, extra)
    print(f"wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()
