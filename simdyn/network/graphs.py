"""Org graph builders and the reference graphs used to test diffusion.

Every builder returns an undirected :class:`networkx.Graph` whose edges carry ``kind`` (one of
``"hierarchy"``, ``"team"``, ``"cross"``, ``"community"``) and ``strength`` (tie weight; strong team
ties are 1, weak cross-team ties 0.1–0.3), and whose nodes carry ``team`` and ``role``
(``"manager"`` or ``"member"``) where the notion applies. Randomness enters through ``seed`` only.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import networkx as nx
import numpy as np

from simdyn._limits import MAX_NODES
from simdyn._rng import Seed, as_generator
from simdyn.errors import NetworkError

__all__ = [
    "EDGE_KINDS",
    "caveman_with_bridges",
    "connected_caveman",
    "org_graph",
    "random_regular",
    "ring_lattice",
    "sample_spans",
    "watts_strogatz",
]

EDGE_KINDS = ("hierarchy", "team", "cross", "community")
"""The values of the ``kind`` edge attribute."""


def _positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise NetworkError(
            f"{name} must be an integer ≥ {minimum}, got {value!r}",
            where=name,
            hint=f"pass an integer ≥ {minimum}",
        )
    return int(value)


def _probability(value: float, name: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise NetworkError(
            f"{name} must lie in [0, 1], got {value!r}", where=name, hint="pass a probability"
        )
    return float(value)


def _strength_range(value: tuple[float, float], name: str) -> tuple[float, float]:
    low, high = (float(v) for v in value)
    if not 0.0 <= low <= high:
        raise NetworkError(
            f"{name} must be (low, high) with 0 ≤ low ≤ high, got {value!r}",
            where=name,
            hint="for weak ties use e.g. (0.1, 0.3)",
        )
    return low, high


def sample_spans(
    n: int,
    *,
    median: float = 5.5,
    sigma: float = 0.5,
    max_span: int = 30,
    seed: Seed = None,
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Sample ``n`` spans of control from a rounded log-normal distribution.

    Parameters
    ----------
    n : int
        Number of spans to draw.
    median : float
        Median span (the log-normal's ``exp(mu)``); organisations report medians of 5–6.
    sigma : float
        Log-scale spread; larger values give a longer right tail.
    max_span : int
        Spans are clipped to ``[1, max_span]``.
    seed : int, numpy Generator or None
        Random seed.

    Returns
    -------
    ndarray of int64, shape (n,)

    Examples
    --------
    >>> spans = sample_spans(2000, seed=1)
    >>> 5 <= float(np.median(spans)) <= 6
    True
    >>> bool(spans.max() > 2 * np.median(spans))
    True
    """
    n = _positive_int(n, "n", minimum=0)
    if median <= 0 or sigma < 0:
        raise NetworkError(
            f"span distribution needs median > 0 and sigma ≥ 0, got {median!r}, {sigma!r}",
            where="median",
            hint="the default median=5.5, sigma=0.5 matches reported spans of control",
        )
    max_span = _positive_int(max_span, "max_span")
    rng = as_generator(seed)
    raw = rng.lognormal(mean=np.log(median), sigma=sigma, size=n)
    return np.clip(np.rint(raw), 1, max_span).astype(np.int64)


def org_graph(
    n_teams: int = 20,
    *,
    span_median: float = 5.5,
    span_sigma: float = 0.5,
    max_span: int = 30,
    bridge_pairs: Literal["parent", "siblings", "both"] = "both",
    bridge_width: int = 1,
    weak_strength: tuple[float, float] = (0.1, 0.3),
    hierarchy_strength: float = 0.5,
    shortcut_prob: float = 0.0,
    n_communities: int = 0,
    community_size: int = 6,
    community_strength: float = 0.5,
    skill: tuple[float, float] | None = None,
    seed: Seed = None,
) -> nx.Graph[int]:
    """Build a realistic organisation: teams, a reporting hierarchy and weak cross-team ties.

    Construction, in the order the random numbers are drawn:

    1. Each team gets a manager and ``span`` members, ``span`` drawn by :func:`sample_spans`
       (median ``span_median``, long right tail).
    2. The managers form a reporting tree: teams are placed breadth first, each manager taking a
       sampled number of subordinate teams. Manager–boss edges have ``kind="hierarchy"``.
    3. Each team is a clique of strong ties (``kind="team"``, ``strength=1``).
    4. Connected team pairs (a team and its parent team, and/or teams with the same parent)
       get exactly ``bridge_width`` weak ties (``kind="cross"``, strength uniform in
       ``weak_strength``) between distinct random member pairs.
    5. With ``shortcut_prob`` > 0, each node independently gets one weak tie to a random node
       of another team (small-world shortcuts, ``kind="cross"``).
    6. ``n_communities`` communities of practice: cliques of ``community_size`` nodes drawn
       from distinct teams (``kind="community"``). Existing ties are never overwritten.

    Parameters
    ----------
    n_teams : int
        Number of teams (≥ 1).
    span_median, span_sigma, max_span
        Span-of-control distribution, see :func:`sample_spans`. Used for team sizes (members
        per manager) and for the number of subordinate teams per manager.
    bridge_pairs : {"parent", "siblings", "both"}
        Which team pairs are bridged.
    bridge_width : int
        Number of cross-team ties per bridged team pair (0 for none).
    weak_strength : (float, float)
        Range of weak-tie strengths.
    hierarchy_strength : float
        Strength of manager–boss ties.
    shortcut_prob : float
        Per-node probability of one random cross-team shortcut.
    n_communities, community_size, community_strength
        Communities of practice.
    skill : (float, float) or None
        If given, each node gets a ``skill`` attribute uniform in this range.
    seed : int, numpy Generator or None
        Random seed.

    Returns
    -------
    networkx.Graph
        Nodes ``0 … n-1`` with attributes ``team`` (int), ``role`` and optionally ``skill``;
        edges with ``kind`` and ``strength``. ``G.graph`` records ``n_teams`` and
        ``bridge_width``.

    Examples
    --------
    >>> G = org_graph(12, bridge_width=2, seed=7)
    >>> nx.is_connected(G)
    True
    >>> sorted({kind for _, _, kind in G.edges(data="kind")})
    ['cross', 'hierarchy', 'team']
    >>> sum(1 for n, r in G.nodes(data="role") if r == "manager")
    12
    """
    n_teams = _positive_int(n_teams, "n_teams")
    if n_teams > MAX_NODES // 2:
        raise NetworkError(
            f"n_teams = {n_teams:.3g} makes more than {MAX_NODES:.3g} nodes",
            where="n_teams",
            hint=f"simdyn simulates org graphs of at most {MAX_NODES:,} people",
        )
    bridge_width = _positive_int(bridge_width, "bridge_width", minimum=0)
    weak = _strength_range(weak_strength, "weak_strength")
    shortcut_prob = _probability(shortcut_prob, "shortcut_prob")
    n_communities = _positive_int(n_communities, "n_communities", minimum=0)
    community_size = _positive_int(community_size, "community_size", minimum=2)
    if bridge_pairs not in ("parent", "siblings", "both"):
        raise NetworkError(
            f"unknown bridge_pairs {bridge_pairs!r}",
            where="bridge_pairs",
            hint="use 'parent', 'siblings' or 'both'",
        )
    if community_size > n_teams and n_communities > 0:
        raise NetworkError(
            f"community_size {community_size} exceeds n_teams {n_teams}",
            where="community_size",
            hint="a community of practice takes at most one node per team",
        )
    rng = as_generator(seed)
    G: nx.Graph[int] = nx.Graph(n_teams=n_teams, bridge_width=bridge_width)
    spans = sample_spans(n_teams, median=span_median, sigma=span_sigma, max_span=max_span, seed=rng)
    teams = _add_teams(G, spans)
    parent = _add_reporting_tree(
        G, teams, rng, span_median=span_median, span_sigma=span_sigma, strength=hierarchy_strength
    )
    for team in teams:  # teams as cliques of strong ties
        G.add_edges_from(itertools.combinations(team, 2), kind="team", strength=1.0)
    if bridge_width > 0:
        _add_bridges(G, teams, _bridged_pairs(parent, bridge_pairs), bridge_width, weak, rng)
    if shortcut_prob > 0 and n_teams > 1:
        _add_shortcuts(G, shortcut_prob, weak, rng)
    for _ in range(n_communities):
        _add_community(G, teams, community_size, community_strength, rng)
    if skill is not None:
        low, high = _strength_range(skill, "skill")
        values = rng.uniform(low, high, size=G.number_of_nodes())
        for v in range(G.number_of_nodes()):
            G.nodes[v]["skill"] = float(values[v])
    return G


def _add_teams(G: nx.Graph[int], spans: np.ndarray[Any, np.dtype[np.int64]]) -> list[list[int]]:
    """Step 1: a manager (first node) and ``span`` members per team; the teams' node lists."""
    teams: list[list[int]] = []
    next_id = 0
    for t, span in enumerate(spans):
        team = list(range(next_id, next_id + 1 + int(span)))
        next_id += len(team)
        teams.append(team)
        for k, node in enumerate(team):
            G.add_node(node, team=t, role="manager" if k == 0 else "member")
    return teams


def _add_reporting_tree(
    G: nx.Graph[int],
    teams: list[list[int]],
    rng: np.random.Generator,
    *,
    span_median: float,
    span_sigma: float,
    strength: float,
) -> list[int]:
    """Step 2: managers in a reporting tree, breadth first with sampled spans; each team's parent."""
    n_teams = len(teams)
    parent = [-1] * n_teams
    frontier = [0]
    placed = 1
    while placed < n_teams:
        boss = frontier.pop(0)
        n_sub = int(sample_spans(1, median=span_median, sigma=span_sigma, seed=rng)[0])
        for t in range(placed, min(n_teams, placed + n_sub)):
            parent[t] = boss
            frontier.append(t)
            G.add_edge(teams[t][0], teams[boss][0], kind="hierarchy", strength=float(strength))
        placed = min(n_teams, placed + n_sub)
    return parent


def _bridged_pairs(parent: list[int], bridge_pairs: str) -> list[tuple[int, int]]:
    """The team pairs that get weak bridges: a team and its parent, and/or siblings."""
    pairs: list[tuple[int, int]] = []
    if bridge_pairs in ("parent", "both"):
        pairs.extend((parent[t], t) for t in range(1, len(parent)))
    if bridge_pairs in ("siblings", "both"):
        children: dict[int, list[int]] = {}
        for t in range(1, len(parent)):
            children.setdefault(parent[t], []).append(t)
        for sibs in children.values():
            pairs.extend(itertools.combinations(sibs, 2))
    return pairs


def _add_bridges(
    G: nx.Graph[int],
    teams: list[list[int]],
    pairs: list[tuple[int, int]],
    width: int,
    weak: tuple[float, float],
    rng: np.random.Generator,
) -> None:
    """Step 4: exactly ``width`` weak ties between distinct member pairs of each bridged pair."""
    for a, b in pairs:
        candidates = [(u, v) for u in teams[a] for v in teams[b] if not G.has_edge(u, v)]
        if len(candidates) < width:
            raise NetworkError(
                f"bridge_width {width} exceeds the {len(candidates)} possible ties "
                f"between teams {a} and {b}",
                where="bridge_width",
                hint="use a smaller bridge_width or larger teams",
            )
        chosen = rng.choice(len(candidates), size=width, replace=False)
        for idx in chosen:
            u, v = candidates[int(idx)]
            G.add_edge(u, v, kind="cross", strength=float(rng.uniform(*weak)))


def _add_shortcuts(
    G: nx.Graph[int], prob: float, weak: tuple[float, float], rng: np.random.Generator
) -> None:
    """Step 5: each node, with probability ``prob``, one weak tie to a node of another team."""
    n_nodes = G.number_of_nodes()
    team_of = np.array([G.nodes[v]["team"] for v in range(n_nodes)], dtype=np.int64)
    draws = rng.random(n_nodes)
    for src in np.flatnonzero(draws < prob).tolist():
        others = np.flatnonzero(team_of != team_of[src])
        other = int(others[rng.integers(len(others))])
        if not G.has_edge(src, other):
            G.add_edge(src, other, kind="cross", strength=float(rng.uniform(*weak)))


def _add_community(
    G: nx.Graph[int],
    teams: list[list[int]],
    size: int,
    strength: float,
    rng: np.random.Generator,
) -> None:
    """Step 6: one community of practice, a clique of ``size`` nodes from distinct teams."""
    chosen_teams = rng.choice(len(teams), size=size, replace=False)
    members = [int(teams[int(t)][rng.integers(len(teams[int(t)]))]) for t in chosen_teams]
    for u, v in itertools.combinations(members, 2):
        if not G.has_edge(u, v):
            G.add_edge(u, v, kind="community", strength=float(strength))


def ring_lattice(n: int, k: int) -> nx.Graph[int]:
    """Ring lattice: each of ``n`` nodes tied to its ``k`` nearest neighbours (Watts–Strogatz, p=0).

    Examples
    --------
    >>> G = ring_lattice(10, 4)
    >>> sorted(G[0])
    [1, 2, 8, 9]
    """
    n = _positive_int(n, "n")
    k = _positive_int(k, "k", minimum=0)
    if k % 2 or k >= n:
        raise NetworkError(
            f"k must be even and smaller than n, got k={k}, n={n}",
            where="k",
            hint="a ring lattice ties each node to k/2 neighbours on each side",
        )
    G: nx.Graph[int] = nx.watts_strogatz_graph(n, k, 0.0)
    return G


def random_regular(n: int, k: int, *, seed: Seed = None) -> nx.Graph[int]:
    """Random ``k``-regular graph on ``n`` nodes (degree-matched to :func:`ring_lattice`).

    Examples
    --------
    >>> G = random_regular(20, 4, seed=3)
    >>> {d for _, d in G.degree}
    {4}
    """
    n = _positive_int(n, "n")
    k = _positive_int(k, "k", minimum=0)
    if (n * k) % 2 or k >= n:
        raise NetworkError(
            f"no {k}-regular graph on {n} nodes",
            where="k",
            hint="n * k must be even and k < n",
        )
    G: nx.Graph[int] = nx.random_regular_graph(k, n, seed=as_generator(seed))
    return G


def watts_strogatz(n: int, k: int, p: float, *, seed: Seed = None) -> nx.Graph[int]:
    """Watts–Strogatz small world: a ring lattice with each edge rewired with probability ``p``.

    Examples
    --------
    >>> G = watts_strogatz(100, 6, 0.1, seed=1)
    >>> G.number_of_edges()
    300
    """
    n = _positive_int(n, "n")
    k = _positive_int(k, "k", minimum=0)
    p = _probability(p, "p")
    G: nx.Graph[int] = nx.watts_strogatz_graph(n, k, p, seed=as_generator(seed))
    return G


def _label_teams(G: nx.Graph[int], n_teams: int, team_size: int) -> None:
    for t in range(n_teams):
        for k in range(team_size):
            node = t * team_size + k
            G.nodes[node]["team"] = t
            G.nodes[node]["role"] = "manager" if k == 0 else "member"
    for u, v in G.edges:
        G.edges[u, v]["kind"] = "team" if u // team_size == v // team_size else "cross"
        G.edges[u, v]["strength"] = 1.0


def connected_caveman(n_teams: int, team_size: int) -> nx.Graph[int]:
    """Siloed organisation: ``n_teams`` cliques joined in a ring by one rewired edge each.

    Wraps :func:`networkx.connected_caveman_graph` and labels nodes with ``team`` and ``role``.
    Node ``t * team_size + k`` is member ``k`` of team ``t``.

    Examples
    --------
    >>> G = connected_caveman(4, 5)
    >>> nx.is_connected(G), G.nodes[7]["team"]
    (True, 1)
    """
    n_teams = _positive_int(n_teams, "n_teams", minimum=2)
    team_size = _positive_int(team_size, "team_size", minimum=2)
    G: nx.Graph[int] = nx.connected_caveman_graph(n_teams, team_size)
    _label_teams(G, n_teams, team_size)
    return G


def caveman_with_bridges(
    n_teams: int,
    team_size: int,
    *,
    bridge_width: int = 1,
    landing: Literal["distinct", "shared"] = "distinct",
    strength: float = 0.2,
) -> nx.Graph[int]:
    """Teams as cliques in a chain, team ``t`` tied to team ``t+1`` by ``bridge_width`` ties.

    The cliques come from :func:`networkx.caveman_graph`; node ``t * team_size + k`` is member
    ``k`` of team ``t``. Tie ``i`` of a bridge leaves member ``team_size - 1 - i`` of team ``t``
    (always distinct senders) and lands on member ``r_i`` of team ``t+1``:

    * ``landing="distinct"``: ``r_i = i``, so no node has two ties into the previous team;
    * ``landing="shared"``: ``r = 0, 1, 1, 2, 3, …`` — from width 3 on, member 1 receives two
      ties from the previous team, and member 0 one.

    So under an absolute threshold of 2 spreading down the chain from team 0, a team is
    entered exactly when some node has ≥ 2 ties into the adopting team, which happens only
    for ``landing="shared"`` and ``bridge_width >= 3``.

    Parameters
    ----------
    n_teams, team_size : int
        Number and size of teams (cliques).
    bridge_width : int
        Ties between consecutive teams, at most ``team_size - 1``.
    landing : {"distinct", "shared"}
        Where bridge ties land in the receiving team (see above).
    strength : float
        Strength of bridge ties (``kind="cross"``); team ties have strength 1.

    Examples
    --------
    >>> G = caveman_with_bridges(3, 5, bridge_width=3, landing="shared")
    >>> sorted(v for v in G[6] if G.nodes[v]["team"] == 0)
    [2, 3]
    """
    n_teams = _positive_int(n_teams, "n_teams")
    team_size = _positive_int(team_size, "team_size", minimum=2)
    bridge_width = _positive_int(bridge_width, "bridge_width", minimum=0)
    if landing not in ("distinct", "shared"):
        raise NetworkError(
            f"unknown landing {landing!r}", where="landing", hint="use 'distinct' or 'shared'"
        )
    if bridge_width > team_size - 1:
        raise NetworkError(
            f"bridge_width {bridge_width} needs teams larger than {team_size}",
            where="bridge_width",
            hint=f"use bridge_width ≤ {team_size - 1} or larger teams",
        )
    G: nx.Graph[int] = nx.caveman_graph(n_teams, team_size)
    _label_teams(G, n_teams, team_size)
    if landing == "distinct":
        receivers = list(range(bridge_width))
    else:
        receivers = [0, 1, 1, *range(2, max(2, bridge_width - 1))][:bridge_width]
    for t in range(n_teams - 1):
        for i, r in enumerate(receivers):
            u = t * team_size + (team_size - 1 - i)
            v = (t + 1) * team_size + r
            G.add_edge(u, v, kind="cross", strength=float(strength))
    return G
