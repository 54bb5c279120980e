"""XMILE export: learning_org to PySD, and XMILE -> simdyn -> XMILE -> simdyn round trips."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from conformance_run import HERE, manifest

import simdyn
from simdyn.errors import ModelError
from simdyn.model_run import result_frame


def _frame(model: simdyn.Model, **kw: object) -> dict[str, np.ndarray]:
    frame = result_frame(model, simdyn.simulate(model, **kw))  # type: ignore[arg-type]
    return {str(c): frame[c].to_numpy() for c in frame.columns}


def test_learning_org_through_xmile_runs_the_same_in_simdyn(tmp_path: Path) -> None:
    model = simdyn.load_model("learning_org")
    back = simdyn.load_model(model.to_xmile(tmp_path / "lo.xmile"))
    assert set(back.stocks) == set(model.stocks)
    a, b = _frame(model, method="euler"), _frame(back, method="euler")
    for name, values in a.items():
        np.testing.assert_allclose(b[name], values, rtol=1e-12, atol=1e-12, err_msg=name)


def test_learning_org_preset_is_exported(tmp_path: Path) -> None:
    model = simdyn.load_model("learning_org")
    back = simdyn.load_model(model.to_xmile(tmp_path / "lo.xmile", presets={"style": "facilitative"}))  # fmt: skip
    want = model.presets["style"]["facilitative"].values
    for name, value in want.items():
        assert back.constants[name].value == pytest.approx(value)
    with pytest.raises(ModelError, match="no preset"):
        model.to_xmile(tmp_path / "x.xmile", presets={"style": "nope"})


def test_network_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="node"):
        simdyn.load_model("learning_org_network").to_xmile(tmp_path / "n.xmile")


def test_learning_org_in_pysd_matches_simdyn(tmp_path: Path) -> None:
    pysd = pytest.importorskip("pysd")
    model = simdyn.load_model("learning_org")
    path = model.to_xmile(tmp_path / "lo.xmile", dialect="pysd")
    ours = _frame(model, method="euler")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pysd.read_xmile(str(path)).run()
    rows = np.searchsorted(theirs.index.to_numpy(), ours["Time"])
    np.testing.assert_allclose(theirs.index.to_numpy()[rows], ours["Time"])
    compared = 0
    for name, values in ours.items():
        if name in ("Time", "SAVEPER"):  # PySD saves every DT
            continue
        np.testing.assert_allclose(theirs[name].to_numpy()[rows], values, rtol=1e-6, atol=1e-6, err_msg=name)  # fmt: skip
        compared += 1
    assert compared > 150


def _passing_cases() -> list[str]:
    lines = Path(__file__).with_name("expected_pass.txt").read_text().splitlines()
    return [line.split()[0] for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("case", _passing_cases())
def test_xmile_simdyn_xmile_simdyn_is_identical(tmp_path: Path, case: str) -> None:
    entry = next(c for c in manifest()["cases"] if c["id"] == case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = simdyn.load_model(HERE / "cases" / entry["folder"] / entry["model"])
    second = simdyn.load_model(first.to_xmile(tmp_path / "again.xmile"))
    assert dataclasses.replace(second.spec, source=None, name="") == dataclasses.replace(first.spec, source=None, name="")  # fmt: skip
    # names are kept (the hidden net flows of non-negative stocks get their identifiers as names)
    assert {k: second.spec.labels[k] for k in first.spec.labels} == dict(first.spec.labels)
    a, b = _frame(first), _frame(second)
    for name, values in a.items():
        np.testing.assert_array_equal(b[name], values, err_msg=name)
