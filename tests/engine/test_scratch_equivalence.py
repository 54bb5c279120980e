"""``rhs`` writing into scratch arrays gives bit-identical results to plain numpy expressions."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simdyn
from simdyn.model import model as model_module
from simdyn.model.compile import compile_model
from simdyn.model.emit.numpy import emit_numpy
from simdyn.network import org_graph

sys.path.insert(0, str(Path(__file__).parent))
from reference_runs import BUILTINS_MODEL

MODELS = sorted(p.stem for p in (Path(simdyn.__file__).parent / "models").glob("*.toml"))
#: a constant varied across scenarios, so that parameters are wide as well as shared
VARIED = {"sir": "contact_rate", "teacup": "characteristic_time", "learning_org": "delegation"}


def _run(model: simdyn.Model, scratch: bool, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> Any:
    emit = partial(emit_numpy, scratch=scratch)
    monkeypatch.setattr(model_module, "compile_model", partial(compile_model, emit=emit))
    model._compiled.clear()
    try:
        return simdyn.simulate(model, **kw)
    finally:
        model._compiled.clear()


def _assert_identical(a: Any, b: Any) -> None:
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name, strict=True)


# random events (learning_org_network) need a fixed-step method: no dopri5 there
@pytest.mark.parametrize(
    ("name", "method"),
    [
        (name, method)
        for name in MODELS
        for method in ("euler", "rk4", "dopri5")
        if not (name == "learning_org_network" and method == "dopri5")
    ],
)
def test_builtin_models(name: str, method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = simdyn.load_model(name)
    kw: dict[str, Any] = {"method": method, "stop": min(model.spec.time.stop, 24.0)}
    if name in VARIED:
        base = float(model.constants[VARIED[name]].value)
        kw["params"] = {VARIED[name]: base * np.linspace(0.5, 1.5, 7)}
    if name == "learning_org_network":
        kw.update(network=org_graph(12, seed=1), seed=3)
    plain = _run(model, False, monkeypatch, **kw)
    into = _run(model, True, monkeypatch, **kw)
    _assert_identical(plain, into)


@pytest.mark.parametrize("method", ["euler", "rk4", "RK45"])
def test_every_builtin_function(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {
        **BUILTINS_MODEL,
        "auxiliaries": {
            **BUILTINS_MODEL["auxiliaries"],  # type: ignore[dict-item]
            "c": {
                "equation": "IF_THEN_ELSE(s > 5 AND NOT (s = 3) OR s < 1, -s, s ^ 0.5) + "
                "SAFEDIV(s, s - 10) + SAFEDIV(1, s, 7) + MIN(s, 3) + MAX(s, gain) + "
                "MOD(s, 4) + ABS(-s) + EXP(-s) + LN(s + 1) + SQRT(s) + INT(s) + "
                "(IF s >= 2 THEN 1 ELSE 0) - s / gain / 2 * tau"
            },
        },
    }
    inflow = BUILTINS_MODEL["flows"]["inflow"]["equation"]  # type: ignore[index]
    spec["flows"] = {**spec["flows"], "inflow": {"equation": f"{inflow} + c / 100"}}  # type: ignore[dict-item]
    model = simdyn.model_from_dict(spec)
    kw = {"method": method, "params": {"gain": np.linspace(1.0, 2.0, 5)}, "stop": 4.0}
    _assert_identical(_run(model, False, monkeypatch, **kw), _run(model, True, monkeypatch, **kw))


def test_per_scenario_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """bs23 calls ``rhs`` with one time per scenario (STEP, PULSE, RAMP, smooths, DELAYN)."""
    spec = {**BUILTINS_MODEL, "auxiliaries": {"a": {"equation": "DELAY1(s, tau, 3) + INIT(s)"}}}
    model = simdyn.model_from_dict(spec)
    kw = {"method": "bs23", "params": {"gain": np.linspace(1.0, 2.0, 5)}, "stop": 4.0}
    _assert_identical(_run(model, False, monkeypatch, **kw), _run(model, True, monkeypatch, **kw))
