"""Loaders: round trips, and located errors for bad files."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from simdyn.errors import NetworkError
from simdyn.network import (
    org_graph,
    read_edgelist_csv,
    read_graphml,
    write_edgelist_csv,
    write_graphml,
)

NODES = "node,team,role,skill\na,1,manager,0.5\nb,1,member,0.2\nc,2,manager,0.9\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_round_trip(tmp_path: Path) -> None:
    G = org_graph(8, bridge_width=2, n_communities=2, community_size=3, skill=(0, 1), seed=3)
    write_edgelist_csv(G, tmp_path / "e.csv", nodes_path=tmp_path / "n.csv")
    H = read_edgelist_csv(tmp_path / "e.csv", nodes_path=tmp_path / "n.csv", nodetype=int)
    assert set(map(frozenset, H.edges)) == set(map(frozenset, G.edges))
    for u, v, data in G.edges(data=True):
        assert H.edges[u, v]["strength"] == data["strength"]
        assert H.edges[u, v]["kind"] == data["kind"]
    for v, data in G.nodes(data=True):
        assert H.nodes[v]["team"] == str(data["team"])
        assert H.nodes[v]["role"] == data["role"]
        assert H.nodes[v]["skill"] == data["skill"]


def test_graphml_round_trip(tmp_path: Path) -> None:
    G = org_graph(6, bridge_width=1, skill=(0, 1), seed=4)
    write_graphml(G, tmp_path / "g.graphml")
    H = read_graphml(tmp_path / "g.graphml", nodetype=int)
    assert dict(H.nodes(data=True)) == dict(G.nodes(data=True))
    assert {frozenset((u, v)): d for u, v, d in H.edges(data=True)} == {
        frozenset((u, v)): d for u, v, d in G.edges(data=True)
    }


def test_csv_nodes_without_edges_are_kept_and_warned_about(tmp_path: Path) -> None:
    edges = write(tmp_path, "e.csv", "source,target\na,b\n")
    nodes = write(tmp_path, "n.csv", NODES)
    with pytest.warns(UserWarning, match="2 connected components"):
        G = read_edgelist_csv(edges, nodes_path=nodes)
    assert sorted(G.nodes) == ["a", "b", "c"]
    assert G.nodes["c"] == {"team": "2", "role": "manager", "skill": 0.9}


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("source,strength\na,1\n", 1, "missing column 'target'"),
        ("\n\nsrc,target\na,b\n", 3, "missing column 'source'"),
        ("source,target,strength\na,b,1\nb,c,-0.5\n", 3, "negative strength"),
        ("source,target,strength\na,b,strong\n", 2, "'strong' is not a number"),
        ("source,target,strength\na,b,nan\n", 2, "not finite"),
        ("source,target\na,b\n\nc,c\n", 4, "self-loop on node 'c'"),
        ("source,target\na,b\nb,a\n", 3, "duplicate edge .* first given on line 2"),
        ("source,target\na,b,1\n", 2, "expected 2 fields, found 3"),
        ("source,target,kind\na,b,friend\n", 2, "unknown kind 'friend'"),
        ("source,target\n,b\n", 2, "empty node id"),
        ("", 1, "file is empty"),
        ("source,target\n", 1, "no edges"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, text: str, line: int, match: str) -> None:
    path = write(tmp_path, "edges.csv", text)
    with pytest.raises(NetworkError, match=match) as info:
        read_edgelist_csv(path)
    assert info.value.file == str(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert info.value.hint


def test_unknown_node_in_edge_list(tmp_path: Path) -> None:
    edges = write(tmp_path, "edges.csv", "source,target\na,b\nb,zed\n")
    nodes = write(tmp_path, "nodes.csv", NODES)
    with pytest.raises(NetworkError, match="unknown node 'zed'") as info:
        read_edgelist_csv(edges, nodes_path=nodes)
    assert (info.value.file, info.value.line, info.value.where) == (str(edges), 3, "target")


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("team,role\n1,member\n", 1, "missing column 'node'"),
        ("node,role\na,boss\n", 2, "unknown role 'boss'"),
        ("node,skill\na,0.1\nb,high\n", 3, "'high' is not a number"),
        ("node\na\nb\na\n", 4, "listed twice"),
    ],
)
def test_node_file_errors(tmp_path: Path, text: str, line: int, match: str) -> None:
    edges = write(tmp_path, "edges.csv", "source,target\na,b\n")
    nodes = write(tmp_path, "nodes.csv", text)
    with pytest.raises(NetworkError, match=match) as info:
        read_edgelist_csv(edges, nodes_path=nodes)
    assert (info.value.file, info.value.line) == (str(nodes), line)


def test_node_ids_that_do_not_convert(tmp_path: Path) -> None:
    path = write(tmp_path, "edges.csv", "source,target\n1,2\n2,x3\n")
    with pytest.raises(NetworkError, match="cannot convert node id 'x3'") as info:
        read_edgelist_csv(path, nodetype=int)
    assert info.value.line == 3


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(NetworkError, match="the graph file does not exist") as info:
        read_edgelist_csv(missing)
    assert info.value.file == str(missing)
    with pytest.raises(NetworkError, match="the graph file does not exist"):
        read_graphml(tmp_path / "nope.graphml")
    binary = tmp_path / "edges.csv"
    binary.write_bytes(b"source,target\na,b\n\xff\xfe,c\n")
    with pytest.raises(NetworkError, match="not valid UTF-8") as info:
        read_edgelist_csv(binary)
    assert info.value.line == 3


GRAPHML_HEAD = """<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="d0" for="edge" attr.name="strength" attr.type="double" />
  <key id="d1" for="edge" attr.name="label" attr.type="string" />
"""


def graphml(body: str, edgedefault: str = "undirected") -> str:
    return (
        GRAPHML_HEAD
        + f'  <graph edgedefault="{edgedefault}">\n'
        + '    <node id="a" />\n    <node id="b" />\n    <node id="c" />\n'
        + body
        + "  </graph>\n</graphml>\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        (
            graphml('    <edge source="a" target="b" />\n    <edge source="c" target="c" />\n'),
            10,
            "self-loop on node 'c'",
        ),
        (
            graphml(
                '    <edge source="a" target="b">\n      <data key="d0">-1</data>\n    </edge>\n'
            ),
            9,
            "invalid strength -1.0",
        ),
        (graphml('    <edge source="a" target="b" />\n', "directed"), 5, "directed"),
        (
            graphml('    <edge source="a" target="b" />\n    <edge source="b" target="a" />\n'),
            10,
            "duplicate edge",
        ),
        (graphml('    <edge source="a" target="b">\n'), 10, "malformed GraphML"),
    ],
)
def test_graphml_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, match: str
) -> None:
    path = write(tmp_path, "org.graphml", text)
    with pytest.raises(NetworkError, match=match) as info:
        read_graphml(path)
    assert info.value.file == str(path)
    assert info.value.line == line


def test_graphml_disconnected_warns(tmp_path: Path) -> None:
    G = nx.Graph([(0, 1), (2, 3)])
    write_graphml(G, tmp_path / "g.graphml")
    with pytest.warns(UserWarning, match="2 connected components"):
        read_graphml(tmp_path / "g.graphml", nodetype=int)


def test_graphml_non_numeric_strength(tmp_path: Path) -> None:
    body = '    <edge source="a" target="b">\n      <data key="d1">x</data>\n    </edge>\n'
    path = write(tmp_path, "org.graphml", graphml(body))
    # a string attribute under another name is fine; only `strength` is checked
    with pytest.warns(UserWarning, match="connected components"):
        assert read_graphml(path).edges["a", "b"] == {"label": "x"}
    swapped = (
        graphml(body)
        .replace('attr.name="strength"', 'attr.name="unused"')
        .replace('attr.name="label"', 'attr.name="strength"')
    )
    path.write_text(swapped, encoding="utf-8")
    with pytest.raises(NetworkError, match="non-numeric strength 'x'") as info:
        read_graphml(path)
    assert (info.value.file, info.value.line) == (str(path), 9)
