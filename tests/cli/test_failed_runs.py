"""A run that goes non-finite is a per-run status: the CLI names it and exits 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import simdyn
from simdyn.cli import EXIT_RUN_FAILED, cli

MODEL = """\
[model]
name = "m"
time_units = "month"
[time]
start = 0
stop = 4
dt = 1
[constants.a]
value = 2
[stocks.s]
initial = 1
inflows = ["f"]
[flows.f]
equation = "0.1 * s"
[auxiliaries.g]
equation = "{eq}"
"""


@pytest.mark.parametrize(
    ("eq", "time"),
    [("LN(a - 1)", "0"), ("ARCCOS(a)", "0"), ("1 / (TIME - 2)", "2"), ("1 / 0", "0")],
)
def test_failed_runs_are_named_and_exit_3(tmp_path: Path, eq: str, time: str) -> None:
    (tmp_path / "m.toml").write_text(MODEL.format(eq=eq))
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'model = "m.toml"\n[variants.bad]\nparams.a = 1\n[variants.ok]\nparams.a = 0.5\n'
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "-q"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    bad = [line for line in result.stderr.splitlines() if line.startswith("run failed: ")]
    if eq in ("LN(a - 1)", "ARCCOS(a)"):
        # a = 2 (base) and a = 1 (bad) fail for LN(a-1) at a <= 1 and ARCCOS(a) at a > 1
        assert bad, result.stderr
    else:
        assert len(bad) == 3
    assert result.exit_code == EXIT_RUN_FAILED
    assert all(line.endswith(f"g is not finite at t = {time}") for line in bad)
    assert "Failed runs" in (out / "report.html").read_text()


def test_auxiliary_nan_for_half_the_run_sets_status() -> None:
    from simdyn.model import Model
    from simdyn.model.loader import spec_from_dict

    spec = spec_from_dict(
        {
            "model": {"name": "x", "time_units": "month"},
            "time": {"stop": 10, "dt": 1},
            "stocks": {"s": {"initial": "1"}},
            "auxiliaries": {"g": {"equation": "SQRT(TIME - 5)"}},
        }
    )
    for method in ("euler", "RK45"):
        ds = simdyn.simulate(Model(spec), method=method)
        assert int(ds.status[0]) == 1
        assert str(ds.failed_variable.values[0]) == "g"
        assert float(ds.failed_time[0]) == 0.0
