"""The vendored SDXorg XMILE cases: no case that passed before may fail now."""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_run import manifest, run_case

EXPECTED = Path(__file__).with_name("expected_pass.txt")


def _expected() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            case, *rules = line.split()
            out[case] = set(rules)
    return out


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, object]]:
    return {c["id"]: run_case(c) for c in manifest()["cases"]}


def test_no_expected_pass_fails(results: dict[str, dict[str, object]]) -> None:
    broken = []
    for case, rules in _expected().items():
        for rule in rules:
            status, detail = results[case][rule]  # type: ignore[misc]
            if status != "pass":
                broken.append(f"{case} ({rule}): {status} {detail}")
    assert not broken, "\n".join(broken)


def test_every_case_pysd_passes_passes(results: dict[str, dict[str, object]]) -> None:
    pysd_passes = [c["id"] for c in manifest()["cases"] if c["pysd"]["result"] == "pass"]
    assert len(pysd_passes) == 45
    assert [c for c in pysd_passes if results[c]["pysd"][0] != "pass"] == []  # type: ignore[index]


def test_declared_method_is_used(results: dict[str, dict[str, object]]) -> None:
    declared = {c["id"]: c["sim_method"] for c in manifest()["cases"] if c["sim_method"]}
    rk4 = [c for c, m in declared.items() if m == "RK4"]
    assert rk4, "the shared set has an RK4 case"
    for case, method in declared.items():
        if results[case]["method"] is not None:
            assert results[case]["method"] == method.lower(), case


def test_unreachable_cases_fail_with_one_located_error(
    results: dict[str, dict[str, object]],
) -> None:
    for c in manifest()["cases"]:
        issues = " ".join(c["known_issues"])
        if "???" in issues or "no <macro> definition" in issues:
            status, detail = results[c["id"]]["xmile"]  # type: ignore[misc]
            assert status == "error"
            assert c["model"] in str(detail)
            assert "<aux name=" in str(detail)
