"""Where a planned run starts: the steady state of the style its ``start_from`` names.

The state is that preset's in the model as loaded (its defaults and the preset), not in the
planned model: the scenario's own style, ``params`` and policies act from the start time on,
so every run of a file and every row of a sweep starts from the same organisation. The stocks'
start values become constants of the model that is simulated
(:func:`simdyn.model.start.start_model`), which is how a sweep's batch and a single run of
the same scenario get the same model with the same constants.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from simdyn.model import Model
from simdyn.model.start import start_model
from simdyn.scenario._plan import RunPlan
from simdyn.simulate import start_state

__all__ = ["started"]


def started(plan: RunPlan, graph: nx.Graph[Any] | None = None) -> tuple[Model, dict[str, Any]]:
    """The model a plan's run simulates and the parameters that set its start.

    Parameters
    ----------
    plan
        A planned scenario.
    graph
        The org graph, in network mode.

    Returns
    -------
    (Model, dict)
        ``plan.model`` and no parameters when the scenario has no ``start_from`` style;
        otherwise ``plan.model`` with every stock starting at a constant, and those constants'
        values: the stocks of ``plan.source_model`` at the start time under the style preset.
    """
    sc = plan.scenario
    if not isinstance(sc.start_from, str):
        return plan.model, {}
    t = plan.time
    state = start_state(
        plan.source_model, sc.start_from, start=t.start, dt=t.dt, network=graph, seed=sc.seed
    )
    return start_model(plan.model, state)
