"""`--out` never destroys a user's files: the output-folder rule of simdyn.io.check_output_target."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from simdyn.cli import cli
from simdyn.errors import SimdynError
from simdyn.io import (
    MARKER,
    atomic_directory,
    atomic_file,
    check_output_file,
    check_output_target,
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory holding a scenario file and a file of the user's."""
    work = tmp_path / "work"
    work.mkdir()
    from scenario_samples import MINI_SCENARIO

    (work / "s.toml").write_text(MINI_SCENARIO)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    return work


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = "dir" if p.is_dir() else p.read_bytes()
    return out


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


REFUSED = [
    (".", "is the working directory"),
    ("", "is empty"),
    ("  ", "is empty"),
    ("..", "is a parent of the working directory"),
    ("/", "is a parent of the working directory"),
    ("notes.txt", "is a file, not a folder"),
    ("s.toml", "is the input file s.toml"),
]


@pytest.mark.parametrize(("out", "message"), REFUSED)
def test_run_refuses_and_leaves_everything(workdir: Path, out: str, message: str) -> None:
    before = _snapshot(workdir)
    code, err = _run(["run", "s.toml", "--out", out, "-q"])
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert _snapshot(workdir) == before


def test_compare_refuses_the_working_directory(workdir: Path) -> None:
    before = _snapshot(workdir)
    code, err = _run(["compare", "s.toml", "--out", ".", "-q"])
    assert (code, "is the working directory" in err) == (2, True)
    assert _snapshot(workdir) == before


def test_folder_holding_the_scenario_is_refused(workdir: Path) -> None:
    sub = workdir / "project"
    sub.mkdir()
    (sub / "s.toml").write_text((workdir / "s.toml").read_text())
    with pytest.raises(SimdynError, match="holds the input file"):
        check_output_target(sub, inputs=[sub / "s.toml"])
    code, err = _run(["run", "project/s.toml", "--out", "project", "-q"])
    assert code == 2
    assert "holds the input file project/s.toml" in err
    assert (sub / "s.toml").exists()


def test_folder_holding_the_model_file_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "models" / "m.toml"
    model.parent.mkdir()
    model.write_text("[model]\nname = 'm'\n")
    with pytest.raises(SimdynError, match="holds the input file"):
        check_output_target(tmp_path / "models", inputs=[model])
    with pytest.raises(SimdynError, match="holds the input file"):
        check_output_target(tmp_path, inputs=[model])


def test_non_empty_folder_without_marker_is_refused(workdir: Path) -> None:
    mine = workdir / "results"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    code, err = _run(["run", "s.toml", "--out", "results", "-q"])
    assert code == 2
    assert f"was not written by simdyn (it has no {MARKER})" in err
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_forged_or_broken_marker_does_not_count(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "data.csv").write_text("1")
    (folder / MARKER).write_text("not json")
    with pytest.raises(SimdynError, match="not written by simdyn"):
        check_output_target(folder)
    (folder / MARKER).unlink()
    (folder / MARKER).mkdir()
    with pytest.raises(SimdynError, match="not written by simdyn"):
        check_output_target(folder)


def test_empty_folder_and_new_folder_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert check_output_target(tmp_path / "empty") == tmp_path / "empty"
    assert check_output_target(tmp_path / "a" / "b") == tmp_path / "a" / "b"


def test_run_writes_marker_and_replaces_its_own_folder(workdir: Path) -> None:
    code, err = _run(["run", "s.toml", "--out", "runs/s", "-q"])
    assert (code, err) == (0, "")
    manifest = json.loads((workdir / "runs" / "s" / MARKER).read_text())
    assert set(manifest) == {"simdyn", "run_id", "created", "writer", "files"}
    assert "report.html" in manifest["files"]
    first = manifest["run_id"]
    code, err = _run(["run", "s.toml", "--out", "runs/s", "-q"])
    assert code == 0
    assert json.loads((workdir / "runs" / "s" / MARKER).read_text())["run_id"] != first
    assert sorted(os.listdir(workdir / "runs")) == ["s"]


def test_symlink_is_refused_and_its_target_kept(workdir: Path) -> None:
    real = workdir / "real"
    real.mkdir()
    (real / "keep.txt").write_text("keep")
    (workdir / "link").symlink_to(real)
    code, err = _run(["run", "s.toml", "--out", "link", "-q"])
    assert code == 2
    assert "is a symbolic link (to " in err
    assert (workdir / "link").is_symlink()
    assert (real / "keep.txt").read_text() == "keep"
    (workdir / "dangling").symlink_to(workdir / "nowhere")
    with pytest.raises(SimdynError, match="symbolic link"):
        check_output_target(workdir / "dangling")


def test_fifo_and_socket_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SimdynError, match="FIFO"):
        check_output_target(fifo)
    with pytest.raises(SimdynError, match="FIFO"):
        check_output_file(fifo)
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(SimdynError, match="socket"):
            check_output_target(sock_path)
    assert fifo.exists()


def test_dev_null_is_refused_as_root_too(workdir: Path) -> None:
    # this suite runs as root in CI containers: root could replace /dev/null
    code, err = _run(["run", "s.toml", "--out", "/dev/null", "-q"])
    assert code == 2
    assert "/dev/null: the output folder is a character device, not a folder" in err
    assert Path("/dev/null").is_char_device()
    with pytest.raises(SimdynError, match="character device"):
        check_output_file("/dev/null")


def test_refused_as_a_subprocess_with_the_real_entry_point(workdir: Path) -> None:
    before = _snapshot(workdir)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from simdyn.cli import main; main()",
            "run",
            "s.toml",
            "--out",
            ".",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().endswith("(choose a new folder, e.g. --out runs/NAME)")
    assert _snapshot(workdir) == before


def test_nul_byte_and_long_names_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SimdynError, match="NUL byte"):
        check_output_target("a\x00b")
    with pytest.raises(SimdynError, match="too long"):
        check_output_target(tmp_path / ("x" * 5000))


def test_target_turned_foreign_during_the_run_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"

    def write() -> None:
        with atomic_directory(target) as tmp:
            (tmp / "a.txt").write_text("new")
            target.mkdir()  # someone puts their own files there meanwhile
            (target / "theirs.txt").write_text("theirs")

    with pytest.raises(SimdynError, match="not written by simdyn"):
        write()
    assert sorted(os.listdir(target)) == ["theirs.txt"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_stale_siblings_removed_only_when_they_are_simdyns(tmp_path: Path) -> None:
    target = tmp_path / "out"
    dead = 2**22 + 12345  # above the usual pid_max: no such process
    ours_tmp = tmp_path / f".out.tmp-{dead}-aaaa"
    ours_tmp.mkdir()
    (ours_tmp / MARKER).write_text(json.dumps({"simdyn": "0"}))
    empty = tmp_path / f".out.tmp-{dead}-bbbb"
    empty.mkdir()
    ours_old = tmp_path / f".out.old-{dead}-cccc"
    (ours_old / "out").mkdir(parents=True)
    (ours_old / "out" / MARKER).write_text(json.dumps({"simdyn": "0"}))
    foreign = tmp_path / f".out.tmp-{dead}-dddd"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("x")
    as_file = tmp_path / f".out.tmp-{dead}-eeee"
    as_file.write_text("a file")
    linked = tmp_path / f".out.tmp-{dead}-ffff"
    linked.symlink_to(foreign)
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("a")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["out", foreign.name, as_file.name, linked.name])
    assert (foreign / "precious.txt").exists()


def test_atomic_file_replaces_a_file_but_never_a_device(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("old")
    with atomic_file(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new"
    with pytest.raises(SimdynError, match="folder"), atomic_file(tmp_path):
        pass
    with pytest.raises(SimdynError, match="is the input file"), atomic_file(path, inputs=[path]):
        pass
    assert sorted(os.listdir(tmp_path)) == ["g.csv"]
