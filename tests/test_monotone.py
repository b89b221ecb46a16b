"""Property: marking one more component down never makes any level better."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tsbrunbook.domain.impact import ImpactEngine
from tsbrunbook.domain.model import Datastore, Estate, Service, WorkloadCluster


def make_estate(
    base: Estate, n_clusters: int, services: list[list[int]], pg_embedded: bool, es_embedded: bool
) -> Estate:
    from dataclasses import replace

    clusters = tuple(WorkloadCluster(f"c{i}", f"r{i % 3}", f"ctx{i}") for i in range(n_clusters))
    svcs = tuple(
        Service(f"s{j}", tuple(dict.fromkeys(f"c{i % n_clusters}" for i in idx)))
        for j, idx in enumerate(services)
    )
    return replace(
        base,
        clusters=clusters,
        services=svcs,
        datastores={
            "postgres": Datastore("embedded" if pg_embedded else "external", None, None),
            "elasticsearch": Datastore("embedded" if es_embedded else "external", None, None),
        },
    )


@st.composite
def scenarios(draw):
    n = draw(st.integers(min_value=1, max_value=6))
    services = draw(st.lists(st.lists(st.integers(0, 50), min_size=1, max_size=3), max_size=5))
    flags = draw(st.tuples(st.booleans(), st.booleans()))
    return n, services, flags, draw(st.randoms(use_true_random=False))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_one_more_failure_never_improves_anything(pack, estate, case):
    n, services, (pg, es), rnd = case
    engine = ImpactEngine(pack, make_estate(estate, n, services, pg, es))
    ids = list(engine.graph.markable_ids)
    rnd.shuffle(ids)
    down: list[str] = []
    before = engine.assess(down)
    for cid in ids[: rnd.randint(1, len(ids))]:
        down.append(cid)
        after = engine.assess(down)
        for op, res in after.operations.items():
            old = before.operations[op]
            assert res.level >= old.level, (down, op)
            for scope, level in res.scopes.items():
                assert level >= old.scopes[scope], (down, op, scope)
        for old_svc, new_svc in zip(before.services, after.services, strict=True):
            assert new_svc.level >= old_svc.level
        assert before.effective_down <= after.effective_down
        before = after
