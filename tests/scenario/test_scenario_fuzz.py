"""Random and mutated scenario documents give a run or a clean ScenarioError, nothing else."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_samples import MINI_SCENARIO

from simdyn.errors import SimdynError
from simdyn.scenario import load_scenario, run_scenario, validate_scenario

KEYS = ["model", "time", "stop", "dt", "params", "delegation", "policies", "goals", "kind",
        "style", "variants", "extends", "at", "to", "value", "variable", "points", "seed"]  # fmt: skip
scalars = st.one_of(
    st.integers(-5, 100), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.sampled_from(["step", "ramp", "directive", "skill", "rk4", "x", ""]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return (
            "nan"
            if value != value
            else ("inf" if value > 0 else "-inf")
            if abs(value) == float("inf")
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"


def _document(data: dict[str, Any]) -> str:
    return "\n".join(f'"{k}" = {_toml(v)}' for k, v in data.items()) + "\n"


def _check(path: Path, text: str, run: bool) -> None:
    path.write_text(text)
    try:
        if run:
            run_scenario(path, variants=["base"])
        else:
            validate_scenario(path)
    except SimdynError as exc:
        message = str(exc)
        if "\n" in message:
            raise AssertionError(f"error message is not one line: {message!r}") from exc


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=5))
def test_random_documents(tmp_path: Path, data: dict[str, Any]) -> None:
    _check(tmp_path / "r.toml", _document(data), run=False)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "",
                    "time",
                    "params",
                    "policies.freeze",
                    "policies.leadership",
                    "goals.y1",
                    "variants.facil",
                ]
            ),
            st.sampled_from(KEYS),
            values,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_valid_scenario(tmp_path: Path, edits: list[tuple[str, str, Any]]) -> None:
    data: dict[str, Any] = tomllib.loads(MINI_SCENARIO)
    for table, key, value in edits:
        node = data
        for part in [p for p in table.split(".") if p]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node[key] = value
    text = _document(data)
    _check(tmp_path / "m.toml", text, run=False)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.floats(0, 1), st.floats(0.5, 11), st.sampled_from(["euler", "rk2", "rk4"]))
def test_valid_mutations_run(tmp_path: Path, delegation: float, at: float, method: str) -> None:
    text = (
        MINI_SCENARIO.replace("at = 3\n", f"at = {at!r}\n").replace(
            'method = "euler"', f'method = "{method}"'
        )
        + f"\n[variants.x.params]\ndelegation = {delegation!r}\n"
    )
    path = tmp_path / "v.toml"
    path.write_text(text)
    assert load_scenario(path).variants["x"].params["delegation"] == delegation
    _check(path, text, run=True)
