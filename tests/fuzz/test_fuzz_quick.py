"""The quick fuzz profile: a few hundred hostile cases, 0 tracebacks, hangs or blow-ups."""

from __future__ import annotations

import simdyn.cli  # noqa: F401  (imported before the forks)
from tests.fuzz.fuzz import run_profile


def test_quick_fuzz_profile() -> None:
    tally = run_profile(200, seed=0, scenario_every=4)
    assert tally.bad == 0, tally.line() + "\n" + "\n---\n".join(tally.examples)
    assert tally.cases == 200
    assert tally.total("ok") > 0  # the generators reach finished runs, not only errors
