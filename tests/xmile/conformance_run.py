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


def run_case(case: dict[str, Any], rule: str = "xmile", method: str | None = None) -> tuple[str, str]:
    """``(status, detail)`` of one case: ``pass``, ``fail`` or ``error``."""
    folder = HERE / "cases" / case["folder"]
    try:
        expected = cmp.load_expected(folder / case["expected"], rule)
    except cmp.ExpectedError as e:
        return "error", f"expected output unreadable: {e}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, ds = simulate_model_file(folder / case["model"], method=method)
    except SimdynError as e:
        return "error", str(e)
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / "out.csv"
        write_frame_csv(result_frame(model, ds), out)
        actual = cmp.load_actual(out)
    ok, detail = cmp.compare(expected, actual, rule=rule)
    return ("pass" if ok else "fail"), detail


def main(argv: list[str]) -> int:
    rule = argv[0] if argv else "xmile"
    cases = manifest()["cases"]
    passed = 0
    for c in cases:
        status, detail = run_case(c, rule)
        passed += status == "pass"
        pysd = c["pysd"]["result"]
        print(f"{c['id'][:70]:70s} {status:5s} pysd={pysd:5s} {detail[:150]}")
    pysd_pass = sum(c["pysd"]["result"] == "pass" for c in cases)
    print(f"rule={rule}: simdyn {passed} passed of {len(cases)}; PySD {pysd_pass}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
