"""Allocation churn of the numpy backend: plain numpy against scratch arrays, and the hand kernel.

Run by ``make bench``, not as a test::

    python benchmarks/bench_churn.py [--quick] [--write] [--json OUT.json]

In one process, run after run interleaved (the machine is shared: medians of ``--repeat``
runs, ratios measured side by side): the numpy backend with ``rhs`` as plain numpy
expressions (a temporary per operation: ``emit_numpy(scratch=False)``) and as ``out=`` calls
into scratch arrays (the default), and for ``sir`` and ``workforce20`` the hand-written numba
kernel of ``bench_backends.py``; ``sir``, ``workforce20`` and ``learning_org`` at 10,000
scenarios, Euler and RK4, at the models' own time settings, for several chunk sizes. Each run
reports wall seconds, CPU seconds (user + system) and minor page faults. ``--write`` replaces
the "Scratch arrays" section of ``benchmarks/RESULTS-engine.md``. ``--compare``, ``--expr`` and
``--start`` write or measure the older "Allocation churn" section (driver, one auxiliary three
ways, start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import simdyn
from simdyn.model import model as model_module
from simdyn.model.compile import compile_model
from simdyn.model.emit.numpy import emit_numpy

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "RESULTS-engine.md"
SCRATCH_BEGIN, SCRATCH_END = "<!-- scratch:begin -->", "<!-- scratch:end -->"
VARIED = {"sir": ("contact_rate", 0.2, 0.8), "learning_org": ("delegation", 0.2, 0.8)}
STOP = {"sir": 40.0, "learning_org": 12.0}
BEGIN, END = "<!-- churn:begin -->", "<!-- churn:end -->"


def one(
    model: simdyn.Model, name: str, method: str, n: int, chunk: int
) -> tuple[float, float, float]:
    """Wall, user and system seconds of one run."""
    key, lo, hi = VARIED[name]
    params = {key: np.linspace(lo, hi, n)}
    kw: dict[str, Any] = {"method": method, "stop": STOP[name], "save": [model.key_outputs[0]]}
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    simdyn.simulate(
        model, params=params, chunk_size=chunk, save_per=STOP[name], backend="numpy", **kw
    )
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return wall, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime


def measure(n: int, chunks: list[int], repeat: int) -> list[dict[str, Any]]:
    rows = []
    for name in ("sir", "learning_org"):
        model = simdyn.load_model(name)
        for method in ("euler", "rk4"):
            one(model, name, method, 2, 2)  # compile, warm up
            for chunk in chunks:
                runs = [one(model, name, method, n, chunk) for _ in range(repeat)]
                wall, user, sys_ = (statistics.median(x) for x in zip(*runs, strict=True))
                steps = round(STOP[name] / model.spec.time.dt)
                rows.append(
                    {
                        "model": name,
                        "method": method,
                        "n": n,
                        "chunk": chunk,
                        "steps": steps,
                        "wall": wall,
                        "user": user,
                        "sys": sys_,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def _compiled(key: str, scratch: bool) -> simdyn.Model:
    """A fresh model whose numpy form has ``rhs`` plain or writing into scratch arrays."""
    import bench_backends

    model = simdyn.load_model(bench_backends.MODELS[key][0])
    emit = partial(emit_numpy, scratch=scratch)
    saved = model_module.compile_model
    model_module.compile_model = partial(compile_model, emit=emit)  # type: ignore[assignment]
    try:
        model.compile()
    finally:
        model_module.compile_model = saved  # type: ignore[assignment]
    return model


def timed(fn: Any) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, all threads) and minor page faults of ``fn()``."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    return wall, cpu, r1.ru_minflt - r0.ru_minflt


def side_by_side(n: int, chunks: list[int], repeat: int) -> list[dict[str, Any]]:
    """Plain and scratch numpy (and the hand kernel where there is one), interleaved."""
    import bench_backends

    rows = []
    for key in ("sir", "workforce20", "learning_org"):
        models = {way: _compiled(key, way == "scratch") for way in ("plain", "scratch")}
        hand = key in ("sir", "workforce20")
        for method in ("euler", "rk4"):
            params = bench_backends.varied(key, n)
            check = [
                simdyn.simulate(
                    m, params=bench_backends.varied(key, 3), method=method, backend="numpy"
                )
                for m in models.values()
            ]
            for v in check[0].data_vars:  # the two forms agree bit for bit before timing
                np.testing.assert_array_equal(check[0][v].values, check[1][v].values)
            if hand:
                bench_backends.run_hand(models["plain"], key, 2, method)  # compile it
            for chunk in chunks:
                runs: dict[str, list[tuple[float, float, int]]] = {"plain": [], "scratch": []}
                if hand:
                    runs["hand"] = []
                for _ in range(repeat):
                    for way, m in models.items():
                        runs[way].append(
                            timed(
                                partial(
                                    simdyn.simulate,
                                    m,
                                    params=params,
                                    method=method,
                                    backend="numpy",
                                    chunk_size=chunk,
                                )
                            )
                        )
                    if hand:
                        runs["hand"].append(
                            timed(partial(bench_backends.run_hand, models["plain"], key, n, method))
                        )
                row: dict[str, Any] = {"model": key, "method": method, "n": n, "chunk": chunk}
                for way, rs in runs.items():
                    wall, cpu, faults = (statistics.median(x) for x in zip(*rs, strict=True))
                    row[way] = {"wall": wall, "cpu": cpu, "minflt": faults}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def scratch_table(rows: list[dict[str, Any]], repeat: int) -> str:
    env = f"{platform.machine()}, Python {sys.version.split()[0]}, numpy {np.__version__}"
    try:
        load = f"load average {os.getloadavg()[0]:.1f} at the end"
    except OSError:  # pragma: no cover - not on every platform
        load = "load unknown"
    lines = [
        "## Scratch arrays (numpy backend)",
        "",
        f"Written by `benchmarks/bench_churn.py --write` ({env}; 2 CPUs shared with other "
        f"jobs, {load}). {rows[0]['n']:,} scenarios at the models' own time settings, every "
        "variable saved; median of "
        f"{repeat} runs, the ways interleaved run by run in one process. *plain*: `rhs` as numpy "
        "expressions (a temporary per operation, the form before); *scratch*: `rhs` as `out=` "
        "calls into scratch arrays allocated once per chunk width (the default; results "
        "bit-identical, checked before timing); *hand*: the hand-written numba kernel of "
        "`bench_backends.py` (all cores). Wall s, CPU s (user + system) and minor page faults "
        "(thousands) per run; speed-up = plain CPU / scratch CPU; vs hand = hand wall / numpy "
        "wall (1.0 = as fast as the hand kernel).",
        "",
        "| model | method | chunk | plain wall s (CPU s, faults k) | scratch wall s (CPU s, "
        "faults k) | CPU speed-up | hand wall s | plain vs hand | scratch vs hand |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        p, s = r["plain"], r["scratch"]
        h = r.get("hand")
        cells = [
            r["model"],
            r["method"],
            f"{r['chunk']:,}",
            f"{p['wall']:.3f} ({p['cpu']:.2f}, {p['minflt'] / 1e3:.1f})",
            f"{s['wall']:.3f} ({s['cpu']:.2f}, {s['minflt'] / 1e3:.1f})",
            f"{p['cpu'] / s['cpu']:.2f}x",
            f"{h['wall']:.4f}" if h else "–",
            f"{h['wall'] / p['wall']:.2f}" if h else "–",
            f"{h['wall'] / s['wall']:.2f}" if h else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_block(section: str, begin: str, end: str) -> None:
    """Replace the block between ``begin`` and ``end`` in RESULTS-engine.md (or append it)."""
    text = (
        RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Engine benchmark results\n"
    )
    block = f"{begin}\n{section.strip()}\n{end}\n"
    if begin in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


def expressions(repeat: int) -> list[dict[str, Any]]:
    """One auxiliary of generated code, ``v = (p * x + y) / (1 + z)``, three ways.

    Plain numpy (a temporary per operation, as the numpy emitter writes it), ``out=`` into
    buffers allocated once, and numexpr (if installed), for arrays ``(6, chunk)``.
    """
    rows = []
    for chunk in (1024, 2048, 4096, 8192):
        for way, fn, expected in _ways(chunk):
            np.testing.assert_allclose(fn(), expected)
            inner = 2000
            times = []
            for _ in range(repeat):
                t0 = time.process_time()
                for _ in range(inner):
                    fn()
                times.append((time.process_time() - t0) / inner)
            rows.append({"chunk": chunk, "way": way, "us": 1e6 * statistics.median(times)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _ways(chunk: int) -> list[tuple[str, Any, Any]]:
    rng = np.random.default_rng(0)
    x, y, z = (rng.random((6, chunk)) for _ in range(3))
    p = rng.random(chunk)
    buf, buf2 = np.empty((6, chunk)), np.empty((6, chunk))
    expected = (p * x + y) / (1.0 + z)

    def plain() -> Any:
        return (p * x + y) / (1.0 + z)

    def into() -> Any:
        np.multiply(p, x, out=buf)
        buf.__iadd__(y)
        np.add(1.0, z, out=buf2)
        return np.divide(buf, buf2, out=buf)

    ways = [("numpy", plain, expected), ("numpy out=", into, expected)]
    try:
        import numexpr as ne
    except ImportError:  # optional
        return ways
    env = {"p": p, "x": x, "y": y, "z": z}
    ways.append(
        (
            "numexpr",
            lambda: ne.evaluate("(p * x + y) / (1.0 + z)", local_dict=env, out=buf),
            expected,
        )
    )
    return ways


def startup(repeat: int) -> list[dict[str, Any]]:
    """CPU seconds (user + system) of starting the CLI and importing simdyn, as subprocesses."""
    import subprocess

    exe = Path(sys.executable)
    cli = exe.with_name("simdyn")
    commands = {
        "python -c pass": [str(exe), "-c", "pass"],
        "python -c 'import simdyn'": [str(exe), "-c", "import simdyn"],
        "simdyn --version": [str(cli), "--version"],
        "simdyn --help": [str(cli), "--help"],
    }
    rows = []
    for label, cmd in commands.items():
        cpu, wall = [], []
        for _ in range(repeat):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            wall.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        rows.append(
            {"command": label, "cpu": statistics.median(cpu), "wall": statistics.median(wall)}
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(
    before: list[dict[str, Any]], after: list[dict[str, Any]], labels: tuple[str, str]
) -> str:
    key = lambda r: (r["model"], r["method"], r["chunk"])  # noqa: E731
    b = {key(r): r for r in before}
    lines = [
        f"| model | method | chunk | {labels[0]}: wall s (user / sys CPU s) "
        f"| {labels[1]}: wall s (user / sys CPU s) | CPU speed-up |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in after:
        o = b.get(key(r))
        if o is None:
            continue
        lines.append(
            f"| {r['model']} | {r['method']} | {r['chunk']:,} | {o['wall']:.3f} ({o['user']:.2f} / {o['sys']:.2f}) "
            f"| {r['wall']:.3f} ({r['user']:.2f} / {r['sys']:.2f}) "
            f"| {(o['user'] + o['sys']) / (r['user'] + r['sys']):.2f}x |"
        )
    return "\n".join(lines)


def expr_table(rows: list[dict[str, Any]]) -> str:
    ways = list(dict.fromkeys(r["way"] for r in rows))
    by = {(r["chunk"], r["way"]): r["us"] for r in rows}
    lines = [
        "One auxiliary of generated code, `v = (p * x + y) / (1 + z)` on `(6, chunk)` arrays "
        "(CPU µs per evaluation, median): numpy as emitted (a temporary per operation), "
        "`out=` into buffers allocated once, numexpr (its threads' CPU included).",
        "",
        "| chunk | " + " | ".join(ways) + " | numpy / out= |",
        "| ---: | " + " | ".join("---:" for _ in ways) + " | ---: |",
    ]
    for chunk in sorted({r["chunk"] for r in rows}):
        cells = " | ".join(f"{by.get((chunk, w), float('nan')):.1f}" for w in ways)
        ratio = by[(chunk, "numpy")] / by[(chunk, "numpy out=")]
        lines.append(f"| {chunk:,} | {cells} | {ratio:.2f}x |")
    return "\n".join(lines)


def start_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "Start-up, as subprocesses (median; CPU = user + system of the child; wall time is "
        "inflated by the machine's load):",
        "",
        "| command | CPU s | wall s |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| `{r['command']}` | {r['cpu']:.3f} | {r['wall']:.3f} |" for r in rows]
    return "\n".join(lines)


def write(section: str) -> None:
    write_block(section, BEGIN, END)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 scenarios, 1 repeat, one chunk")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--chunks", default="2048,8192")
    ap.add_argument("--write", action="store_true", help="write the table into RESULTS-engine.md")
    ap.add_argument("--old", action="store_true", help="the older chunk-size runs (one saved time)")
    ap.add_argument("--json", type=Path, help="write the measured rows here")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--labels", nargs=2, default=("before", "after"))
    ap.add_argument("--note", default="", help="a sentence for the section (what changed)")
    ap.add_argument("--expr", action="store_true", help="measure one auxiliary three ways")
    ap.add_argument("--start", action="store_true", help="measure start-up CPU time")
    ap.add_argument("--expr-json", type=Path, help="with --compare: rows of --expr to include")
    ap.add_argument("--start-json", type=Path, help="with --compare: rows of --start to include")
    args = ap.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        env = f"{platform.machine()}, Python {sys.version.split()[0]}, numpy {np.__version__}"
        n = after[0]["n"]
        parts = [
            "## Allocation churn (numpy backend)\n\n"
            f"Written by `benchmarks/bench_churn.py` ({env}; 2 CPUs shared with other jobs). "
            f"{n:,} scenarios, one saved time; `sir` {STOP['sir']:g} and `learning_org` "
            f"{STOP['learning_org']:g} time units at the models' dt. Median of "
            f"{args.repeat} runs each; user and system CPU seconds in brackets. {args.note}\n\n"
            + table(before, after, tuple(args.labels))
        ]
        if args.expr_json:
            parts.append(expr_table(json.loads(args.expr_json.read_text())))
        if args.start_json:
            parts.append(start_table(json.loads(args.start_json.read_text())))
        write("\n\n".join(parts))
        return
    if args.expr or args.start:
        rows = expressions(args.repeat) if args.expr else startup(args.repeat)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
        return
    n, repeat = (1000, 1) if args.quick else (args.n, args.repeat)
    chunks = [1024] if args.quick else [int(c) for c in args.chunks.split(",")]
    rows = measure(n, chunks, repeat) if args.old else side_by_side(n, chunks, repeat)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.write and not args.old:
        write_block(scratch_table(rows, repeat), SCRATCH_BEGIN, SCRATCH_END)


if __name__ == "__main__":
    main()
