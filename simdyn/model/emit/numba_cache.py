"""Where compiled kernels live on disk, and whether one is there (without importing numba).

A kernel's module is named by a hash of its source, of the numba version and of the helpers it
calls (:data:`HELPER_MODULES`, and the :data:`HELPER_SOURCES` they compile) or that write its
drivers (:data:`DRIVER_MODULES`); numba keeps the machine code (``cache=True``) in
``__pycache__`` beside it. numba's own cache notices a change of the kernel's source but not of
the helpers the kernel imports, so a new simdyn whose helpers changed must not find the old
module.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
from pathlib import Path

from simdyn import _pcg64

__all__ = [
    "DRIVER_MODULES",
    "HELPER_MODULES",
    "HELPER_SOURCES",
    "cache_dir",
    "is_cached",
    "kernels_available",
    "module_path",
]


def kernels_available() -> bool:
    """Whether numba is installed (``simdyn[fast]``)."""
    return importlib.util.find_spec("numba") is not None


def cache_dir() -> Path:
    """``$SIMDYN_CACHE_DIR``, else ``$XDG_CACHE_HOME/simdyn/kernels`` or ``~/.cache/simdyn/kernels``."""
    env = os.environ.get("SIMDYN_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "simdyn" / "kernels"


#: the modules of helpers kernels import (their machine code is part of every kernel's)
HELPER_MODULES = ("numba_runtime.py", "numba_random.py")
#: where helpers come from beyond their modules: numba_random compiles simdyn._pcg64's functions
HELPER_SOURCES = (Path(_pcg64.__file__),)
#: modules that write part of every kernel's source as text (a change reaches the source, but
#: they are hashed too: a kernel's key covers everything it is made of)
DRIVER_MODULES = ("numba_adaptive.py",)


@functools.cache
def _runtime_digest() -> str:
    """A hash of the helpers every kernel calls."""
    h = hashlib.sha256()
    for name in (*HELPER_MODULES, *DRIVER_MODULES):
        h.update(name.encode() + b"\0" + Path(__file__).with_name(name).read_bytes())
    for path in HELPER_SOURCES:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def module_path(source: str) -> Path:
    """The file that holds the kernel module of ``source``."""
    version = importlib.metadata.version("numba")
    key = f"{version}\n{_runtime_digest()}\n{source}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_dir() / f"simdyn_kernel_{digest}.py"


def is_cached(source: str, driver: str) -> bool:
    """Whether the machine code of ``source``'s kernel is on disk (a run pays no compiling).

    ``driver``: the entry point a run calls: ``"run_euler"``, ``"run_rk2"``, ``"run_rk4"``
    (fixed steps, fused), ``"run"`` (fixed steps of a model with network builtins),
    ``"run_dopri5"`` or ``"run_bs23"``.
    """
    path = module_path(source)
    if not path.exists():
        return False
    return any((path.parent / "__pycache__").glob(f"{path.stem}.{driver}-*.nbi"))
