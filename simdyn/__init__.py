"""simdyn: batched system-dynamics simulation of learning organizations.

>>> import simdyn
>>> ds = simdyn.simulate("teacup", params={"characteristic_time": [5.0, 10.0, 20.0]})
>>> ds.sizes["scenario"]
3

The names below are imported on first use, so ``import simdyn`` (and ``simdyn --help``) stays
fast: numpy, xarray, scipy and networkx load when a model is loaded or run.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from simdyn.errors import (
    ExpressionError,
    IntegrationError,
    ModelError,
    NetworkError,
    ScenarioError,
    SimdynError,
)

if TYPE_CHECKING:
    __version__: str
    from simdyn.analysis import loop_dominance
    from simdyn.model import Model, ModelSpec, list_models, load_model, model_from_dict
    from simdyn.simulate import TimeGrid, simulate, use_backend
    from simdyn.sweep import Sweep, run_sweep

__all__ = [
    # errors
    "ExpressionError",
    "IntegrationError",
    # models
    "Model",
    "ModelError",
    "ModelSpec",
    "NetworkError",
    "ScenarioError",
    "SimdynError",
    # sweeps (imported on first use)
    "Sweep",
    # running
    "TimeGrid",
    "__version__",
    "list_models",
    "load_model",
    "loop_dominance",
    "model_from_dict",
    "run_sweep",
    "simulate",
    "use_backend",
]

#: public name -> the module that defines it (imported on first access)
_LAZY = {
    "Model": "simdyn.model",
    "ModelSpec": "simdyn.model",
    "list_models": "simdyn.model",
    "load_model": "simdyn.model",
    "model_from_dict": "simdyn.model",
    "TimeGrid": "simdyn.simulate",
    "simulate": "simdyn.simulate",
    "Sweep": "simdyn.sweep",
    "loop_dominance": "simdyn.analysis",
    "run_sweep": "simdyn.sweep",
    "use_backend": "simdyn.simulate",
}


def __getattr__(name: str) -> Any:
    """Import a public name (or a subpackage such as ``simdyn.network``) on first access."""
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
    where = _LAZY.get(name)
    if where is None:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simdyn")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps ``simdyn.simulate`` the function when the module of that name is imported.

    Importing a submodule binds it on its package; the submodule ``simdyn.simulate`` would
    hide the function ``simdyn.simulate``, so the function is bound instead.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "simulate" and isinstance(value, types.ModuleType):
            value = value.simulate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
