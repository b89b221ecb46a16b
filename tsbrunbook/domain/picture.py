"""The dependency graph as text a README or wiki renders: Mermaid or Graphviz DOT."""

from __future__ import annotations

import re

from .graph import EstateGraph

_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _node_id(cid: str) -> str:
    return _SAFE.sub("_", cid)


def _label(text: str) -> str:
    return text.replace('"', "'")


def mermaid(graph: EstateGraph) -> str:
    g = graph.to_networkx()
    out = ["flowchart LR"]
    groups: dict[str | None, list[str]] = {}
    for cid, data in g.nodes(data=True):
        groups.setdefault(data["cluster"], []).append(cid)
    for cluster, members in groups.items():
        title = (
            f"management cluster {graph.estate.management.cluster}"
            if cluster is None
            else f"workload cluster {cluster}"
        )
        out.append(
            f'  subgraph {_node_id("scope_" + (cluster or "management"))}["{_label(title)}"]'
        )
        for cid in members:
            out.append(f'    {_node_id(cid)}["{_label(g.nodes[cid]["title"])}"]')
        out.append("  end")
    for a, b, data in g.edges(data=True):
        if data["relation"] == "hosts":
            out.append(f"  {_node_id(a)} -. hosts .-> {_node_id(b)}")
        else:
            out.append(f'  {_node_id(a)} -- "{data["channel"]}" --> {_node_id(b)}')
    return "\n".join(out) + "\n"


def dot(graph: EstateGraph) -> str:
    g = graph.to_networkx()
    out = ["digraph tsb {", "  rankdir=LR;", "  node [shape=box];"]
    groups: dict[str | None, list[str]] = {}
    for cid, data in g.nodes(data=True):
        groups.setdefault(data["cluster"], []).append(cid)
    for cluster, members in groups.items():
        title = (
            f"management cluster {graph.estate.management.cluster}"
            if cluster is None
            else f"workload cluster {cluster}"
        )
        out.append(f'  subgraph "cluster_{cluster or "management"}" {{')
        out.append(f'    label="{_label(title)}";')
        for cid in members:
            out.append(f'    "{cid}" [label="{_label(g.nodes[cid]["title"])}"];')
        out.append("  }")
    for a, b, data in g.edges(data=True):
        if data["relation"] == "hosts":
            out.append(f'  "{a}" -> "{b}" [style=dashed, label="hosts"];')
        else:
            out.append(f'  "{a}" -> "{b}" [label="{data["channel"]}"];')
    out.append("}")
    return "\n".join(out) + "\n"
