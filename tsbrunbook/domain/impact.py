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

from dataclasses import dataclass, field
from typing import Iterable

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
        return self.scopes["affected"] if scope == self.cluster else self.scopes.get("other-clusters", Level.OK)

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
            return [r for r in self.reasons if r.level > Level.OK or any(v > Level.OK for v in r.scopes.values())]
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


class ImpactEngine:
    """Assesses failure sets against one pack and one estate."""

    def __init__(self, pack: Pack, estate: Estate, graph: EstateGraph | None = None) -> None:
        self.pack = pack
        self.estate = estate
        self.graph = graph or EstateGraph(pack, estate)
        self.operations = pack.graph.operations
        self.clusters = estate.cluster_names
        self.scopes = (MANAGEMENT_SCOPE, *self.clusters)
        self._order = {c.id: i for i, c in enumerate(self.graph.components)}
        self._estate_values = template.variables(estate, None)
        self._by_kind = {s.trigger: s for s in pack.scenarios}

    def validate(self, ids: Iterable[str]) -> list[Component]:
        """The components for these ids; UserError for unknown or unmarkable ones."""
        return [self.graph.check_markable(cid) for cid in ids]

    def match(self, down: Iterable[str]) -> tuple[tuple[str, ...], frozenset[str], list[MatchedScenario]]:
        comps = sorted({c.id for c in self.validate(down)}, key=self._order.__getitem__)
        effective: set[str] = set()
        for cid in comps:
            effective |= self.graph.closure(cid)
        matched = []
        for cid in comps:
            if any(host in effective for host in self.graph.hosts_chain(cid)):
                continue  # subsumed: something that hosts it is down too
            comp = self.graph.by_id[cid]
            scenario = self._by_kind.get(comp.kind)
            if scenario is not None:
                implies = tuple(sorted(self.graph.closure(cid) - {cid}, key=self._order.__getitem__))
                matched.append(MatchedScenario(scenario, cid, comp.cluster, implies))
        return tuple(comps), frozenset(effective), matched

    def assess(self, down: Iterable[str]) -> Impact:
        """The impact of these components being down (ids as in `tsbrunbook components`)."""
        comps, effective, matched = self.match(down)
        results = {}
        for op in self.operations:
            results[op.id] = self._operation(op.id, op.entry, op.all_clusters_out_is_outage, matched)
        queued = self._queued(matched)
        accepted = all(m.scenario.impact[MANAGEMENT_OPERATIONS].level < Level.OUTAGE for m in matched if MANAGEMENT_OPERATIONS in m.scenario.impact)
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

    def _operation(self, op_id: str, entry: str, all_out_rule: bool, matched: list[MatchedScenario]) -> OperationResult:
        scopes = dict.fromkeys(self.scopes, Level.OK)
        overall = Level.OK
        reasons = []
        for m in matched:
            imp = m.scenario.impact.get(op_id)
            if imp is None:
                continue
            sc = imp.scopes
            if MANAGEMENT_SCOPE in sc:
                scopes[MANAGEMENT_SCOPE] = max(scopes[MANAGEMENT_SCOPE], sc[MANAGEMENT_SCOPE])
            if m.cluster is not None:
                scopes[m.cluster] = max(scopes[m.cluster], sc.get("affected", Level.OK))
                others = sc.get("other-clusters", Level.OK)
                if others > Level.OK:
                    for c in self.clusters:
                        if c != m.cluster:
                            scopes[c] = max(scopes[c], others)
            else:
                every = sc.get("clusters", Level.OK)
                if every > Level.OK:
                    for c in self.clusters:
                        scopes[c] = max(scopes[c], every)
            overall = max(overall, imp.level)
            if imp.level > Level.OK or any(v > Level.OK for v in sc.values()):
                values = template.variables(self.estate, m.cluster) if m.cluster else self._estate_values
                reasons.append(
                    Reason(
                        operation=op_id,
                        level=imp.level,
                        components=(m.component,),
                        instance=m.instance,
                        cluster=m.cluster,
                        scopes=dict(sc),
                        path=tuple(self.graph.path(entry, m.cluster, m.component)),
                        text=template.fill(imp.explanation, values),
                    )
                )
        if all_out_rule and overall < Level.OUTAGE and self.clusters and all(scopes[c] == Level.OUTAGE for c in self.clusters):
            overall = Level.OUTAGE
            causes = tuple(dict.fromkeys(m.component for m in matched if any(r.instance == m.instance for r in reasons)))
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
        because: dict[str, list[str]] = {}
        for m in matched:
            mode = m.scenario.queues_changes
            targets = (m.cluster,) if mode == "affected-cluster" and m.cluster else self.clusters if mode == "all-clusters" else ()
            for c in targets:
                because.setdefault(c, []).append(m.component)
        return tuple(QueuedChanges(c, tuple(because[c])) for c in self.clusters if c in because)

    def _services(self, effective: frozenset[str]) -> tuple[ServiceStatus, ...]:
        entry = next((o.entry for o in self.operations if o.id == RUNNING_WORKLOADS), "workload-cluster")
        out = []
        for svc in self.estate.services:
            gone = tuple(c for c in svc.clusters if component_id(entry, c) in effective)
            level = Level.OK if not gone else Level.OUTAGE if len(gone) == len(svc.clusters) else Level.LIMITED
            out.append(ServiceStatus(svc.name, level, svc.clusters, gone))
        return tuple(out)

