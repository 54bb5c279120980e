"""Read and write org graphs: GraphML, and edge-list CSV with an optional node-attribute CSV.

Edge-list CSV: a header naming ``source,target`` and optionally ``strength`` (a number ≥ 0) and
``kind`` (one of ``hierarchy``, ``team``, ``cross``, ``community``); further columns become
string edge attributes. Node CSV: a header naming ``node`` and optionally ``team``, ``role``
(``manager`` or ``member``) and ``skill`` (a number). Node ids and teams are read as strings
unless ``nodetype`` converts them.

Every mistake raises :class:`~simdyn.errors.NetworkError` naming the file and, where there is
one, the line. A graph that is not connected is allowed but gives a :class:`UserWarning`.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
import xml.parsers.expat
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import networkx as nx

from simdyn._files import MAX_GRAPH_BYTES, atomic_file, read_input_bytes
from simdyn.errors import NetworkError
from simdyn.network._common import check_graph
from simdyn.network.graphs import EDGE_KINDS

__all__ = ["read_edgelist_csv", "read_graphml", "write_edgelist_csv", "write_graphml"]

NodeType = Callable[[str], Hashable]

EDGE_COLUMNS = ("source", "target", "strength", "kind")
NODE_COLUMNS = ("node", "team", "role", "skill")
ROLES = ("manager", "member")


def _read_bytes(path: Path) -> bytes:
    """A regular graph file of at most :data:`simdyn._files.MAX_GRAPH_BYTES`."""
    return read_input_bytes(path, what="graph file", error=NetworkError, max_bytes=MAX_GRAPH_BYTES)


def _read_text(path: Path) -> str:
    data = _read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NetworkError(
            "file is not valid UTF-8 text",
            file=str(path),
            line=data[: exc.start].count(b"\n") + 1,
            hint="save the file as UTF-8 CSV",
        ) from None


def _warn_if_disconnected(G: nx.Graph[Any], path: Path) -> None:
    if G.number_of_nodes() > 1 and not nx.is_connected(G):
        k = nx.number_connected_components(G)
        warnings.warn(
            f"{path}: the graph has {k} connected components; diffusion cannot cross between them",
            UserWarning,
            stacklevel=3,
        )


def _number(text: str, *, file: Path, line: int, where: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NetworkError(
            f"{what} {text!r} is not a number",
            file=str(file),
            line=line,
            where=where,
            hint=f"write the {what} as a decimal number such as 0.2",
        ) from None
    if not math.isfinite(value):
        raise NetworkError(
            f"{what} {text!r} is not finite",
            file=str(file),
            line=line,
            where=where,
            hint=f"write the {what} as a finite decimal number",
        )
    return value


class _Table:
    """Rows of a CSV file with their line numbers, checked against a column list."""

    def __init__(self, path: Path, required: tuple[str, ...], known: tuple[str, ...]) -> None:
        self.path = path
        reader = csv.reader(io.StringIO(_read_text(path), newline=""))
        header_line = 1
        header: list[str] | None = None
        self.rows: list[tuple[int, dict[str, str]]] = []
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if header is None:
                    header = [cell.strip() for cell in row]
                    header_line = reader.line_num
                    self._check_header(header, header_line, required, known)
                    continue
                if len(row) != len(header):
                    raise NetworkError(
                        f"expected {len(header)} fields, found {len(row)}",
                        file=str(path),
                        line=reader.line_num,
                        hint=f"every row needs the columns {','.join(header)}",
                    )
                self.rows.append(
                    (reader.line_num, {k: v.strip() for k, v in zip(header, row, strict=True)})
                )
        except csv.Error as exc:
            raise NetworkError(
                f"malformed CSV: {exc}",
                file=str(path),
                line=reader.line_num,
                hint="check the quoting on this line",
            ) from None
        if header is None:
            raise NetworkError(
                "file is empty",
                file=str(path),
                line=1,
                hint=f"the first line must be a header naming {','.join(required)}",
            )
        self.header = header
        self.header_line = header_line

    def _check_header(
        self, header: list[str], line: int, required: tuple[str, ...], known: tuple[str, ...]
    ) -> None:
        for name in required:
            if name not in header:
                raise NetworkError(
                    f"missing column {name!r}",
                    file=str(self.path),
                    line=line,
                    where="header",
                    hint=f"the header must name {','.join(required)} "
                    f"(optional: {','.join(c for c in known if c not in required)})",
                )
        seen: set[str] = set()
        for name in header:
            if name in seen or not name:
                raise NetworkError(
                    f"column {name!r} is empty or repeated",
                    file=str(self.path),
                    line=line,
                    where="header",
                    hint="give each column one non-empty name",
                )
            seen.add(name)


def _convert(text: str, nodetype: NodeType, *, path: Path, line: int, where: str) -> Hashable:
    if not text:
        raise NetworkError(
            "empty node id", file=str(path), line=line, where=where, hint="give every row a node id"
        )
    try:
        return nodetype(text)
    except (TypeError, ValueError) as exc:
        raise NetworkError(
            f"cannot convert node id {text!r}: {exc}",
            file=str(path),
            line=line,
            where=where,
            hint="check nodetype or the id",
        ) from None


def _read_nodes(
    path: Path, nodetype: NodeType
) -> tuple[dict[Hashable, dict[str, Any]], dict[Hashable, int]]:
    table = _Table(path, ("node",), NODE_COLUMNS)
    nodes: dict[Hashable, dict[str, Any]] = {}
    lines: dict[Hashable, int] = {}
    for line, row in table.rows:
        node = _convert(row["node"], nodetype, path=path, line=line, where="node")
        if node in nodes:
            raise NetworkError(
                f"node {node!r} is listed twice (first on line {lines[node]})",
                file=str(path),
                line=line,
                where="node",
                hint="list each node once",
            )
        attrs: dict[str, Any] = {}
        for key, value in row.items():
            if key == "node" or value == "":
                continue
            if key == "role" and value not in ROLES:
                raise NetworkError(
                    f"unknown role {value!r}",
                    file=str(path),
                    line=line,
                    where="role",
                    hint="use 'manager' or 'member'",
                )
            if key == "skill":
                attrs[key] = _number(value, file=path, line=line, where="skill", what="skill")
            else:
                attrs[key] = value
        nodes[node] = attrs
        lines[node] = line
    return nodes, lines


def read_edgelist_csv(
    path: str | Path,
    *,
    nodes_path: str | Path | None = None,
    nodetype: NodeType = str,
) -> nx.Graph[Any]:
    """Read an org graph from an edge-list CSV and an optional node-attribute CSV.

    Parameters
    ----------
    path : str or Path
        Edge list with header ``source,target[,strength][,kind]``.
    nodes_path : str or Path, optional
        Node attributes with header ``node[,team][,role][,skill]``. When given, every edge
        endpoint must be listed there, and listed nodes without edges are kept.
    nodetype : callable
        Converts node ids from text (``str`` by default; ``int`` for numeric ids).

    Returns
    -------
    networkx.Graph

    Raises
    ------
    NetworkError
        Unreadable file, missing column, wrong field count, unknown node id, self-loop,
        duplicate edge, non-numeric or negative strength, unknown kind or role.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "e.csv").write_text("source,target,strength\\na,b,1\\nb,c,0.2\\n")
    >>> G = read_edgelist_csv(d / "e.csv")
    >>> sorted(G.edges(data="strength"))
    [('a', 'b', 1.0), ('b', 'c', 0.2)]
    """
    path = Path(path)
    G: nx.Graph[Any] = nx.Graph()
    known: dict[Hashable, dict[str, Any]] | None = None
    if nodes_path is not None:
        known, _ = _read_nodes(Path(nodes_path), nodetype)
        G.add_nodes_from(known.items())
    table = _Table(path, ("source", "target"), EDGE_COLUMNS)
    edge_line: dict[frozenset[Hashable], int] = {}
    for line, row in table.rows:
        u = _convert(row["source"], nodetype, path=path, line=line, where="source")
        v = _convert(row["target"], nodetype, path=path, line=line, where="target")
        _check_edge(u, v, path=path, line=line, known=known, nodes_path=nodes_path)
        key = frozenset((u, v))
        if key in edge_line:
            raise NetworkError(
                f"duplicate edge ({u!r}, {v!r}), first given on line {edge_line[key]}",
                file=str(path),
                line=line,
                hint="the graph is undirected; give each tie once",
            )
        edge_line[key] = line
        G.add_edge(u, v, **_edge_attrs(row, path=path, line=line))
    if G.number_of_nodes() == 0:
        raise NetworkError(
            "the edge list has no edges",
            file=str(path),
            line=table.header_line,
            hint="add rows source,target below the header",
        )
    _warn_if_disconnected(G, path)
    return G


def _check_edge(
    u: Hashable,
    v: Hashable,
    *,
    path: Path,
    line: int,
    known: dict[Hashable, dict[str, Any]] | None,
    nodes_path: str | Path | None,
) -> None:
    """Refuse an edge to a node the node file does not list, and a self-loop."""
    if known is not None:
        for end, node in (("source", u), ("target", v)):
            if node not in known:
                raise NetworkError(
                    f"unknown node {node!r}",
                    file=str(path),
                    line=line,
                    where=end,
                    hint=f"add it to {nodes_path} or correct the id",
                )
    if u == v:
        raise NetworkError(
            f"self-loop on node {u!r}",
            file=str(path),
            line=line,
            hint="a person's tie to themselves is not an edge; remove the row",
        )


def _edge_attrs(row: dict[str, str], *, path: Path, line: int) -> dict[str, Any]:
    """An edge row's attributes: ``strength`` a number >= 0, ``kind`` a known kind, others as text."""
    attrs: dict[str, Any] = {}
    for col, value in row.items():
        if col in ("source", "target"):
            continue
        if col == "strength":
            w = _number(value, file=path, line=line, where="strength", what="strength")
            if w < 0:
                raise NetworkError(
                    f"negative strength {value}",
                    file=str(path),
                    line=line,
                    where="strength",
                    hint="tie strengths must be ≥ 0 (weak ties 0.1–0.3, team ties 1)",
                )
            attrs[col] = w
        elif col == "kind":
            if value and value not in EDGE_KINDS:
                raise NetworkError(
                    f"unknown kind {value!r}",
                    file=str(path),
                    line=line,
                    where="kind",
                    hint=f"use one of {', '.join(EDGE_KINDS)}",
                )
            if value:
                attrs[col] = value
        elif value:
            attrs[col] = value
    return attrs


def _csv_text(value: Any) -> str:
    return "" if value is None else str(value)


def write_edgelist_csv(
    G: nx.Graph[Any], path: str | Path, *, nodes_path: str | Path | None = None
) -> None:
    """Write ``G`` as an edge-list CSV (and its node attributes to ``nodes_path``).

    The files read back with :func:`read_edgelist_csv` to the same graph (with node ids and
    teams as strings unless ``nodetype`` converts them).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_edgelist_csv(nx.Graph([(1, 2, {"strength": 0.5})]), d / "e.csv")
    >>> print((d / "e.csv").read_text(), end="")
    source,target,strength,kind
    1,2,0.5,
    """
    check_graph(G)
    with (
        atomic_file(path, label="edge-list file") as tmp,
        tmp.open("w", newline="", encoding="utf-8") as f,
    ):
        w = csv.writer(f, lineterminator="\n")
        w.writerow(EDGE_COLUMNS)
        for u, v, data in G.edges(data=True):
            w.writerow([u, v, _csv_text(data.get("strength", 1.0)), _csv_text(data.get("kind"))])
    if nodes_path is not None:
        with (
            atomic_file(nodes_path, label="node table") as tmp,
            tmp.open("w", newline="", encoding="utf-8") as f,
        ):
            w = csv.writer(f, lineterminator="\n")
            w.writerow(NODE_COLUMNS)
            for node, data in G.nodes(data=True):
                w.writerow([node, *(_csv_text(data.get(c)) for c in NODE_COLUMNS[1:])])


class _GraphMLLines:
    """Line numbers of ``<graph>``, ``<node>`` and ``<edge>`` elements, found with expat."""

    def __init__(self, path: Path, text: bytes) -> None:
        self.graph_line: int | None = None
        self.nodes: dict[str, int] = {}
        self.edges: dict[tuple[str, str], list[int]] = {}
        self.anonymous: list[int] = []  # lines of <node> elements without an id
        self.path = path
        parser = xml.parsers.expat.ParserCreate()
        parser.StartElementHandler = self._start
        self._parser = parser
        try:
            parser.Parse(text, True)
        except xml.parsers.expat.ExpatError as exc:
            raise NetworkError(
                f"malformed GraphML: {xml.parsers.expat.errors.messages[exc.code]}",
                file=str(path),
                line=exc.lineno,
                hint="the file must be well-formed XML",
            ) from None

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        line = self._parser.CurrentLineNumber
        local = name.rsplit(":", 1)[-1].rsplit("}", 1)[-1]
        if local == "graph" and self.graph_line is None:
            self.graph_line = line
        elif local == "node":
            if "id" in attrs:
                self.nodes.setdefault(attrs["id"], line)
            else:
                self.anonymous.append(line)
        elif local == "edge":
            key = (attrs.get("source", ""), attrs.get("target", ""))
            self.edges.setdefault(key, []).append(line)

    def check(self) -> None:
        """Every node has an id, every edge joins declared nodes, and there is a node."""
        if self.anonymous:
            raise NetworkError(
                "a <node> without an id",
                file=str(self.path),
                line=self.anonymous[0],
                hint='give every node an id: <node id="n1"/>',
            )
        for (u, v), found in self.edges.items():
            for end, node in (("source", u), ("target", v)):
                if node not in self.nodes:
                    raise NetworkError(
                        f"the edge's {end} {node[:80]!r} is not a declared <node>",
                        file=str(self.path),
                        line=found[0],
                        where=end,
                        hint=f'declare it: <node id="{node[:80]}"/>, or correct the id',
                    )
        if not self.nodes:
            raise NetworkError(
                "the graph has no nodes",
                file=str(self.path),
                line=self.graph_line,
                hint='add <node id="..."/> elements inside <graph>',
            )

    def edge_line(self, u: Any, v: Any) -> int | None:
        """Line of the last ``<edge>`` between ``u`` and ``v`` (either direction)."""
        found = self.edges.get((str(u), str(v)), []) + self.edges.get((str(v), str(u)), [])
        return max(found) if found else None


def read_graphml(
    path: str | Path, *, nodetype: NodeType = str, weight: str = "strength"
) -> nx.Graph[Any]:
    """Read an org graph from GraphML (via :func:`networkx.read_graphml`) and check it.

    The graph must be undirected, without parallel edges or self-loops, and ``weight`` must be
    a number ≥ 0 wherever it is given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.graphml"
    >>> write_graphml(nx.path_graph(3), p)
    >>> sorted(read_graphml(p, nodetype=int).edges)
    [(0, 1), (1, 2)]
    """
    path = Path(path)
    raw = _read_bytes(path)
    lines = _GraphMLLines(path, raw)
    lines.check()
    try:
        node_type: Any = nodetype  # networkx types this as a class; any callable works
        G: nx.Graph[Any] = nx.read_graphml(io.BytesIO(raw), node_type=node_type)
    except (nx.NetworkXError, ValueError, KeyError, TypeError) as exc:
        raise NetworkError(
            f"invalid GraphML: {exc}",
            file=str(path),
            line=lines.graph_line,
            hint="check the <key> declarations and the values they type",
        ) from None
    if G.is_directed():
        raise NetworkError(
            "the graph is directed",
            file=str(path),
            line=lines.graph_line,
            where="graph.edgedefault",
            hint='org graphs are undirected: use edgedefault="undirected"',
        )
    if G.is_multigraph():
        u, v = next((a, b) for a, b in G.edges() if G.number_of_edges(a, b) > 1)
        raise NetworkError(
            f"duplicate edge ({u!r}, {v!r})",
            file=str(path),
            line=lines.edge_line(u, v),
            hint="the graph is undirected; give each tie once",
        )
    for u, v, data in G.edges(data=True):
        if u == v:
            raise NetworkError(
                f"self-loop on node {u!r}",
                file=str(path),
                line=lines.edge_line(u, v),
                hint="a person's tie to themselves is not an edge; remove it",
            )
        if weight in data:
            value = data[weight]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise NetworkError(
                    f"non-numeric {weight} {value!r}",
                    file=str(path),
                    line=lines.edge_line(u, v),
                    where=weight,
                    hint='declare the key with attr.type="double" and give a number ≥ 0',
                )
            if not math.isfinite(value) or value < 0:
                raise NetworkError(
                    f"invalid {weight} {value!r}",
                    file=str(path),
                    line=lines.edge_line(u, v),
                    where=weight,
                    hint="tie strengths must be finite numbers ≥ 0",
                )
    _warn_if_disconnected(G, path)
    return G


def write_graphml(G: nx.Graph[Any], path: str | Path) -> None:
    """Write ``G`` as GraphML (node and edge attributes keep their types).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.graphml"
    >>> write_graphml(nx.Graph([(0, 1, {"strength": 0.2, "kind": "cross"})]), p)
    >>> read_graphml(p, nodetype=int).edges[0, 1]
    {'strength': 0.2, 'kind': 'cross'}
    """
    check_graph(G)
    with atomic_file(path, label="GraphML file") as tmp:
        nx.write_graphml(G, str(tmp))
