"""The impact engine: a set of down components → levels per operation and scope, with reasons.

Rules (see README "How impact is computed"):
- a down host takes down what it hosts; only the outermost down component of a chain matches a
  scenario (the broader scenario subsumes the narrower one);
- each matched scenario contributes the guide's rating: an overall level per operation and a
  level per scope (management side, the affected cluster, the other clusters);
- contributions combine to the worst level, keeping every reason;
- for operations carried by the workload clusters, when every cluster is out the estate is out;
- services stay up while one cluster hosting them is healthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from . import template
from .graph import EstateGraph
from .model import MANAGEMENT_SCOPE, Component, Estate, Level, Pack, Scenario, component_id

MANAGEMENT_OPERATIONS = "management-operations"
RUNNING_WORKLOADS = "running-workloads"


@dataclass(frozen=True)
class MatchedScenario:
    """A scenario that applies now, for one down component (per cluster where per cluster)."""

    scenario: Scenario
    component: str
    cluster: str | None
    implies: tuple[str, ...]  # what went down with the component (it hosts them)

    @property
    def instance(self) -> str:
        return f"{self.scenario.id}@{self.cluster}" if self.cluster else self.scenario.id


@dataclass(frozen=True)
class Reason:
    """Why an operation is at a level: which down component, through which path, what it means."""

    operation: str
    level: Level  # the estate-wide level this reason contributes
    components: tuple[str, ...]
    instance: str | None  # the matched scenario instance; None for the all-clusters rule
    cluster: str | None  # the affected cluster of a per-cluster scenario
    scopes: dict[str, Level]  # as in the scenario: affected/other-clusters/clusters/management
    path: tuple[str, ...]
    text: str

    def level_in(self, scope: str) -> Level:
        """The level this reason gives one scope (a cluster name or `management`)."""
        if not self.scopes:  # the all-clusters rule speaks for the estate as a whole
            return Level.OK if scope == MANAGEMENT_SCOPE else self.level
        if scope == MANAGEMENT_SCOPE:
            return self.scopes.get(MANAGEMENT_SCOPE, Level.OK)
        if "clusters" in self.scopes:
            return self.scopes["clusters"]
        return (
            self.scopes["affected"]
            if scope == self.cluster
            else self.scopes.get("other-clusters", Level.OK)
        )

    def concrete_scopes(self) -> dict[str, Level]:
        """The scope levels with the affected cluster named (for exports and JSON)."""
        out = {}
        for key, level in self.scopes.items():
            out[self.cluster if key == "affected" and self.cluster else key] = level
        return out


@dataclass
class OperationResult:
    level: Level
    scopes: dict[str, Level]
    reasons: list[Reason] = field(default_factory=list)

    def reasons_for(self, scope: str | None) -> list[Reason]:
        """Reasons that put a non-ok level on this scope (None: the overall cell)."""
        if scope is None:
            return [
                r
                for r in self.reasons
                if r.level > Level.OK or any(v > Level.OK for v in r.scopes.values())
            ]
        return [r for r in self.reasons if r.level_in(scope) > Level.OK]


@dataclass(frozen=True)
class QueuedChanges:
    cluster: str
    because: tuple[str, ...]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    level: Level
    clusters: tuple[str, ...]
    down_clusters: tuple[str, ...]


@dataclass
class Impact:
    down: tuple[str, ...]
    effective_down: frozenset[str]
    operations: dict[str, OperationResult]
    scenarios: tuple[MatchedScenario, ...]
    queued: tuple[QueuedChanges, ...]
    changes_accepted: bool
    services: tuple[ServiceStatus, ...]
    affected: dict[str, str]  # component → the down component behind it
    scopes: tuple[str, ...]  # management, then the clusters in estate order

    def status(self, cid: str) -> str:
        """`down`, `affected` or `healthy`."""
        if cid in self.effective_down:
            return "down"
        if cid in self.affected:
            return "affected"
        return "healthy"

    @property
    def worst(self) -> Level:
        return max((r.level for r in self.operations.values()), default=Level.OK)


class _Contribution:
    """What one matched scenario gives one operation: the guide's levels, and the reason.

    (A plain slotted class: read in the engine's innermost loop, and free to define at import.)"""

    __slots__ = ("affected", "every", "level", "management", "others", "reason")

    def __init__(
        self,
        level: Level,
        management: Level | None,
        affected: Level,
        others: Level,
        every: Level,
        reason: Reason | None,
    ) -> None:
        self.level = level
        self.management = management
        self.affected = affected
        self.others = others
        self.every = every
        self.reason = reason


class ImpactEngine:
    """Assesses failure sets against one pack and one estate.

    `assess()` is called on every keypress that marks a component down or up, on estates with
    hundreds of clusters, so its cost follows what is down, not the size of the estate: what
    depends only on the estate is computed once (per service the clusters it runs on, per
    component its matched scenario, per operation and component its reason), and the levels
    of the clusters no scenario names are filled in one step.
    """

    def __init__(self, pack: Pack, estate: Estate, graph: EstateGraph | None = None) -> None:
        self.pack = pack
        self.estate = estate
        self.graph = graph or EstateGraph(pack, estate)
        self.operations = pack.graph.operations
        self.clusters = estate.cluster_names
        self.scopes = (MANAGEMENT_SCOPE, *self.clusters)
        self._order = {c.id: i for i, c in enumerate(self.graph.components)}
        self._markable = frozenset(self.graph.markable_ids)
        self._cluster_index = {c: i for i, c in enumerate(self.clusters)}
        self._estate_values = template.variables(estate, None)
        self._values: dict[str, dict[str, str]] = {}  # cluster → placeholder values, on first use
        self._by_kind = {s.trigger: s for s in pack.scenarios}
        self._matched: dict[str, MatchedScenario | None] = {}  # component → its scenario, if any
        self._contribution_cache: dict[
            str, tuple[_Contribution | None, ...]
        ] = {}  # component → per operation
        # Services: each one's entry components, and which services each entry component carries.
        entry = next(
            (o.entry for o in self.operations if o.id == RUNNING_WORKLOADS), "workload-cluster"
        )
        self._service_entries = tuple(
            tuple(component_id(entry, c) for c in svc.clusters) for svc in estate.services
        )
        self._services_ok = tuple(
            ServiceStatus(svc.name, Level.OK, svc.clusters, ()) for svc in estate.services
        )
        self._services_on: dict[str, list[int]] = {}
        for index, entries in enumerate(self._service_entries):
            for cid in dict.fromkeys(entries):
                self._services_on.setdefault(cid, []).append(index)

    def validate(self, ids: Iterable[str]) -> list[Component]:
        """The components for these ids; UserError for unknown or unmarkable ones."""
        return [self.graph.check_markable(cid) for cid in ids]

    def _scenario_of(self, cid: str) -> MatchedScenario | None:
        if cid in self._matched:
            return self._matched[cid]
        comp = self.graph.by_id[cid]
        scenario = self._by_kind.get(comp.kind)
        found = None
        if scenario is not None:
            implies = tuple(sorted(self.graph.closure(cid) - {cid}, key=self._order.__getitem__))
            found = MatchedScenario(scenario, cid, comp.cluster, implies)
        self._matched[cid] = found
        return found

    def match(
        self, down: Iterable[str]
    ) -> tuple[tuple[str, ...], frozenset[str], list[MatchedScenario]]:
        given = list(down)
        ids = set(given)
        if not ids <= self._markable:
            self.validate(given)  # raises the UserError naming the first unknown or unmarkable id
        comps = sorted(ids, key=self._order.__getitem__)
        effective: set[str] = set()
        closure = self.graph.closure
        for cid in comps:
            effective |= closure(cid)
        matched = []
        chain = self.graph.hosts_chain
        for cid in comps:
            if not effective.isdisjoint(chain(cid)):
                continue  # subsumed: something that hosts it is down too
            found = self._scenario_of(cid)
            if found is not None:
                matched.append(found)
        return tuple(comps), frozenset(effective), matched

    def assess(self, down: Iterable[str]) -> Impact:
        """The impact of these components being down (ids as in `tsbrunbook components`)."""
        comps, effective, matched = self.match(down)
        ops = self.operations
        contributions = [self._contributions(m) for m in matched]
        results = {}
        for i, op in enumerate(ops):
            results[op.id] = self._operation(
                op.id, op.all_clusters_out_is_outage, matched, [c[i] for c in contributions]
            )
        queued = self._queued(matched)
        accepted = all(
            m.scenario.impact[MANAGEMENT_OPERATIONS].level < Level.OUTAGE
            for m in matched
            if MANAGEMENT_OPERATIONS in m.scenario.impact
        )
        return Impact(
            down=comps,
            effective_down=effective,
            operations=results,
            scenarios=tuple(matched),
            queued=queued,
            changes_accepted=accepted,
            services=self._services(effective),
            affected=self.graph.affected_by(effective),
            scopes=self.scopes,
        )

    def _cluster_values(self, cluster: str | None) -> dict[str, str]:
        if cluster is None:
            return self._estate_values
        values = self._values.get(cluster)
        if values is None:
            values = self._values[cluster] = template.variables(self.estate, cluster)
        return values

    def _contributions(self, m: MatchedScenario) -> tuple[_Contribution | None, ...]:
        """What one matched scenario gives each operation (in pack order), computed once."""
        found = self._contribution_cache.get(m.component)
        if found is not None:
            return found
        out: list[_Contribution | None] = []
        for op in self.operations:
            imp = m.scenario.impact.get(op.id)
            if imp is None:
                out.append(None)
                continue
            sc = imp.scopes
            reason = None
            if imp.level > Level.OK or any(v > Level.OK for v in sc.values()):
                reason = Reason(
                    operation=op.id,
                    level=imp.level,
                    components=(m.component,),
                    instance=m.instance,
                    cluster=m.cluster,
                    scopes=dict(sc),
                    path=tuple(self.graph.path(op.entry, m.cluster, m.component, op.channels)),
                    text=template.fill(imp.explanation, self._cluster_values(m.cluster)),
                )
            out.append(
                _Contribution(
                    level=imp.level,
                    management=sc.get(MANAGEMENT_SCOPE),
                    affected=sc.get("affected", Level.OK),
                    others=sc.get("other-clusters", Level.OK),
                    every=sc.get("clusters", Level.OK),
                    reason=reason,
                )
            )
        result = self._contribution_cache[m.component] = tuple(out)
        return result

    def _operation(
        self,
        op_id: str,
        all_out_rule: bool,
        matched: list[MatchedScenario],
        contributions: list[_Contribution | None],
    ) -> OperationResult:
        # A cluster's level is the worst of: what estate-wide scenarios give every cluster, what
        # scenarios on that cluster give the affected one, and what scenarios on *other*
        # clusters give the other clusters. Only clusters named by a scenario can differ from the
        # rest, so the others are filled in one step.
        management = Level.OK
        overall = Level.OK
        every = Level.OK  # for every cluster
        affected: dict[str, Level] = {}  # cluster → the worst `affected` of its scenarios
        others: dict[str, Level] = {}  # cluster → the worst `other-clusters` of its scenarios
        reasons = []
        for m, c in zip(matched, contributions, strict=True):
            if c is None:
                continue
            if c.management is not None and c.management > management:
                management = c.management
            cluster = m.cluster
            if cluster is not None:
                if c.affected > affected.get(cluster, Level.OK) or cluster not in affected:
                    affected[cluster] = c.affected
                if c.others > Level.OK and c.others > others.get(cluster, Level.OK):
                    others[cluster] = c.others
            elif c.every > every:
                every = c.every
            overall = max(overall, c.level)
            if c.reason is not None:
                reasons.append(c.reason)
        top = max(others.values(), default=Level.OK)
        holders = [c for c, level in others.items() if level == top]
        # The one cluster holding the worst `other-clusters` level does not get it from itself.
        alone = holders[0] if len(holders) == 1 else None
        base = max(every, top)
        scopes = dict.fromkeys(self.scopes, base)
        scopes[MANAGEMENT_SCOPE] = management
        named: dict[str, Level] = {}
        for c in (*affected, *((alone,) if alone is not None else ())):
            from_others = (
                top
                if c != alone
                else max((lvl for o, lvl in others.items() if o != c), default=Level.OK)
            )
            named[c] = scopes[c] = max(every, affected.get(c, Level.OK), from_others)
        every_cluster_out = all(v == Level.OUTAGE for v in named.values()) and (
            base == Level.OUTAGE or len(named) == len(self.clusters)
        )
        if all_out_rule and overall < Level.OUTAGE and self.clusters and every_cluster_out:
            overall = Level.OUTAGE
            with_reason = {r.instance for r in reasons}
            causes = tuple(dict.fromkeys(m.component for m in matched if m.instance in with_reason))
            reasons.append(
                Reason(
                    operation=op_id,
                    level=Level.OUTAGE,
                    components=causes,
                    instance=None,
                    cluster=None,
                    scopes={},
                    path=(),
                    text="Every workload cluster is out for this operation: no healthy cluster is left to carry it, so the estate as a whole is out.",
                )
            )
        return OperationResult(overall, scopes, reasons)

    def _queued(self, matched: list[MatchedScenario]) -> tuple[QueuedChanges, ...]:
        everywhere: list[tuple[int, str]] = []  # (position in matched, component)
        per_cluster: dict[str, list[tuple[int, str]]] = {}
        for pos, m in enumerate(matched):
            mode = m.scenario.queues_changes
            if mode == "all-clusters":
                everywhere.append((pos, m.component))
            elif mode == "affected-cluster" and m.cluster:
                per_cluster.setdefault(m.cluster, []).append((pos, m.component))
        if not everywhere:
            named = sorted(per_cluster, key=self._cluster_index.__getitem__)
            return tuple(QueuedChanges(c, tuple(comp for _, comp in per_cluster[c])) for c in named)
        shared = tuple(comp for _, comp in everywhere)
        return tuple(
            QueuedChanges(
                c,
                tuple(comp for _, comp in sorted(everywhere + per_cluster[c]))
                if c in per_cluster
                else shared,
            )
            for c in self.clusters
        )

    def _services(self, effective: frozenset[str]) -> tuple[ServiceStatus, ...]:
        touched: set[int] = set()
        for cid in self._services_on.keys() & effective:
            touched.update(self._services_on[cid])
        if not touched:
            return self._services_ok
        out = list(self._services_ok)
        for index in touched:
            svc = self.estate.services[index]
            gone = tuple(
                c
                for c, cid in zip(svc.clusters, self._service_entries[index], strict=True)
                if cid in effective
            )
            level = (
                Level.OK
                if not gone
                else Level.OUTAGE
                if len(gone) == len(svc.clusters)
                else Level.LIMITED
            )
            out[index] = ServiceStatus(svc.name, level, svc.clusters, gone)
        return tuple(out)
