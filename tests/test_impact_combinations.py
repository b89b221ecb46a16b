"""Combinations the guide does not tabulate: subsumption, worst-of, redundancy, all clusters down."""

from __future__ import annotations

import pytest

from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.model import Level

CLUSTERS = ("eu-west", "eu-central", "us-east", "ap-south")


def levels(impact):
    return {op: r.level for op, r in impact.operations.items()}


def test_management_cluster_subsumes_its_planes(engine):
    impact = engine.assess(["management-cluster", "management-plane", "central-control-plane"])
    assert [m.instance for m in impact.scenarios] == ["management-cluster-failure"]
    assert levels(impact) == levels(engine.assess(["management-cluster"]))
    assert {"management-plane", "central-control-plane"} <= impact.effective_down


def test_workload_cluster_subsumes_edge_and_link(engine):
    impact = engine.assess(
        ["workload-cluster/eu-west", "edge-control-plane/eu-west", "connectivity/eu-west"]
    )
    assert [m.instance for m in impact.scenarios] == ["workload-cluster-failure@eu-west"]
    assert impact.scenarios[0].implies == (
        "edge-control-plane/eu-west",
        "connectivity/eu-west",
        "data-plane/eu-west",
    )


def test_edge_on_one_cluster_and_link_on_another_are_two_scenarios(engine):
    impact = engine.assess(["edge-control-plane/eu-west", "connectivity/us-east"])
    assert [m.instance for m in impact.scenarios] == [
        "edge-control-plane-failure@eu-west",
        "connectivity-loss@us-east",
    ]
    assert [q.cluster for q in impact.queued] == ["eu-west", "us-east"]


def test_worst_of_with_every_reason(engine):
    impact = engine.assess(["workload-cluster/eu-west", "management-plane"])
    assert levels(impact) == {
        "running-workloads": Level.LIMITED,
        "local-cluster-operations": Level.LIMITED,
        "metrics-collection": Level.LIMITED,
        "management-operations": Level.OUTAGE,
    }
    metrics = impact.operations["metrics-collection"]
    assert {r.components for r in metrics.reasons} == {
        ("workload-cluster/eu-west",),
        ("management-plane",),
    }
    # Per scope: eu-west is out for metrics (its own failure), the others limited (management plane).
    assert metrics.scopes["eu-west"] == Level.OUTAGE
    assert metrics.scopes["us-east"] == Level.LIMITED
    assert metrics.reasons_for("eu-west") and metrics.reasons_for("us-east")
    assert not impact.changes_accepted


def test_redundancy_service_stays_up_while_one_cluster_hosts_it(engine):
    impact = engine.assess(["workload-cluster/eu-west"])
    services = {s.name: s for s in impact.services}
    assert services["checkout"].level == Level.LIMITED  # also on eu-central
    assert services["checkout"].down_clusters == ("eu-west",)
    assert services["payments"].level == Level.OK
    impact = engine.assess(["workload-cluster/eu-west", "workload-cluster/eu-central"])
    services = {s.name: s for s in impact.services}
    assert services["checkout"].level == Level.OUTAGE
    assert services["payments"].level == Level.OUTAGE
    assert services["storefront"].level == Level.LIMITED
    # Two clusters still serve: the estate is limited, not out.
    assert impact.operations["running-workloads"].level == Level.LIMITED


def test_single_homed_service_outage_does_not_change_the_seed_rating(engine):
    impact = engine.assess(["workload-cluster/ap-south"])
    services = {s.name: s for s in impact.services}
    assert services["search"].level == Level.OUTAGE
    assert impact.operations["running-workloads"].level == Level.LIMITED


def test_all_clusters_down_is_an_outage(engine):
    impact = engine.assess([f"workload-cluster/{c}" for c in CLUSTERS])
    lv = levels(impact)
    assert (
        lv["running-workloads"]
        == lv["local-cluster-operations"]
        == lv["metrics-collection"]
        == Level.OUTAGE
    )
    assert lv["management-operations"] == Level.OK
    rule = [r for r in impact.operations["running-workloads"].reasons if r.instance is None]
    assert len(rule) == 1 and set(rule[0].components) == {f"workload-cluster/{c}" for c in CLUSTERS}
    assert all(s.level == Level.OUTAGE for s in impact.services)


def test_all_but_one_cluster_down_is_still_limited(engine):
    impact = engine.assess([f"workload-cluster/{c}" for c in CLUSTERS[:-1]])
    assert impact.operations["running-workloads"].level == Level.LIMITED


def test_all_edges_down_is_limited_not_outage(engine):
    impact = engine.assess([f"edge-control-plane/{c}" for c in CLUSTERS])
    assert impact.operations["local-cluster-operations"].level == Level.LIMITED


def test_central_control_plane_queues_for_every_cluster(engine):
    impact = engine.assess(["central-control-plane"])
    assert [q.cluster for q in impact.queued] == list(CLUSTERS)
    assert impact.changes_accepted


def test_embedded_postgres_goes_down_with_the_management_cluster(pack, estate):
    from dataclasses import replace

    from tsbrunbook.domain.impact import ImpactEngine
    from tsbrunbook.domain.model import Datastore

    embedded = replace(
        estate, datastores={**estate.datastores, "postgres": Datastore("embedded", True, True)}
    )
    engine = ImpactEngine(pack, embedded)
    impact = engine.assess(["management-cluster", "postgres"])
    assert "postgres" in impact.effective_down
    assert [m.instance for m in impact.scenarios] == ["management-cluster-failure"]
    # External Postgres is its own failure next to the management cluster's.
    impact = ImpactEngine(pack, estate).assess(["management-cluster", "postgres"])
    assert [m.instance for m in impact.scenarios] == [
        "management-cluster-failure",
        "postgres-failure",
    ]


def test_data_stores_levels(engine):
    assert [r.level.id for r in engine.assess(["postgres"]).operations.values()] == [
        "ok",
        "ok",
        "ok",
        "outage",
    ]
    assert [r.level.id for r in engine.assess(["elasticsearch"]).operations.values()] == [
        "ok",
        "ok",
        "outage",
        "limited",
    ]


def test_affected_components_follow_dependencies(engine):
    impact = engine.assess(["central-control-plane"])
    assert impact.status("central-control-plane") == "down"
    assert impact.status("edge-control-plane/eu-west") == "affected"
    assert impact.status("postgres") == "healthy"
    assert impact.affected["edge-control-plane/eu-west"] == "central-control-plane"


def test_reasons_name_a_dependency_path(engine):
    impact = engine.assess(["postgres"])
    (reason,) = impact.operations["management-operations"].reasons
    assert reason.path == ("management-plane", "postgres")
    impact = engine.assess(["connectivity/eu-west"])
    (reason,) = impact.operations["local-cluster-operations"].reasons
    assert reason.path == ("edge-control-plane/eu-west", "connectivity/eu-west")
    assert "eu-west" in reason.text and "{{" not in reason.text


def test_non_ok_levels_always_have_reasons(engine):
    for comp in engine.graph.markable_ids:
        impact = engine.assess([comp])
        for op, res in impact.operations.items():
            if res.level > Level.OK:
                assert res.reasons, (comp, op)
            for scope, level in res.scopes.items():
                if level > Level.OK:
                    assert res.reasons_for(scope), (comp, op, scope)


@pytest.mark.parametrize(
    "bad, hint",
    [
        ("workload-cluster/eu-wst", "workload-cluster/eu-west"),
        ("mangement-plane", "management-plane"),
    ],
)
def test_unknown_ids_suggest_the_closest(engine, bad, hint):
    with pytest.raises(UserError) as info:
        engine.assess([bad])
    assert bad in str(info.value) and hint in str(info.value)


def test_data_plane_is_not_markable(engine):
    with pytest.raises(UserError, match="cannot be marked down"):
        engine.assess(["data-plane/eu-west"])
