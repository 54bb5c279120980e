"""Shared scenarios and helpers of the learning_org reference-mode tests."""

from __future__ import annotations

import simdyn

STYLES = ["directive", "transactional", "facilitative", "laissez_faire"]
DTS = [0.125, 0.0625]
#: +20 % market demand for months 6-30 (R5, R6, M2)
SHOCK = "1 + 0.2 * (STEP(1, 6) - STEP(1, 30))"


def at(da, month: float) -> float:
    """The value of a one-scenario series at ``month``."""
    return float(da.sel(time=month))


def captive_market(model: simdyn.Model, styles: list[str], utilisation: float = 1.0) -> dict:
    """Parameters of a market of captive clients (no switching) sized so that each style
    starts at ``utilisation`` of its capacity: the firm faces demand that does not answer
    its quality or delivery delay (model-science §1.2: a fixed desired performance)."""
    ds = simdyn.simulate(model, presets={"style": styles}, stop=1, save=["capacity"])
    share = model.constants["reference_share"].value
    base = [
        utilisation * float(ds.capacity.isel(scenario=i, time=0)) / share
        for i in range(len(styles))
    ]
    return {
        "market_demand_base": base,
        "quality_share_elasticity": 0.0,
        "delay_share_elasticity": 0.0,
    }
