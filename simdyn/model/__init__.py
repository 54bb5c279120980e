"""Models: the spec (data), the TOML loader, compilation to a batched right-hand side."""

from simdyn.model import network_functions as _network_functions  # registers the builtins
from simdyn.model import random_functions as _random_functions  # registers NORMAL, UNIFORM, ...
from simdyn.model.compile import CompiledModel, VarInfo, compile_model
from simdyn.model.functions import BindContext, Function, register_function
from simdyn.model.loader import NODE_DIM, spec_from_dict, spec_from_file
from simdyn.model.model import Model, list_models, load_model, model_from_dict
from simdyn.model.spec import (
    Auxiliary,
    Constant,
    Flow,
    Lookup,
    ModelSpec,
    Preset,
    Stock,
    TimeSpec,
)

del _network_functions, _random_functions

__all__ = [
    "NODE_DIM",
    "Auxiliary",
    "BindContext",
    "CompiledModel",
    "Constant",
    "Flow",
    "Function",
    "Lookup",
    "Model",
    "ModelSpec",
    "Preset",
    "Stock",
    "TimeSpec",
    "VarInfo",
    "compile_model",
    "list_models",
    "load_model",
    "model_from_dict",
    "register_function",
    "spec_from_dict",
    "spec_from_file",
]
