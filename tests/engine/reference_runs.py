"""Runs whose outputs were stored before the compiler was split into passes.

``python tests/engine/reference_runs.py`` rewrites ``data/pre_passes_outputs.npz``; the test
``test_pass_equivalence.py`` checks today's outputs equal the stored ones (to 1e-13 of each variable's scale).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

import simdyn
from simdyn.network import org_graph

DATA = Path(__file__).parent / "data" / "pre_passes_outputs.npz"

#: a model with every smooth and delay, INIT, a lookup, STEP/PULSE/RAMP and a non-negative stock
BUILTINS_MODEL = {
    "model": {"name": "stateful_mix", "time_units": "month"},
    "time": {"start": 0, "stop": 12, "dt": 0.25},
    "constants": {"tau": {"value": 2.0}, "gain": {"value": 1.5}},
    "lookups": {"effect": {"points": [[0, 0], [5, 1], [20, 1.5]]}},
    "stocks": {
        "s": {"initial": "10", "inflows": ["inflow"], "outflows": ["outflow"], "non_negative": True}
    },
    "flows": {
        "inflow": {
            "equation": "SMTH1(STEP(4, 3), tau) + DELAY3(PULSE(2, 1), tau) + RAMP(0.2, 1, 6)"
        },
        "outflow": {"equation": "gain * SMTH3(s, tau) + DELAYN(s, tau, 4) / 10"},
    },
    "auxiliaries": {
        "a": {"equation": "DELAY1(s, tau, 3) + INIT(s) + effect(s) + DELAY(s, 1.5)"},
        "b": {"equation": "SMTH1(a, 1, 2) * DELAY(inflow, 0.75, 1)"},
    },
}


def runs() -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """(key, saved arrays) for each reference run."""
    cases: list[tuple[str, simdyn.Model | str, dict[str, object]]] = []
    for name in ("teacup", "sir", "bass", "logistic", "capability_trap", "workforce_chain"):
        short = {"stop": 30} if name == "workforce_chain" else {}
        cases += [(f"{name}/euler", name, {"method": "euler", **short})]
        cases += [(f"{name}/rk4", name, {"method": "rk4", **short})]
    cases.append(("sir/RK45", "sir", {"method": "RK45"}))
    cases.append(
        (
            "learning_org/rk4",
            "learning_org",
            {"method": "rk4", "stop": 24, "presets": {"style": ["transactional", "facilitative"]}},
        )
    )
    cases.append(("learning_org/euler", "learning_org", {"method": "euler", "stop": 24}))
    cases.append(
        (
            "learning_org_network/euler",
            "learning_org_network",
            {"method": "euler", "network": org_graph(12, seed=1), "seed": 3, "stop": 12},
        )
    )
    mix = simdyn.model_from_dict(BUILTINS_MODEL)
    cases += [("stateful_mix/rk4", mix, {"method": "rk4"})]
    cases += [("stateful_mix/RK45", mix, {"method": "RK45", "stop": 6})]
    for key, model, kw in cases:
        ds = simdyn.simulate(model, **kw)  # type: ignore[arg-type]
        yield key, {v: ds[v].values for v in ds.data_vars if ds[v].dtype.kind == "f"}


def flat() -> dict[str, np.ndarray]:
    """Every run's arrays under ``run/variable`` keys."""
    return {f"{key}/{v}": arr for key, arrays in runs() for v, arr in arrays.items()}


if __name__ == "__main__":
    out = flat()
    np.savez_compressed(DATA, **out)
    print(f"{len(out)} arrays -> {DATA}")
