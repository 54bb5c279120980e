"""Safe file access: what simdyn may read, and where it may write.

Reading (:func:`read_input_bytes`, :func:`read_input_text`): only regular files (never a
device, a FIFO or a socket, which could block or never end) up to a size limit, with every
failure a one-line :class:`~simdyn.errors.SimdynError` naming the file.

Writing (:func:`check_output_target`, :func:`check_output_file`): one rule for every folder or
file simdyn writes. An output folder carries a marker file, :data:`MARKER`
(``simdyn-run.json``); simdyn replaces an existing folder only when it carries that marker (or
is empty). It refuses the working directory and its parents, a folder that holds one of the
run's input files, a non-empty folder without the marker, a file, a device, a FIFO, a socket,
a symbolic link and the empty path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from simdyn.errors import SimdynError

__all__ = [
    "MARKER",
    "MAX_GRAPH_BYTES",
    "MAX_TEXT_BYTES",
    "atomic_file",
    "check_output_file",
    "check_output_target",
    "is_simdyn_folder",
    "read_input_bytes",
    "read_input_text",
]

MARKER = "simdyn-run.json"
"""The manifest file that marks a folder as written by simdyn."""

MAX_TEXT_BYTES = 16 * 2**20
"""Largest model or scenario file simdyn reads (16 MiB)."""

MAX_GRAPH_BYTES = 512 * 2**20
"""Largest graph or node-table file simdyn reads (512 MiB)."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a file" if stat.S_ISREG(mode) else "not a regular file"


def _os_reason(exc: OSError | ValueError) -> str:
    if isinstance(exc, ValueError):
        return "the path contains a NUL byte"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long"
    return str(exc.strerror or exc).lower()


# -- reading ----------------------------------------------------------------------------------


def read_input_bytes(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    error: type[SimdynError] = SimdynError,
    max_bytes: int = MAX_TEXT_BYTES,
) -> bytes:
    """Read a regular file of at most ``max_bytes`` bytes; anything else is an ``error``.

    The file is opened without blocking and checked with ``fstat`` before it is read, so a
    FIFO, a device such as ``/dev/zero`` or a socket is refused at once.

    Examples
    --------
    >>> read_input_bytes("/dev/zero", what="model file")
    Traceback (most recent call last):
    ...
    simdyn.errors.SimdynError: /dev/zero: the model file is a character device, not a regular file (give the path of a file)
    """
    name = os.fspath(path)
    if not name:
        raise error(f"the {what} name is empty", hint="give the path of a file")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"the {what} does not exist", file=name) from None
    except (OSError, ValueError) as exc:
        raise error(f"cannot read the {what}: {_os_reason(exc)}", file=name) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(
                f"the {what} is {_kind(st.st_mode)}, not a regular file",
                file=name,
                hint="give the path of a file",
            )
        if st.st_size > max_bytes:
            raise error(
                f"the {what} is {st.st_size / 2**20:.0f} MiB; simdyn reads at most {max_bytes / 2**20:.0f} MiB",
                file=name,
            )
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise error(f"the {what} is larger than {max_bytes / 2**20:.0f} MiB", file=name)
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot read the {what}: {_os_reason(exc)}", file=name) from None
    finally:
        os.close(fd)


def read_input_text(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    error: type[SimdynError] = SimdynError,
    max_bytes: int = MAX_TEXT_BYTES,
    encoding: str = "utf-8",
) -> str:
    """:func:`read_input_bytes`, decoded; a file that is not text names the first bad line."""
    data = read_input_bytes(path, what=what, error=error, max_bytes=max_bytes)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error(
            f"the {what} is not UTF-8 text (a binary file?)",
            file=os.fspath(path),
            line=data[: exc.start].count(b"\n") + 1,
            hint="save it as UTF-8 text",
        ) from None
    if "\x00" in text:
        raise error(
            f"the {what} contains a NUL byte (a binary file?)",
            file=os.fspath(path),
            line=text[: text.index("\x00")].count("\n") + 1,
            hint="save it as UTF-8 text",
        )
    return text


# -- writing ----------------------------------------------------------------------------------


def is_simdyn_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a real folder whose :data:`MARKER` is a simdyn manifest."""
    folder = Path(path)
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        marker = folder / MARKER
        if not stat.S_ISREG(os.lstat(marker).st_mode) or os.lstat(marker).st_size > 1 << 16:
            return False
        data: Any = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "simdyn" in data


def _refuse(target: str, what: str, hint: str | None = None) -> SimdynError:
    return SimdynError(what, file=target, hint=hint)


def _common_checks(
    raw: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], label: str
) -> tuple[str, Path]:
    name = os.fspath(raw)
    if not name.strip():
        raise SimdynError(f"the {label} is empty", hint="give a folder name, e.g. --out runs/NAME")
    if "\x00" in name:
        raise _refuse(name, f"the {label} contains a NUL byte")
    try:
        if os.path.islink(name):
            raise _refuse(
                name,
                f"the {label} is a symbolic link (to {os.readlink(name)})",
                "simdyn does not write through links: give the real path",
            )
        resolved = Path(name).resolve()
        cwd = Path.cwd().resolve()
    except OSError as exc:
        raise _refuse(name, f"cannot use the {label}: {_os_reason(exc)}") from None
    if resolved == cwd or resolved in cwd.parents:
        where = "the working directory" if resolved == cwd else "a parent of the working directory"
        raise _refuse(name, f"the {label} is {where}", "choose a new folder, e.g. --out runs/NAME")
    for item in inputs:
        try:
            inp = Path(item).resolve()
        except (OSError, ValueError):
            continue
        if resolved == inp:
            raise _refuse(name, f"the {label} is the input file {os.fspath(item)}")
        if resolved in inp.parents:
            raise _refuse(
                name,
                f"the {label} holds the input file {os.fspath(item)}",
                "choose a folder of its own, e.g. --out runs/NAME",
            )
    return name, resolved


def _lstat(name: str, label: str) -> os.stat_result | None:
    """``lstat`` of a path to write, ``None`` if it does not exist yet."""
    try:
        return os.lstat(name)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise _refuse(
            name,
            f"cannot create the {label}: a part of the path is a file, not a folder",
            "choose a folder you can write to, e.g. --out runs/NAME",
        ) from None
    except OSError as exc:
        raise _refuse(name, f"cannot use the {label}: {_os_reason(exc)}") from None


def check_output_target(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    label: str = "output folder",
) -> Path:
    """Check that simdyn may create or replace the folder ``path``; return its absolute path.

    The rule, for every folder simdyn writes (run outputs, sweep stores, exports): a folder
    that does not exist yet, an empty folder, or a folder that carries simdyn's
    :data:`MARKER` may be written (an existing one is replaced). Refused, with a one-line
    :class:`~simdyn.errors.SimdynError`: the empty path; a symbolic link; the working
    directory or any of its parents; a folder that is or holds one of ``inputs`` (the
    scenario and model files of the run); a non-empty folder without the marker; a file, a
    device, a FIFO or a socket.

    Parameters
    ----------
    path
        The folder to write.
    inputs
        Files the run reads; the output may not hold them.
    label
        What the folder is, for messages (``"output folder"``, ``"sweep store"``).

    Examples
    --------
    >>> check_output_target(".")
    Traceback (most recent call last):
    ...
    simdyn.errors.SimdynError: .: the output folder is the working directory (choose a new folder, e.g. --out runs/NAME)
    """
    name, _ = _common_checks(path, inputs, label)
    st = _lstat(name, label)
    if st is None:
        return Path(os.path.abspath(name))
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(
            name,
            f"the {label} is {_kind(st.st_mode)}, not a folder",
            "simdyn never replaces it: choose a folder name",
        )
    try:
        with os.scandir(name) as entries:
            empty = not any(entries)
    except OSError as exc:
        raise _refuse(name, f"cannot use the {label}: {_os_reason(exc)}") from None
    if not empty and not is_simdyn_folder(name):
        raise _refuse(
            name,
            f"the {label} exists and was not written by simdyn (it has no {MARKER})",
            "simdyn replaces only its own output folders: choose a new folder",
        )
    return Path(os.path.abspath(name))


def check_output_file(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    label: str = "output file",
) -> Path:
    """Check that simdyn may create or replace the single file ``path``; return it absolute.

    A file that does not exist yet, or an existing regular file that is none of ``inputs``,
    may be written. Refused: the empty path, a symbolic link, a folder, a device, a FIFO, a
    socket, and any of ``inputs``.

    Examples
    --------
    >>> check_output_file("/dev/null")
    Traceback (most recent call last):
    ...
    simdyn.errors.SimdynError: /dev/null: the output file is a character device, not a regular file (simdyn never replaces it: choose a file name)
    """
    name, _ = _common_checks(path, inputs, label)
    st = _lstat(name, label)
    if st is None:
        return Path(os.path.abspath(name))
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(
            name,
            f"the {label} is {_kind(st.st_mode)}, not a regular file",
            "simdyn never replaces it: choose a file name",
        )
    return Path(os.path.abspath(name))


@contextlib.contextmanager
def atomic_file(
    target: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    label: str = "output file",
) -> Iterator[Path]:
    """Yield a temporary path that replaces the file ``target`` when the block ends without error.

    ``target`` is checked with :func:`check_output_file` first (never a folder, device, FIFO,
    link or one of ``inputs``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "g.csv"
    >>> with atomic_file(out) as tmp:
    ...     _ = tmp.write_text("a,b")
    >>> out.read_text()
    'a,b'
    """
    path = check_output_file(target, inputs=inputs, label=label)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise SimdynError(
            f"cannot create the {label} ({exc.strerror or exc})", file=str(path)
        ) from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        check_output_file(path, inputs=inputs, label=label)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
