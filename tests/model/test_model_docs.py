"""docs/model.md stays true to the built-in models."""

from __future__ import annotations

from pathlib import Path

import pytest

import simdyn

DOC = (Path(__file__).resolve().parents[2] / "docs" / "model.md").read_text(encoding="utf-8")


#: small textbook models, documented in their own files and used in docs/model-files.md
TEXTBOOK = {"teacup", "sir", "logistic", "bass"}


@pytest.mark.parametrize("name", sorted(set(simdyn.list_models()) - TEXTBOOK))
def test_every_built_in_model_is_documented(name):
    assert f"`{name}`" in DOC


def test_every_learning_org_variable_and_equation_is_in_the_docs():
    m = simdyn.load_model("learning_org")
    names = [*m.constants, *m.variables, *m.lookups]
    assert [n for n in names if f"`{n}`" not in DOC] == []
    equations = {n: v.equation for n, v in {**m.flows, **m.auxiliaries}.items()}
    missing = [
        n
        for n, eq in equations.items()
        if isinstance(eq, str) and eq not in DOC and eq.replace("|", "\\\\|") not in DOC
    ]
    assert missing == []


def test_every_network_mode_variable_is_in_the_docs():
    net = simdyn.load_model("learning_org_network")
    base = simdyn.load_model("learning_org")
    added = [
        n
        for n in [*net.constants, *net.variables]
        if n not in base.constants and n not in base.variables
    ]
    assert added
    assert [n for n in added if f"`{n}`" not in DOC] == []
