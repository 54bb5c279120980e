"""Where compiled kernels live on disk, and whether one is there (without importing numba).

A kernel's module is named by a hash of its source and of the numba version; numba keeps the
machine code (``cache=True``) in ``__pycache__`` beside it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from pathlib import Path

__all__ = ["cache_dir", "is_cached", "kernels_available", "module_path"]


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


def module_path(source: str) -> Path:
    """The file that holds the kernel module of ``source``."""
    version = importlib.metadata.version("numba")
    digest = hashlib.sha256(f"{version}\n{source}".encode()).hexdigest()[:24]
    return cache_dir() / f"simdyn_kernel_{digest}.py"


def is_cached(source: str) -> bool:
    """Whether the machine code of ``source``'s kernel is on disk (a run pays no compiling)."""
    path = module_path(source)
    if not path.exists():
        return False
    return any((path.parent / "__pycache__").glob(f"{path.stem}.run-*.nbi"))
