"""Run the vendored XMILE conformance cases in-process (no subprocess per case).

Used by ``tests/xmile/test_conformance.py`` and by ``python tests/xmile/conformance_run.py``,
which prints one line per case and the pass counts. The comparison is the vendored harness's
``compare.py`` (PySD's rule), unmodified.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "conformance"
sys.path.insert(0, str(HERE))
import compare as cmp  # noqa: E402

from simdyn.errors import SimdynError  # noqa: E402
from simdyn.model_run import result_frame, simulate_model_file, write_frame_csv  # noqa: E402


def manifest() -> dict[str, Any]:
    """The vendored manifest."""
    return json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))


def run_case(case: dict[str, Any], rules: tuple[str, ...] = ("pysd", "xmile")) -> dict[str, Any]:
    """Simulate one case once and compare it under each rule.

    Returns ``{"method": <method run>, rule: (status, detail), ...}`` with status ``pass``,
    ``fail`` or ``error``.
    """
    folder = HERE / "cases" / case["folder"]
    out: dict[str, Any] = {"method": None}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, ds = simulate_model_file(folder / case["model"])
    except SimdynError as e:
        return out | {rule: ("error", str(e)) for rule in rules}
    out["method"] = ds.attrs["method"]
    with tempfile.TemporaryDirectory() as td:
        csv = Path(td) / "out.csv"
        write_frame_csv(result_frame(model, ds), csv)
        actual = cmp.load_actual(csv)
    for rule in rules:
        try:
            expected = cmp.load_expected(folder / case["expected"], rule)
        except cmp.ExpectedError as e:
            out[rule] = ("error", f"expected output unreadable: {e}")
            continue
        ok, detail = cmp.compare(expected, actual, rule=rule)
        out[rule] = ("pass" if ok else "fail", detail)
    return out


def main() -> int:
    """Print each case's result under both rules and the pass counts (with PySD's)."""
    cases = manifest()["cases"]
    passed = {"pysd": 0, "xmile": 0}
    for c in cases:
        res = run_case(c)
        for rule in passed:
            passed[rule] += res[rule][0] == "pass"
        detail = next((res[r][1] for r in ("xmile", "pysd") if res[r][1]), "")
        print(
            f"{c['id'][:66]:66s} pysd-rule={res['pysd'][0]:5s} xmile-rule={res['xmile'][0]:5s} "
            f"PySD={c['pysd']['result']:5s} {detail[:120]}"
        )
    pysd = sum(c["pysd"]["result"] == "pass" for c in cases)
    print(f"simdyn: {passed['pysd']} (rule pysd), {passed['xmile']} (rule xmile) of {len(cases)}; PySD 3.14.3: {pysd}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
