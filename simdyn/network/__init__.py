"""Org graphs, their sparse operators, and batched diffusion kernels.

Node-level states are arrays of shape ``(n_nodes, n_scenarios)`` (scenario axis last); row
``i`` is node ``nodelist[i]``. Every graph→matrix function takes
``(G, *, nodelist=None, weight="strength")``; :class:`GraphOperators` builds them all once.
"""

from __future__ import annotations

from simdyn.network.analysis import (
    adoption_share,
    convergence_factor,
    gini,
    influence_weights,
    team_codes,
    teams_reached,
    time_to_share,
)
from simdyn.network.contagion import ContagionResult, initial_state, run_contagion
from simdyn.network.graphs import (
    EDGE_KINDS,
    caveman_with_bridges,
    connected_caveman,
    org_graph,
    random_regular,
    ring_lattice,
    sample_spans,
    watts_strogatz,
)
from simdyn.network.kernels import (
    friedkin_johnsen_step,
    knowledge_transfer_rate,
    laplacian_flux,
    min_adopting_neighbours,
    neighbour_mean,
    scenario_generators,
    simple_contagion_step,
    threshold_step,
)
from simdyn.network.loaders import (
    read_edgelist_csv,
    read_graphml,
    write_edgelist_csv,
    write_graphml,
)
from simdyn.network.operators import (
    GraphOperators,
    adjacency_matrix,
    averaging_matrix,
    degree_vector,
    flux_matrix,
    neighbour_count_matrix,
    strength_vector,
)

__all__ = [
    "EDGE_KINDS",
    "ContagionResult",
    "GraphOperators",
    "adjacency_matrix",
    "adoption_share",
    "averaging_matrix",
    "caveman_with_bridges",
    "connected_caveman",
    "convergence_factor",
    "degree_vector",
    "flux_matrix",
    "friedkin_johnsen_step",
    "gini",
    "influence_weights",
    "initial_state",
    "knowledge_transfer_rate",
    "laplacian_flux",
    "min_adopting_neighbours",
    "neighbour_count_matrix",
    "neighbour_mean",
    "org_graph",
    "random_regular",
    "read_edgelist_csv",
    "read_graphml",
    "ring_lattice",
    "run_contagion",
    "sample_spans",
    "scenario_generators",
    "simple_contagion_step",
    "strength_vector",
    "team_codes",
    "teams_reached",
    "threshold_step",
    "time_to_share",
    "watts_strogatz",
    "write_edgelist_csv",
    "write_graphml",
]
