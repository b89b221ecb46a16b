"""The engine's fast paths agree with a plain, cluster-by-cluster reading of the rules.

`ImpactEngine` fills the levels of clusters no scenario names in one step, indexes services by
cluster and caches each scenario's contribution (see its docstring). This recomputes levels,
queued changes and services the slow, obvious way for random failure sets and compares.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.test_monotone import make_estate
from tsbrunbook.domain.impact import ImpactEngine
from tsbrunbook.domain.model import MANAGEMENT_SCOPE, Level, component_id


def reference_levels(engine: ImpactEngine, matched, op) -> tuple[Level, dict[str, Level]]:
    scopes = dict.fromkeys(engine.scopes, Level.OK)
    overall = Level.OK
    for m in matched:
        imp = m.scenario.impact.get(op.id)
        if imp is None:
            continue
        sc = imp.scopes
        scopes[MANAGEMENT_SCOPE] = max(scopes[MANAGEMENT_SCOPE], sc.get(MANAGEMENT_SCOPE, Level.OK))
        for c in engine.clusters:
            if m.cluster is None:
                level = sc.get("clusters", Level.OK)
            elif c == m.cluster:
                level = sc.get("affected", Level.OK)
            else:
                level = sc.get("other-clusters", Level.OK)
            scopes[c] = max(scopes[c], level)
        overall = max(overall, imp.level)
    if (
        op.all_clusters_out_is_outage
        and engine.clusters
        and all(scopes[c] == Level.OUTAGE for c in engine.clusters)
    ):
        overall = Level.OUTAGE
    return overall, scopes


def rerated(pack, rnd: random.Random):
    """The pack with per-cluster scenarios rated at random, `other-clusters` included: the
    bundled guide rates other clusters OK everywhere, which would leave that path untested."""
    levels = list(Level)
    scenarios = []
    for sc in pack.scenarios:
        impact = {}
        for op, imp in sc.impact.items():
            if "affected" in imp.scopes:
                scopes = {
                    **imp.scopes,
                    "affected": rnd.choice(levels),
                    "other-clusters": rnd.choice(levels),
                }
                imp = replace(imp, scopes=scopes, level=rnd.choice(levels))
            impact[op] = imp
        scenarios.append(replace(sc, impact=impact))
    return replace(pack, scenarios=tuple(scenarios))


@pytest.mark.parametrize("n_clusters", [1, 2, 3, 7])
@pytest.mark.parametrize("embedded", [False, True])
@pytest.mark.parametrize("ratings", ["guide", "random"])
def test_fast_engine_matches_the_plain_rules(pack, estate, n_clusters, embedded, ratings):
    rnd = random.Random(n_clusters * 10 + embedded)
    services = [[rnd.randrange(50) for _ in range(rnd.randint(1, 3))] for _ in range(6)]
    if ratings == "random":
        pack = rerated(pack, rnd)
    engine = ImpactEngine(pack, make_estate(estate, n_clusters, services, embedded, embedded))
    ids = list(engine.graph.markable_ids)
    entry = next(o.entry for o in engine.operations if o.id == "running-workloads")
    for _ in range(150):
        down = rnd.sample(ids, rnd.randint(0, len(ids)))
        impact = engine.assess(down)
        matched = list(impact.scenarios)
        for op in engine.operations:
            overall, scopes = reference_levels(engine, matched, op)
            result = impact.operations[op.id]
            assert result.level == overall, (down, op.id)
            assert list(result.scopes.items()) == list(scopes.items()), (down, op.id)
        queued: dict[str, list[str]] = {}
        for m in matched:
            mode = m.scenario.queues_changes
            for c in engine.clusters:
                if mode == "all-clusters" or (mode == "affected-cluster" and c == m.cluster):
                    queued.setdefault(c, []).append(m.component)
        assert [(q.cluster, list(q.because)) for q in impact.queued] == [
            (c, queued[c]) for c in engine.clusters if c in queued
        ]
        for svc, status in zip(engine.estate.services, impact.services, strict=True):
            gone = tuple(c for c in svc.clusters if component_id(entry, c) in impact.effective_down)
            want = (
                Level.OK
                if not gone
                else Level.OUTAGE
                if len(gone) == len(svc.clusters)
                else Level.LIMITED
            )
            assert (status.name, status.level, status.down_clusters) == (svc.name, want, gone)
