"""Bad input gives one readable line naming the file and line; user text is never code."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import simdyn
from simdyn.cli import cli
from simdyn.errors import ModelError, NetworkError, ScenarioError, SimdynError
from simdyn.io import neutralise_cells
from simdyn.network import read_graphml
from simdyn.report import write_run
from simdyn.scenario import load_scenario, run_scenario

MODEL = """\
[model]
name = "m"
time_units = "month"

[time]
start = 0
stop = 10
dt = 1

[constants.a]
value = 1

[stocks.s]
initial = 1
inflows = ["f"]

[flows.f]
equation = "0.1 * a * s"
units = "people/month"
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return _write(tmp_path, "m.toml", MODEL)


def _cli(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def _readable(message: str) -> None:
    assert "\n" not in message.strip()
    assert not re.search(r"\d{25}", message), message  # no 300-digit integers


@pytest.mark.parametrize(
    ("time", "line", "what"),
    [
        ("stop = 1e308", 3, "1e+308 steps"),
        ("save_per = 1e308", 3, "save_per (1e+308)"),
        ("dt = 1e-300", 3, "1e+301 steps"),
        ("start = -1e308\nstop = 1e308", 4, "steps"),
    ],
)
def test_huge_numbers_in_time_are_readable_and_located(
    model: Path, tmp_path: Path, time: str, line: int, what: str
) -> None:
    scenario = _write(tmp_path, "s.toml", f'model = "{model}"\n[time]\n{time}\n')
    code, err = _cli(["run", str(scenario), "--out", str(tmp_path / "o"), "-q"])
    assert code == 2
    assert err.startswith(f"{scenario}:{line}: time.")
    assert what in err
    _readable(err)


def test_bad_time_in_a_model_file_names_the_model_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.toml", MODEL.replace("stop = 10", "stop = 1e308"))
    with pytest.raises(ModelError) as info:
        simdyn.load_model(path)
    assert (info.value.file, info.value.line) == (str(path), 8)  # the dt line
    _readable(str(info.value))


def test_nan_parameter_found_at_run_time_names_the_scenario_line(
    model: Path, tmp_path: Path
) -> None:
    scenario = _write(tmp_path, "s.toml", f'model = "{model}"\n[params]\na = nan\n')
    with pytest.raises(ScenarioError) as info:
        run_scenario(scenario)
    assert str(info.value) == f"{scenario}:3: params.a: must be finite (no NaN or infinity)"


def test_extends_with_nul_byte_or_too_long_is_a_clear_error(model: Path, tmp_path: Path) -> None:
    nul = _write(tmp_path, "a.toml", f'model = "{model}"\nextends = "x\\u0000y"\n')
    with pytest.raises(ScenarioError, match=r"a.toml:2: extends: .*no NUL byte"):
        load_scenario(nul)
    long = _write(tmp_path, "b.toml", f'model = "{model}"\nextends = "{"x" * 5000}"\n')
    with pytest.raises(ScenarioError, match=r"b.toml:2: extends: cannot use .*too long"):
        load_scenario(long)
    child = _write(tmp_path, "c.toml", '[model]\nextends = "x\\u0000y"\n')
    with pytest.raises(ModelError, match=r"c.toml:2: model.extends: .*NUL byte"):
        simdyn.load_model(child)
    child = _write(tmp_path, "d.toml", f'[model]\nextends = "{"y" * 5000}.toml"\n')
    with pytest.raises(ModelError, match=r"d.toml:2: model.extends: cannot use .*too long"):
        simdyn.load_model(child)


def test_section_that_is_not_a_table_beside_extends(model: Path, tmp_path: Path) -> None:
    child = _write(tmp_path, "c.toml", f'auxiliaries = 1.5\n[model]\nextends = "{model}"\n')
    with pytest.raises(ModelError) as info:
        simdyn.load_model(child)
    assert str(info.value).startswith(f"{child}:1: auxiliaries: must be a table, not a number")


def test_binary_model_file_is_called_a_model_file(tmp_path: Path) -> None:
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    scenario = _write(tmp_path, "s.toml", f'model = "{binary}"\n')
    code, err = _cli(["run", str(scenario), "--out", str(tmp_path / "o"), "-q"])
    assert code == 2
    assert "the model file is not UTF-8 text" in err or "the model file contains a NUL" in err
    assert "scenario file" not in err
    code, err = _cli(["validate", str(binary)])
    assert code == 2
    assert "scenario file" not in err


def test_time_with_a_subscript_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.toml", MODEL + '[auxiliaries.g]\nequation = "TIME[training]"\n')
    with pytest.raises(SimdynError, match="'TIME' has no dimensions to subscript") as info:
        simdyn.load_model(path).check()
    assert info.value.line == 21


def test_mathtext_in_names_units_and_time_units_does_not_crash(tmp_path: Path) -> None:
    tricky = r"$\sqrt{$"
    text = MODEL.replace('time_units = "month"', f"time_units = '{tricky}'").replace(
        'units = "people/month"', f"units = '{tricky}'"
    )
    model = _write(tmp_path, "m.toml", text)
    scenario = _write(
        tmp_path,
        "s.toml",
        f"model = \"{model}\"\n[variants.'{tricky}']\nparams.a = 2\n"
        "[variants.'=HYPERLINK(\"http://x\")']\nparams.a = 3\n",
    )
    out = tmp_path / "out"
    write_run(run_scenario(scenario), out)
    assert (out / "timeseries.png").stat().st_size > 0
    frame = pd.read_csv(out / "timeseries.csv")
    assert '\'=HYPERLINK("http://x")' in set(frame["variant"])
    assert tricky in set(frame["variant"])
    goals_names = set(pd.read_csv(out / "goals.csv").get("scenario", pd.Series(dtype=str)))
    assert not any(str(n).startswith("=") for n in goals_names)


def test_neutralise_cells_keeps_numbers() -> None:
    frame = pd.DataFrame({"v": ["+1", "@x", "-y", "ok", "\tz"], "n": [-1.0, 1, 2, 3, 4]})
    out = neutralise_cells(frame)
    assert list(out["v"]) == ["'+1", "'@x", "'-y", "ok", "'\tz"]
    assert list(out["n"]) == [-1.0, 1, 2, 3, 4]


GRAPH = """<?xml version="1.0"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
<graph edgedefault="undirected">
{body}
</graph>
</graphml>
"""


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ('<node id="a"/>\n<edge source="a" target="ghost"/>', 5, "'ghost' is not a declared"),
        ('<node id="a"/>\n<node/>\n<edge source="a" target="b"/>', 5, "without an id"),
        ("", 3, "the graph has no nodes"),
    ],
)
def test_graphml_rejects_undeclared_nodes_missing_ids_and_empty_graphs(
    tmp_path: Path, body: str, line: int, what: str
) -> None:
    path = _write(tmp_path, "g.graphml", GRAPH.format(body=body))
    with pytest.raises(NetworkError, match=what) as info:
        read_graphml(path)
    assert (info.value.file, info.value.line) == (str(path), line)


def test_disk_full_names_the_output_folder(
    mini_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_scenario(mini_scenario)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("simdyn.report._write.write_netcdf", full)
    with pytest.raises(SimdynError) as info:
        write_run(result, tmp_path / "out")
    assert str(info.value).startswith(f"{tmp_path / 'out'}: cannot write the output folder")
    assert "No space left on device" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini.toml"]
