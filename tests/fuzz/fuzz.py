"""The fuzz driver: ``python -m tests.fuzz.fuzz --cases 20000`` (``make fuzz``).

Cases rotate over five kinds: an equation simulated through the Python API, a model file
validated by the CLI, a scenario file run by the CLI (results, plots, report), a GraphML
file read, and hostile ``simdyn run`` arguments in a sandbox. Each runs in a forked child
with a CPU-time and an address-space limit (:mod:`tests.fuzz.harness`); the parent first runs
one good case of each kind, so the children start with every module imported. The driver
prints a table of outcomes per kind of case and the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.fuzz import generators as gen
from tests.fuzz.harness import Tally, run_case

SECONDS = 30.0
"""CPU seconds a case may take."""
MEMORY = 3 * 2**30
"""Address space a case may map beyond what it inherits from the parent."""


def _equation_case(rng: random.Random, _: Path) -> Callable[[], int | None]:
    """An equation simulated through the Python API: exit 3 when a run went non-finite."""
    if rng.random() < 0.5:
        init, flow, aux = (gen.well_formed(rng, 0, n) for n in (("a",), ("a", "s", "g"), ("s",)))
    else:
        init, flow, aux = gen.equation(rng), gen.equation(rng), gen.equation(rng)
    method = rng.choice(["euler", "rk4", "RK45", "LSODA", "BDF"])

    def case() -> int:
        import simdyn
        from simdyn.model import Model
        from simdyn.model.loader import spec_from_dict

        spec = spec_from_dict(
            {
                "model": {"name": "fz", "time_units": "month"},
                "time": {"stop": 5, "dt": 0.5},
                "constants": {"a": {"value": 1.0}},
                "stocks": {"s": {"initial": init, "inflows": ["f"]}},
                "flows": {"f": {"equation": flow}},
                "auxiliaries": {"g": {"equation": aux}},
            }
        )
        ds = simdyn.simulate(Model(spec), method=method, params={"a": [0.0, 1.0, -1.0]})
        return 3 if bool((ds["status"].values != 0).any()) else 0

    return case


def _cli(args: list[str], folder: Path) -> Callable[[], int | None]:
    def case() -> int | None:
        from simdyn.cli import main

        os.chdir(folder)
        main(args)
        return 0

    return case


def _model_case(rng: random.Random, folder: Path) -> Callable[[], int | None]:
    (folder / "m.toml").write_text(gen.model_file(rng), encoding="utf-8")
    return _cli(["validate", "m.toml"], folder)


def _scenario_case(rng: random.Random, folder: Path) -> Callable[[], int | None]:
    (folder / "m.toml").write_text(gen.model_file(rng), encoding="utf-8")
    (folder / "s.toml").write_text(gen.scenario_file(rng, "m.toml"), encoding="utf-8")
    return _cli(["run", "s.toml", "--out", "out", "-q"], folder)


def _graph_case(rng: random.Random, folder: Path) -> Callable[[], int | None]:
    path = folder / "g.graphml"
    path.write_text(gen.graphml_file(rng), encoding="utf-8")

    def case() -> None:
        from simdyn.network import read_graphml

        read_graphml(path)

    return case


def _args_case(rng: random.Random, folder: Path) -> Callable[[], int | None]:
    (folder / "m.toml").write_text(
        '[model]\nname = "fz"\ntime_units = "month"\n[time]\nstop = 4\n'
        '[constants.a]\nvalue = 1\n[stocks.s]\ninitial = "1"\n'
    )
    (folder / "s.toml").write_text('model = "m.toml"\n')
    (folder / "notes.txt").write_text("keep")
    (folder / "link").symlink_to(folder / "sub")
    os.mkfifo(folder / "fifo")
    args = gen.cli_args(rng)
    inner = _cli(args, folder)

    def case() -> int | None:
        code = inner()
        if not (folder / "s.toml").is_file() or not (folder / "notes.txt").is_file():
            raise AssertionError(f"simdyn {' '.join(args)} deleted the user's files")
        return code

    return case


KINDS = [_equation_case, _model_case, _scenario_case, _graph_case, _args_case]

_GOOD_MODEL = """\
[model]
name = "warm"
time_units = "month"
[time]
stop = 4
[constants.a]
value = 1
[stocks.s]
initial = "1"
inflows = ["f"]
[flows.f]
equation = "a * s / 10"
[auxiliaries.g]
equation = "DELAY1(s, 1)"
"""


def _warm(root: Path) -> None:
    """Run one good case of each kind in the parent, so the forked children start with every
    module imported (matplotlib, netCDF, networkx, scipy) instead of importing it per case."""
    import simdyn
    from simdyn.cli import main
    from simdyn.model import Model
    from simdyn.model.loader import spec_from_dict
    from simdyn.network import read_graphml

    folder = root / "warm"
    folder.mkdir()
    (folder / "m.toml").write_text(_GOOD_MODEL, encoding="utf-8")
    (folder / "s.toml").write_text('model = "m.toml"\n[variants.v]\nparams.a = 2\n')
    for args in (["validate", "m.toml"], ["run", "s.toml", "--out", "out", "-q"]):
        with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
            main([str(folder / a) if a.endswith(".toml") or a == "out" else a for a in args])
    (folder / "g.graphml").write_text(
        '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
        '<graph edgedefault="undirected"><node id="0"/><node id="1"/>'
        '<edge source="0" target="1"/></graph>\n</graphml>\n',
        encoding="utf-8",
    )
    read_graphml(folder / "g.graphml")
    spec = spec_from_dict(
        {
            "model": {"name": "w", "time_units": "month"},
            "time": {"stop": 2, "dt": 0.5},
            "stocks": {"s": {"initial": "1", "inflows": ["f"]}},
            "flows": {"f": {"equation": "s"}},
        }
    )
    for method in ("euler", "rk4", "RK45", "LSODA", "BDF"):
        simdyn.simulate(Model(spec), method=method)
    shutil.rmtree(folder)


def run_profile(
    cases: int, seed: int = 0, *, scenario_every: int = 1, report_every: int = 0
) -> Tally:
    """Run ``cases`` fuzz cases; ``scenario_every`` thins the slow full-run cases."""
    tally = Tally()
    root = Path(tempfile.mkdtemp(prefix="simdyn-fuzz-"))
    try:
        _warm(root)
        k = 0
        while tally.cases < cases:
            kind = KINDS[k % len(KINDS)]
            k += 1
            if kind is _scenario_case and (k // len(KINDS)) % scenario_every:
                continue
            rng = random.Random(f"{seed}-{k}")
            folder = root / f"c{k}"
            folder.mkdir()
            case = kind(rng, folder)
            name = kind.__name__.strip("_").removesuffix("_case")
            label = f"{kind.__name__} seed={seed}-{k}"
            run_case(case, label, tally, seconds=SECONDS, memory=MEMORY, kind=name)
            shutil.rmtree(folder, ignore_errors=True)
            if report_every and tally.cases % report_every == 0:
                print(tally.line(), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    ns = parser.parse_args()
    import simdyn.cli  # noqa: F401  (imported once, before the forks)

    start = time.monotonic()
    tally = run_profile(ns.cases, ns.seed, report_every=1000)
    print(tally.line())
    print(tally.table())
    print(f"wall time {time.monotonic() - start:.0f} s (seed {ns.seed})")
    for example in tally.examples:
        print("---", example, sep="\n")
    sys.exit(1 if tally.bad else 0)


if __name__ == "__main__":
    main()
