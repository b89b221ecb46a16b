"""The path shown for a reason follows the dependency channels its operation travels (and what
runs on what); it falls back to another dependency only where the operation's channels do not
lead to the failed component."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from tsbrunbook.domain.graph import EstateGraph
from tsbrunbook.domain.runbooks.graph import CHANNELS

EXPECTED_CHANNELS = {
    "running-workloads": ("config",),
    "local-cluster-operations": ("config", "service-discovery"),
    "metrics-collection": ("metrics",),
    "management-operations": ("storage", "config"),
}


def concrete(path: tuple[str, ...], cluster: str = "eu-west") -> list[str]:
    return [p.replace("/*", "/" + cluster) for p in path]


def hop_ok(graph: EstateGraph, a: str, b: str, channels: tuple[str, ...]) -> bool:
    """a → b is a hosting edge (a runs on b) or a leg of a dependency over one of `channels`
    (source → via, via → target, or source → target when there is no via)."""
    if graph.host_of.get(a) == b:
        return True
    ka, kb = graph.by_id[a].kind, graph.by_id[b].kind
    for dep in graph.pack.graph.dependencies:
        if dep.channel not in channels:
            continue
        legs = (
            [(dep.source, dep.via), (dep.via, dep.target)]
            if dep.via
            else [(dep.source, dep.target)]
        )
        if (ka, kb) in legs:
            return True
    return False


def off_channel_reasons(engine) -> set[tuple[str, str]]:
    """(down component kind, operation) of every reason whose path leaves the operation's channels."""
    graph = engine.graph
    ops = {op.id: op for op in engine.pack.graph.operations}
    out = set()
    for comp in graph.markable_ids:
        if graph.by_id[comp].cluster not in (None, "eu-west"):
            continue
        for op_id, res in engine.assess([comp]).operations.items():
            for reason in res.reasons:
                path = concrete(reason.path)
                if not all(hop_ok(graph, a, b, ops[op_id].channels) for a, b in pairwise(path)):
                    out.add((graph.by_id[comp].kind, op_id))
    return out


def test_operations_name_their_channels(pack):
    assert {op.id: op.channels for op in pack.graph.operations} == EXPECTED_CHANNELS
    assert all(set(op.channels) <= set(CHANNELS) for op in pack.graph.operations)


def test_management_plane_metrics_path_travels_the_metrics_channel(engine):
    (reason,) = engine.assess(["management-plane"]).operations["metrics-collection"].reasons
    assert reason.path == ("edge-control-plane/*", "connectivity/*", "management-plane")
    edge, link, mp = concrete(reason.path)
    assert hop_ok(engine.graph, edge, link, ("metrics",)) and hop_ok(
        engine.graph, link, mp, ("metrics",)
    )
    # Not through iam's tokens (management-api): that is not how metrics travel.
    assert engine.graph.kind_path("edge-control-plane", "management-plane", ("metrics",)) == (
        "edge-control-plane",
        "connectivity",
        "management-plane",
    )


def test_management_cluster_paths_differ_by_operation(engine):
    ops = engine.assess(["management-cluster"]).operations
    (metrics,) = ops["metrics-collection"].reasons
    (local,) = ops["local-cluster-operations"].reasons
    (management,) = ops["management-operations"].reasons
    assert metrics.path == (
        "edge-control-plane/*",
        "connectivity/*",
        "management-plane",
        "management-cluster",
    )
    assert local.path == (
        "edge-control-plane/*",
        "connectivity/*",
        "central-control-plane",
        "management-cluster",
    )
    assert management.path == ("management-plane", "management-cluster")


def test_every_reason_path_stays_on_its_channels_unless_none_leads_there(engine):
    # ElasticSearch's effect on management operations (dark dashboards) is over the metrics
    # channel, which management operations do not travel: the one documented fallback.
    assert off_channel_reasons(engine) == {("elasticsearch", "management-operations")}


def test_falls_back_to_any_path_when_the_channels_do_not_lead_there(pack, estate):
    no_front_envoy_metrics = tuple(
        d
        for d in pack.graph.dependencies
        if not (
            d.source == "edge-control-plane"
            and d.target == "management-plane"
            and d.channel == "metrics"
        )
    )
    graph = EstateGraph(
        replace(pack, graph=replace(pack.graph, dependencies=no_front_envoy_metrics)), estate
    )
    # Over metrics alone the management plane cannot be reached any more; any dependency can.
    assert graph.path("edge-control-plane", None, "management-plane", ("metrics",)) == [
        "edge-control-plane/*",
        "connectivity/*",
        "management-plane",
    ]
    assert graph.kind_path("edge-control-plane", "management-plane", ()) == (
        "edge-control-plane",
        "connectivity",
        "management-plane",
    )


def test_placement_decides_whether_a_data_store_runs_on_the_management_cluster(pack, estate):
    external = EstateGraph(pack, estate)
    embedded = EstateGraph(
        pack,
        replace(
            estate,
            datastores={
                **estate.datastores,
                "elasticsearch": replace(estate.datastores["elasticsearch"], placement="embedded"),
            },
        ),
    )
    assert external.kind_path("elasticsearch", "management-cluster", ("metrics",)) is None
    assert embedded.kind_path("elasticsearch", "management-cluster", ("metrics",)) == (
        "elasticsearch",
        "management-cluster",
    )
