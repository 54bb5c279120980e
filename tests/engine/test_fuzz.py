"""Fuzzing the equation language: any text compiles or fails with simdyn's own error."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import simdyn
from simdyn.errors import SimdynError
from simdyn.expr import parse

NAMES = ["a", "b", "s", "f", "tbl", "arr", "TIME", "DT", "PI", "nope", "d"]
FUNCS = ["MIN", "MAX", "ABS", "EXP", "LN", "SQRT", "SIN", "INT", "MOD", "SAFEDIV", "STEP",
         "PULSE", "RAMP", "SMTH1", "SMTH3", "DELAY1", "DELAY3", "DELAYN", "INIT", "SUM", "MEAN",
         "LOOKUP", "IF_THEN_ELSE", "tbl", "FOO", "DELAY"]  # fmt: skip
OPS = ["+", "-", "*", "/", "^", "=", "<>", "<", ">", "<=", ">=", " AND ", " OR "]


def _model(equation: str) -> simdyn.Model:
    return simdyn.model_from_dict(
        {
            "model": {"name": "fuzz", "time_units": "s"},
            "time": {"start": 0, "stop": 0.5, "dt": 0.25},
            "dimensions": {"d": ["e1", "e2"]},
            "constants": {"a": 1.5, "b": -2.0, "arr": {"dims": ["d"], "value": [1, 2]}},
            "stocks": {"s": {"initial": "1", "inflows": ["f"]}},
            "flows": {"f": {"equation": "a * 0.1"}},
            "auxiliaries": {"x": {"dims": ["d"], "equation": equation}},
            "lookups": {"tbl": {"points": [[0, 0], [1, 2]]}},
        }
    )


def _compile_or_simdyn_error(equation: str, run: bool = False) -> str | None:
    """Compile (and run) a model with ``equation``; return simdyn's error message, if any."""
    try:
        model = _model(equation)
        model.compile()
        if run:
            ds = simdyn.simulate(model, method="euler", params={"a": [1.0, 0.0]})
            assert ds.x.dims == ("time", "d", "scenario")
    except SimdynError as exc:
        message = str(exc)
    else:
        return None
    assert "\n" not in message
    return message


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    leaf = depth > 4 or draw(st.integers(0, 3)) == 0
    if leaf:
        return draw(
            st.one_of(
                st.sampled_from(NAMES),
                st.floats(-1e6, 1e6, allow_nan=False).map(repr),
                st.integers(0, 100).map(str),
                st.sampled_from(["arr[e1]", "arr[*]", "arr[e9]", "a[e1]", "tbl"]),
            )
        )
    kind = draw(st.integers(0, 4))
    sub = expressions(depth + 1)
    if kind == 0:
        return f"{draw(sub)}{draw(st.sampled_from(OPS))}{draw(sub)}"
    if kind == 1:
        return f"{draw(st.sampled_from(['-', '+', 'NOT ', '']))}({draw(sub)})"
    if kind == 2:
        args = draw(st.lists(sub, max_size=4))
        return f"{draw(st.sampled_from(FUNCS))}({', '.join(args)})"
    if kind == 3:
        return f"IF {draw(sub)} THEN {draw(sub)} ELSE {draw(sub)}"
    # token soup: grammar pieces in a random order
    pieces = draw(
        st.lists(
            st.sampled_from([*NAMES, *OPS, "(", ")", ",", "[", "]", "1", "IF", "THEN", "ELSE"]),
            max_size=8,
        )
    )
    return " ".join(pieces)


@given(st.text(max_size=60))
@example("1e999")
@example("-1e400 + a")
@example("(" * 190 + "1" + ")" * 190)
@example("-(" * 99 + "1" + ")" * 99)
@example("NOT " * 150 + "1")
@example("EXP(" * 150 + "1" + ")" * 150)
@example("MIN(" * 100 + "1" + ",1)" * 100)
@example("1" + "+1" * 6000)
@example("a" + " AND a" * 2500)
@example("SMTH1(" * 40 + "1" + ", 1)" * 40)
@example("\x00")
@example("１２")  # full-width digits
@example("a\u00a0+ 1")
def test_any_text_compiles_or_fails_cleanly(text: str) -> None:
    _compile_or_simdyn_error(text)


@given(expressions())
def test_grammar_shaped_expressions_compile_or_fail_cleanly(text: str) -> None:
    _compile_or_simdyn_error(text, run=True)


PWNED = Path("/tmp/simdyn_pwned")

INJECTIONS = [
    "__import__('os').system('touch /tmp/simdyn_pwned')",
    '__import__("os").system("touch /tmp/simdyn_pwned")',
    "__import__(os).system(touch)",
    "a.__class__",
    "a.real",
    "(lambda: 1)()",
    "lambda x: x",
    "exec(1)",
    "eval(1)",
    "open(1)",
    "np.exp(1)",
    "y[0]",
    "_rt",
    "__builtins__",
    "P",
    "S",
    "p_a",
    "v_s",
    "[1 for _ in ()]",
    "{1: 2}",
    "1; import os",
    "1\nimport os",
    "f'{1}'",
    "a if 1 else b",
    "`a`",
    "a @ b",
    "a ** 2",
    "a // 2",
    "a % 2",
    "~a",
    "a and b",  # keywords are case-insensitive: this one is valid simdyn
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_code_injection_is_rejected(text: str) -> None:
    if PWNED.exists():
        PWNED.unlink()
    error = _compile_or_simdyn_error(text)
    if text == "a and b":  # the only valid equation in the list
        assert error is None
        ds = simdyn.simulate(_model(text), method="euler")
        np.testing.assert_array_equal(ds.x.values, 1.0)
    else:
        assert error is not None
    assert not PWNED.exists()


def test_generated_code_has_no_text_from_the_model() -> None:
    marker = "zz_marker_zz"
    cm = simdyn.model_from_dict(
        {
            "model": {"name": "m", "time_units": "s", "doc": f"__import__ {marker}"},
            "constants": {"a": {"value": 1, "doc": f"os.system {marker}"}},
            "auxiliaries": {"x": {"equation": "a + 1", "doc": marker}},
        }
    ).compile()
    assert marker not in cm.source
    assert "import" not in cm.source
    assert "os." not in cm.source


@pytest.mark.parametrize("text", ["1e999", "2e308 - 1", ".5e+99999"])
def test_numbers_too_large_are_rejected(text: str) -> None:
    with pytest.raises(simdyn.ExpressionError, match="column 1"):
        parse(text)


@pytest.mark.parametrize(
    "text",
    ["(" * 190 + "1" + ")" * 190, "-(" * 99 + "1" + ")" * 99, "NOT " * 150 + "1"],
)
def test_deep_nesting_is_an_expression_error(text: str) -> None:
    with pytest.raises(simdyn.ExpressionError, match="nested too deeply"):
        _model(text).compile()


def test_moderately_deep_and_long_equations_work() -> None:
    deep = "(" * 30 + "a" + " + 1)" * 30
    long_sum = " + ".join(["a"] * 1000)
    m = _model(f"{deep} - 30 + {long_sum} - 999 * a + arr")
    ds = simdyn.simulate(m, method="euler")
    np.testing.assert_allclose(ds.x.values[0, :, 0], [1.5 + 1.5 + 1, 1.5 + 1.5 + 2])


def test_fuzz_leaves_no_files() -> None:
    assert not PWNED.exists()
    assert os.getcwd()  # the working directory still exists
