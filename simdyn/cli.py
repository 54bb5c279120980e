"""The ``simdyn`` command line: a thin adapter over :mod:`simdyn.scenario` and :mod:`simdyn.report`.

Each command parses its arguments, merges overrides (model defaults < scenario file < variant <
``--set`` < ``--method``), calls one library function and turns a
:class:`~simdyn.errors.SimdynError` into a one-line message on stderr with exit code 2.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import simdyn
from simdyn._files import read_input_text
from simdyn._lazy import lazy_module
from simdyn._limits import memory_budget
from simdyn.errors import SimdynError

if TYPE_CHECKING:
    from simdyn import report, scenario
else:  # imported when a command first uses them: `simdyn --help` stays fast
    report = lazy_module("simdyn.report")
    scenario = lazy_module("simdyn.scenario")

__all__ = ["EXIT_BAD_INPUT", "EXIT_RUN_FAILED", "cli", "main"]

EXIT_BAD_INPUT = 2
"""Exit code for a mistake in the input (the same code click uses for usage errors)."""

EXIT_RUN_FAILED = 3
"""Exit code when the output was written but at least one run went non-finite."""


class _Progress:
    """A click progress bar over runs, created when the number of runs is known."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        text = f"simulating {label}" if done < total else "writing report"
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=text, file=sys.stderr)
            self.bar.__enter__()
        self.bar.label = text
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextmanager
def _user_errors() -> Iterator[None]:
    """Report a :class:`SimdynError` (or an unwritable output) as one line and exit 2."""
    try:
        yield
    except SimdynError as exc:
        click.echo(" ".join(str(exc).split("\n")), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"{where}{exc.strerror or exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)


def _is_model_file(path: Path) -> bool:
    """A model file has a [model] table; a scenario names its model with a string."""
    try:
        return isinstance(tomllib.loads(read_input_text(path)).get("model"), dict)
    except (SimdynError, tomllib.TOMLDecodeError):
        return False  # the scenario loader reports the problem with its location


def _overrides(sets: Sequence[str], method: str | None) -> dict[str, Any]:
    merged = scenario.parse_assignments(sets)
    if method is not None:
        merged["time.method"] = method
    return merged


def _quiet(ctx: click.Context, quiet: bool) -> bool:
    return quiet or bool(ctx.find_root().params.get("quiet"))


_scenario_files = click.argument(
    "scenario_files",
    metavar="SCENARIO...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
)
_set_option = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario value, e.g. --set demand=1.2, --set time.stop=24, "
    "--set style=facilitative. Wins over the file and its variants. Repeatable.",
)
_method_option = click.option(
    "--method",
    metavar="M",
    help="Integration method (euler, rk2, rk4, RK45, …); same as --set time.method=M.",
)
_quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
_strict_units_option = click.option(
    "--strict-units",
    is_flag=True,
    help="Treat a unit inconsistency in a model as an error (default: print a warning).",
)
_backend_option = click.option(
    "--backend",
    type=click.Choice(["auto", "numpy", "compiled"]),
    default="auto",
    show_default=True,
    help="numpy, compiled (numba; simdyn[fast]) or auto (compiled for large batches).",
)


def _warn_units(sources: Sequence[Path], sets: Sequence[str], strict: bool) -> None:
    """Print the unit warnings of the models the scenario files use (raise if ``strict``)."""
    for source in sources:
        try:
            if _is_model_file(source):
                issues = simdyn.load_model(source).unit_issues()
            else:
                loaded = scenario.load_scenario(source, overrides=_overrides(sets, None))
                issues = scenario.unit_issues(loaded)
        except SimdynError:
            continue  # the run or check that follows reports it, located
        except OSError:
            continue
        if strict and issues:
            raise issues[0].error()
        for issue in issues:
            click.echo(f"warning: {issue.message}", err=True)


_memory_option = click.option(
    "--max-memory",
    metavar="SIZE",
    help="Memory budget, e.g. 2G or 512M (default: what the machine has available). A run "
    "estimated to need more is refused before it starts.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="simdyn", prog_name="simdyn")
@_quiet_option
def cli(quiet: bool) -> None:
    """simdyn: system-dynamics scenarios for learning organizations.

    Run a scenario file and get results, plots and a goals report:

        simdyn run scenarios/step_plan.toml --out runs/plan
    """


@cli.command()
@click.argument(
    "scenario_file", metavar="[SCENARIO]", required=False, type=click.Path(path_type=Path)
)
@click.option(
    "--out",
    metavar="DIR",
    help="Output folder (default: runs/<scenario name>). Replaced only when the run is complete, "
    "and only if simdyn wrote it (see docs/cli.md).",
)
@_set_option
@_method_option
@_backend_option
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME",
    help="Run only this variant ('base' for the scenario without variants). Repeatable.",
)
@_strict_units_option
@_memory_option
@_quiet_option
@click.pass_context
def run(
    ctx: click.Context,
    scenario_file: Path | None,
    out: str | None,
    sets: tuple[str, ...],
    method: str | None,
    backend: str,
    variants: tuple[str, ...],
    strict_units: bool,
    max_memory: str | None,
    quiet: bool,
) -> None:
    """Run SCENARIO (default: the built-in step-plan scenario) and write its report.

    The output folder holds results.nc, timeseries.csv, goals.csv, PNG plots and report.html.
    """
    source = scenario_file if scenario_file is not None else scenario.DEFAULT_SCENARIO
    target = out if out is not None else str(Path("runs") / source.stem)
    with simdyn.use_backend(backend):
        _report(
            [source], target, sets, method, variants, _quiet(ctx, quiet), strict_units, max_memory
        )


@cli.command()
@_scenario_files
@click.option(
    "--out",
    metavar="DIR",
    default=str(Path("runs") / "compare"),
    show_default=True,
    help="Output folder (replaced only if simdyn wrote it).",
)
@_set_option
@_method_option
@_strict_units_option
@_backend_option
@_memory_option
@_quiet_option
@click.pass_context
def compare(
    ctx: click.Context,
    scenario_files: tuple[Path, ...],
    out: str,
    sets: tuple[str, ...],
    method: str | None,
    strict_units: bool,
    backend: str,
    max_memory: str | None,
    quiet: bool,
) -> None:
    """Run several scenario files (with their variants) side by side in one report."""
    with simdyn.use_backend(backend):
        _report(
            list(scenario_files),
            out,
            sets,
            method,
            (),
            _quiet(ctx, quiet),
            strict_units,
            max_memory,
        )


def _report(
    sources: Sequence[Path],
    out: str,
    sets: Sequence[str],
    method: str | None,
    variants: Sequence[str],
    quiet: bool,
    strict_units: bool = False,
    max_memory: str | None = None,
) -> None:
    progress = _Progress(enabled=not quiet)
    with _user_errors(), memory_budget(max_memory):
        _warn_units(sources, sets, strict_units)
        try:
            path = report.report_scenarios(
                list(sources),
                out=out,
                overrides=_overrides(sets, method),
                variants=list(variants) or None,
                progress=progress,
            )
        finally:
            progress.close()
    if not quiet:
        click.echo(f"report: {path}")
    failures = report.failed_runs_in(path.parent)
    for line in failures:
        click.echo(f"run failed: {line}", err=True)
    if failures:
        sys.exit(EXIT_RUN_FAILED)


@cli.command()
@_scenario_files
@_set_option
@_strict_units_option
@_quiet_option
@click.pass_context
def validate(
    ctx: click.Context,
    scenario_files: tuple[Path, ...],
    sets: tuple[str, ...],
    strict_units: bool,
    quiet: bool,
) -> None:
    """Check scenario files against their models without running them (model files too).

    Every file is checked; each problem is printed as one line, and the exit code is 2 if
    any file has one. Unit inconsistencies are warnings (errors with --strict-units).
    """
    failed = False
    for path in scenario_files:
        try:
            with _user_errors():
                if _is_model_file(path):
                    model = simdyn.load_model(path)
                    model.check()
                    summary = f" (model {model.name})"
                else:
                    checked = scenario.validate_scenario(path, overrides=_overrides(sets, None))
                    n = len(checked.variants)
                    summary = f" (base + {n} variant{'s' if n != 1 else ''})" if n else ""
                    if _has_sweep(path):
                        summary += _validate_sweep(path, sets)
                _warn_units([path], sets, strict_units)
        except SystemExit:
            failed = True
            continue
        if not _quiet(ctx, quiet):
            click.echo(f"ok: {path}{summary}")
    if failed:
        sys.exit(EXIT_BAD_INPUT)


def _has_sweep(path: Path) -> bool:
    try:
        return "sweep" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def _validate_sweep(path: Path, sets: Sequence[str]) -> str:
    """Check a scenario's [sweep] table against its model; a short summary of its size."""
    from simdyn import sweep
    from simdyn.sweep.plan import plan_sweep

    plan = plan_sweep(sweep.load_sweep(path, overrides=scenario.parse_assignments(sets)))
    return f" (sweep of {plan.design.n_rows:,} scenarios)"


@cli.command()
def models() -> None:
    """List the built-in models."""
    with _user_errors():
        click.echo(report.list_models_text())


@cli.command()
@click.argument("model")
def show(model: str) -> None:
    """Describe MODEL (a built-in name or a model file): variables, units, styles, interventions."""
    with _user_errors():
        click.echo(report.describe_model(model))


@cli.command()
@click.argument("model_file", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the time series here (first column Time).")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder: results.nc and timeseries.csv.")  # fmt: skip
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a constant (NAME=v1,v2,... runs one scenario per value). Repeatable.")  # fmt: skip
@_method_option
@click.option("--scenarios", type=click.IntRange(min=1), default=1, show_default=True, help="Number of scenarios to run (random functions draw per scenario).")  # fmt: skip
@click.option("--seed", type=int, default=None, help="Seed for random functions.")
def simulate(
    model_file: Path,
    csv_out: Path | None,
    out: Path | None,
    sets: tuple[str, ...],
    method: str | None,
    scenarios: int,
    seed: int | None,
) -> None:
    """Run MODEL (a TOML or XMILE model file, or a built-in name) at its own time settings."""
    from simdyn import model_run

    with _user_errors():
        model, ds = model_run.simulate_model_file(
            model_file, method=method, sets=sets, scenarios=scenarios, seed=seed
        )
        model_run.write_outputs(model, ds, csv=csv_out, out=out)


@cli.command()
@click.argument("model_file", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--xmile", "xmile_out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="XMILE file to write.")  # fmt: skip
@click.option("--preset", "presets", multiple=True, metavar="GROUP=NAME", help="Constants take this preset's values, e.g. --preset style=facilitative. Repeatable.")  # fmt: skip
@click.option("--dialect", type=click.Choice(["xmile", "pysd"]), default="xmile", show_default=True, help="pysd: array reductions as SUM(x[dim!]), the form PySD reads.")  # fmt: skip
def export(model_file: Path, xmile_out: Path, presets: tuple[str, ...], dialect: str) -> None:
    """Write MODEL (a built-in name or a model file) as an XMILE 1.0 file."""
    with _user_errors():
        chosen = dict(p.partition("=")[::2] for p in presets)
        simdyn.load_model(str(model_file)).to_xmile(xmile_out, presets=chosen, dialect=dialect)


class _RowProgress:
    """A click progress bar over sweep rows: rows done, rows per second and the ETA."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.first = 0
        self.began = 0.0

    def __call__(self, done: int, total: int) -> None:
        import time

        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=total, label="sweep", file=sys.stderr, show_eta=True, show_pos=True
            )
            self.bar.__enter__()
            self.first, self.done, self.began = done, 0, time.perf_counter()
        rate = (done - self.first) / max(time.perf_counter() - self.began, 1e-9)
        self.bar.label = f"sweep {rate:,.0f} scenarios/s"
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command("sweep")
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The zarr store to create (or to finish with --resume).",
)
@click.option("--workers", type=int, metavar="N", help="Run on N local dask worker processes.")
@click.option("--scheduler", metavar="ADDRESS", help="Run on a dask cluster (tcp://host:8786).")
@click.option("--resume", is_flag=True, help="Finish an interrupted sweep: run the missing chunks.")
@click.option("--chunk", type=int, metavar="K", help="Scenarios per chunk (one batch each).")
@_set_option
@_quiet_option
@click.pass_context
def sweep_command(
    ctx: click.Context,
    scenario_file: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    chunk: int | None,
    sets: tuple[str, ...],
    quiet: bool,
) -> None:
    """Run the [sweep] of SCENARIO into a zarr store (see docs/sweeps.md)."""
    from simdyn import sweep

    progress = _RowProgress(enabled=not _quiet(ctx, quiet))
    with _user_errors():
        if chunk is not None and chunk < 1:
            raise SimdynError(f"--chunk must be at least 1, not {chunk}", where="--chunk")
        spec = sweep.load_sweep(scenario_file, overrides=scenario.parse_assignments(sets))
        try:
            result = sweep.run_sweep(
                spec, out, workers=workers, scheduler=scheduler, resume=resume, chunk=chunk,
                progress=progress,
            )  # fmt: skip
        finally:
            progress.close()
    if not _quiet(ctx, quiet):
        click.echo(
            f"store: {result.store} ({result.n_rows:,} scenarios; {result.rows_run:,} run "
            f"in {result.seconds:.1f} s)"
        )


@cli.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option(
    "--method",
    metavar="M",
    help="sobol, morris, robustness or prim (default: every method the design allows).",
)
@click.option("--outcome", metavar="NAME", help="Analyse only this outcome.")
@click.option(
    "--out",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The sweep report (default: STORE-report.html beside the store).",
)
@click.option(
    "--parquet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also export the experiments and outcomes table as Parquet.",
)
@click.option(
    "--netcdf",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also export the whole store as netCDF.",
)
@_quiet_option
@click.pass_context
def analyze(
    ctx: click.Context,
    store: Path,
    method: str | None,
    outcome: str | None,
    report_path: Path | None,
    parquet: Path | None,
    netcdf: Path | None,
    quiet: bool,
) -> None:
    """Analyse a sweep STORE: print the tables and write the sweep report."""
    from simdyn.sweep import analysis, export_netcdf, export_parquet
    from simdyn.sweep.report import write_report

    with _user_errors():
        ds = analysis.load_results(store)
        result = analysis.analyze(ds, method=method, outcome=outcome)
        target = report_path or store.with_name(f"{store.name.removesuffix('.zarr')}-report.html")
        path = write_report(ds, result, target)
        if parquet is not None:
            export_parquet(store, parquet)
        if netcdf is not None:
            export_netcdf(store, netcdf)
    if not _quiet(ctx, quiet):
        click.echo(analysis.format_analysis(result))
        click.echo(f"report: {path}")


@cli.command()
@click.argument("target", metavar="MODEL|SCENARIO")
@click.option("--stock", metavar="NAME", help="Dominance among the loops through this stock.")
@click.option("--markdown", is_flag=True, help="Print the named loops as a Markdown table.")
@click.option("--all", "show_all", is_flag=True, help="List every loop found, not the first 40.")
def loops(target: str, stock: str | None, markdown: bool, show_all: bool) -> None:
    """Print the feedback loops of MODEL (or of SCENARIO's model) and when each dominates.

    MODEL is a built-in name or a model file (run with its defaults); a scenario file is run
    with its variants. Dominance is computed by the Loops that Matter method (docs/loops.md).
    """
    from simdyn import analysis

    with _user_errors():
        path = Path(target)
        if path.suffix == ".toml" and not _is_model_file(path):
            result = scenario.run_scenario(path)
            runs: list[tuple[str, simdyn.Model, Any]] = [
                (r.name, r.plan.model, r.dataset) for r in result.runs
            ]
        else:
            model = simdyn.load_model(target)
            runs = [(model.name, model, None if markdown else simdyn.simulate(model))]
        if markdown:
            click.echo(analysis.loop_table_markdown(runs[0][1]), nl=False)
            return
        click.echo(analysis.loops_report(runs, stock=stock, limit=None if show_all else 40))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``simdyn`` console script."""
    command: Callable[..., Any] = cli
    command(args=list(argv) if argv is not None else None, prog_name="simdyn")
