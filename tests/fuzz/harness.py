"""Run one fuzz case in a forked child with a time limit and an address-space limit.

The parent has imported simdyn once; each case forks (milliseconds), sets ``RLIMIT_AS`` and
runs. A case passes when it ends with a clean outcome: a result, a one-line
:class:`~simdyn.errors.SimdynError`, or a CLI exit code 0, 2 or 3. Anything else is counted:
``traceback`` (any other exception), ``hang`` (over the time limit), ``memory``
(``MemoryError`` or killed by the limit).
"""

from __future__ import annotations

import os
import resource
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

OK_EXIT = (0, 2, 3)
_TRACEBACK, _MEMORY = 90, 91


@dataclass
class Tally:
    """Counts of outcomes, and the first few failures for the report."""

    cases: int = 0
    clean: int = 0
    traceback: int = 0
    hang: int = 0
    memory: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return self.traceback + self.hang + self.memory

    def line(self) -> str:
        return (
            f"{self.cases} cases: {self.clean} clean, {self.traceback} tracebacks, "
            f"{self.hang} hangs, {self.memory} memory blow-ups"
        )


def run_case(
    case: Callable[[], int | None], label: str, tally: Tally, *, seconds: float, memory: int
) -> None:
    """Fork, limit, run ``case`` (returns a CLI exit code or ``None``), and count the outcome."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = _child(case, write_fd, memory)
        os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + seconds
    status = None
    while status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = -1
        else:
            time.sleep(0.002)
    with os.fdopen(read_fd, "rb") as f:
        detail = f.read().decode("utf-8", "replace")
    tally.cases += 1
    if status == -1:
        tally.hang += 1
        _example(tally, f"hang: {label}")
    elif os.WIFSIGNALED(status):
        tally.memory += 1
        _example(tally, f"killed by signal {os.WTERMSIG(status)}: {label}")
    else:
        code = os.WEXITSTATUS(status)
        if code == _MEMORY:
            tally.memory += 1
            _example(tally, f"memory: {label}")
        elif code in OK_EXIT:
            tally.clean += 1
        else:
            tally.traceback += 1
            _example(tally, f"{label}\n{detail[-1500:]}")


def _example(tally: Tally, text: str) -> None:
    if len(tally.examples) < 5:
        tally.examples.append(text)


def _child(case: Callable[[], int | None], fd: int, memory: int) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        code = case()
        return 0 if code is None else code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    except MemoryError:
        return _MEMORY
    except BaseException as exc:
        from simdyn.errors import SimdynError

        if isinstance(exc, SimdynError) and "\n" not in str(exc):
            return 2
        os.write(fd, traceback.format_exc().encode())
        return _TRACEBACK
