"""Allocation churn of the numpy backend: time per run against chunk size, with CPU split.

Run on demand, not as a test::

    python benchmarks/bench_churn.py [--quick] [--label NAME] [--json OUT.json]

Medians of ``--repeat`` runs (the machine is shared, so medians, not best-of) of
``learning_org`` and ``sir`` at 10,000 scenarios, Euler and RK4, for several chunk sizes, with
user and system CPU seconds (system time is mostly page faults of numpy temporaries). With
``--write`` it replaces the "Allocation churn" section of ``benchmarks/RESULTS-engine.md``
with the JSON files given by ``--compare`` (before/after tables, side by side).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import simdyn

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-engine.md"
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
    simdyn.simulate(model, params=params, chunk_size=chunk, save_per=STOP[name], **kw)
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
    text = (
        RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Engine benchmark results\n"
    )
    block = f"{BEGIN}\n{section.strip()}\n{END}\n"
    if BEGIN in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 scenarios, 3 repeats")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--chunks", default="512,1024,2048,4096,8192")
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
    n, repeat = (1000, 3) if args.quick else (args.n, args.repeat)
    rows = measure(n, [int(c) for c in args.chunks.split(",")], repeat)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
