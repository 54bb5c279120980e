"""Run one fuzz case in a forked child with a time limit and an address-space limit.

The parent has imported simdyn once; each case forks (milliseconds), sets ``RLIMIT_AS`` (the
address space the child inherits plus ``memory`` more: a parent that has loaded many compiled
kernels maps gigabytes it never touches, which must not count against the case) and
``RLIMIT_CPU`` (CPU seconds, so a loaded machine does not turn a slow case into a hang) and
runs. A case passes when it ends with a clean outcome: a result, a one-line
:class:`~simdyn.errors.SimdynError`, or a CLI exit code 0, 2 or 3. Anything else is counted:
``traceback`` (any other exception), ``hang`` (over the CPU limit, or four times that in wall
time), ``memory`` (``MemoryError`` or killed by a signal).
"""

from __future__ import annotations

import math
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

OK_EXIT = {0: "ok", 2: "clean error", 3: "failed runs"}
"""Clean exit codes and what they mean: a result, a one-line error, runs that went non-finite."""
OUTCOMES = ("ok", "clean error", "failed runs", "traceback", "hang", "memory")
_TRACEBACK, _MEMORY = 90, 91


@dataclass
class Tally:
    """Counts of outcomes per kind of case, and the first few failures for the report."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def add(self, kind: str, outcome: str) -> None:
        row = self.counts.setdefault(kind, dict.fromkeys(OUTCOMES, 0))
        row[outcome] += 1

    def total(self, outcome: str) -> int:
        return sum(row[outcome] for row in self.counts.values())

    @property
    def cases(self) -> int:
        return sum(sum(row.values()) for row in self.counts.values())

    @property
    def clean(self) -> int:
        return sum(self.total(o) for o in OK_EXIT.values())

    @property
    def traceback(self) -> int:
        return self.total("traceback")

    @property
    def hang(self) -> int:
        return self.total("hang")

    @property
    def memory(self) -> int:
        return self.total("memory")

    @property
    def bad(self) -> int:
        return self.traceback + self.hang + self.memory

    def line(self) -> str:
        return (
            f"{self.cases} cases: {self.clean} clean, {self.traceback} tracebacks, "
            f"{self.hang} hangs, {self.memory} memory blow-ups"
        )

    def table(self) -> str:
        """A Markdown table: one row per kind of case, one column per outcome."""
        head = ["case", "cases", *OUTCOMES]
        rows = [
            [kind, str(sum(row.values())), *(str(row[o]) for o in OUTCOMES)]
            for kind, row in self.counts.items()
        ]
        rows.append(["all", str(self.cases), *(str(self.total(o)) for o in OUTCOMES)])
        return "\n".join(
            "| " + " | ".join(cells) + " |" for cells in [head, ["---"] * len(head), *rows]
        )


def run_case(
    case: Callable[[], int | None],
    label: str,
    tally: Tally,
    *,
    seconds: float,
    memory: int,
    kind: str = "case",
) -> None:
    """Fork, limit, run ``case`` (returns a CLI exit code or ``None``), and count the outcome."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = _child(case, write_fd, memory, seconds)
        os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + 4 * seconds  # a backstop: the CPU limit comes first
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
    outcome = _outcome(status)
    tally.add(kind, outcome)
    if outcome == "hang":
        _example(tally, f"hang: {label}")
    elif outcome == "memory":
        how = f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else "memory"
        _example(tally, f"{how}: {label}")
    elif outcome == "traceback":
        _example(tally, f"{label}\n{detail[-1500:]}")


def _outcome(status: int) -> str:
    if status == -1:
        return "hang"
    if os.WIFSIGNALED(status):
        return "hang" if os.WTERMSIG(status) == signal.SIGXCPU else "memory"
    code = os.WEXITSTATUS(status)
    if code == _MEMORY:
        return "memory"
    return OK_EXIT.get(code, "traceback")


def _example(tally: Tally, text: str) -> None:
    if len(tally.examples) < 5:
        tally.examples.append(text)


def _address_space() -> int:
    """Bytes of address space this process has mapped (``VmSize``; 0 where /proc has none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(case: Callable[[], int | None], fd: int, memory: int, seconds: float) -> int:
    limit = _address_space() + memory
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = math.ceil(seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))  # SIGXCPU, then SIGKILL
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
