"""simdyn: batched system-dynamics simulation of learning organizations.

>>> import simdyn
>>> ds = simdyn.simulate("teacup", params={"characteristic_time": [5.0, 10.0, 20.0]})
>>> ds.sizes["scenario"]
3
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from simdyn.errors import (
    ExpressionError,
    IntegrationError,
    ModelError,
    NetworkError,
    ScenarioError,
    SimdynError,
)
from simdyn.model import Model, ModelSpec, list_models, load_model, model_from_dict
from simdyn.simulate import TimeGrid, simulate, use_backend

try:
    __version__ = version("simdyn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

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
    # running
    "TimeGrid",
    "__version__",
    "list_models",
    "load_model",
    "model_from_dict",
    "simulate",
    "use_backend",
]
