"""What happened in an incident, asked of its folded state: how long each component was down,
the escalation points of the checklists that appeared (raised or not, with every case number),
the moment the impact was at its worst and the worst each operation reached, who did how much.
The renderings (the Markdown export, the JSON of `incident show`, the support brief,
`incident show`) and the escalation timers are built on these answers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from . import template
from .events import Down, Up
from .impact import Impact, ImpactEngine
from .incident import (
    ChecklistView,
    Event,
    IncidentState,
    Raised,
    StepState,
    StepView,
    checklists,
    down_sets,
    readiness_checklist,
)
from .model import Level


@dataclass(frozen=True)
class DownPeriod:
    component: str
    since: datetime
    until: datetime | None  # None: still down


def down_periods(state: IncidentState) -> list[DownPeriod]:
    """Every stretch of time a component was marked down, from the timeline, in start order."""
    open_: dict[str, datetime] = {}
    out: list[DownPeriod] = []
    for event in state.timeline:
        p = event.payload
        for cid in p.components if isinstance(p, Down | Up) else ():
            if isinstance(p, Down):
                open_.setdefault(cid, event.at)
            elif cid in open_:
                out.append(DownPeriod(cid, open_.pop(cid), event.at))
    out += [DownPeriod(cid, since, None) for cid, since in open_.items()]
    return sorted(out, key=lambda p: p.since)


@dataclass(frozen=True)
class EscalationPoint:
    ref: str
    title: str  # the step title, placeholders filled
    reason: str | None  # why the runbook says to call support; None if raised on another step
    raised: datetime | None  # the first time it was raised
    case: str  # the latest case number given
    history: tuple[Raised, ...] = ()  # every time it was raised, in order

    @property
    def cases(self) -> tuple[str, ...]:
        """Every case number raised on this step, once each, in order."""
        return tuple(dict.fromkeys(r.case for r in self.history if r.case))


def escalation_points(
    state: IncidentState, engine: ImpactEngine, views: list[ChecklistView]
) -> list[EscalationPoint]:
    """Every escalation point of the checklists that appeared, then any escalation raised elsewhere."""
    out = []
    seen = set()
    for view in views:
        values = step_values(engine, view)
        for sv in view.steps:
            if sv.step.escalation or sv.state.escalated:
                seen.add(sv.ref)
                out.append(
                    EscalationPoint(
                        sv.ref,
                        template.fill(sv.step.title, values),
                        sv.step.escalation,
                        sv.state.escalated,
                        sv.state.case,
                        tuple(sv.state.escalations),
                    )
                )
    for at, ref, case in state.escalations:
        if ref not in seen:
            seen.add(ref)
            st = state.steps.get(ref, StepState())
            out.append(
                EscalationPoint(
                    ref, ref, None, st.escalated or at, st.case or case, tuple(st.escalations)
                )
            )
    return out


def find_step(views: list[ChecklistView], ref: str) -> StepView | None:
    """The step with this ref among these checklists, None if there is none."""
    return next((sv for view in views for sv in view.steps if sv.ref == ref), None)


def step_values(engine: ImpactEngine, view: ChecklistView) -> dict[str, str]:
    """The placeholder values for the steps of this checklist (its cluster's, if any)."""
    return template.variables(engine.estate, view.cluster)


def all_views(
    state: IncidentState, engine: ImpactEngine, impact: Impact | None = None
) -> list[ChecklistView]:
    """Every checklist that appeared, then the readiness checklist."""
    return checklists(state, engine, impact) + [readiness_checklist(state, engine)]


def worst_moment(state: IncidentState, engine: ImpactEngine) -> tuple[Event, Impact] | None:
    """The event after which the impact was at its worst (earliest of equals), replaying down/up."""
    best: tuple[tuple[int, int, int], Event, Impact] | None = None
    # Each distinct set of down components is assessed and scored once, however often it recurs.
    cache: dict[frozenset[str], tuple[tuple[int, int, int], Impact]] = {}
    for event, ids in down_sets(state, engine):
        if ids not in cache:
            assessed = engine.assess(ids)
            cache[ids] = (severity(assessed), assessed)
        score, impact = cache[ids]
        if best is None or score > best[0]:
            best = (score, event, impact)
    return (best[1], best[2]) if best else None


def severity(impact: Impact) -> tuple[int, int, int]:
    """How bad an impact is, for comparing: the worst level, then the operations, then scopes."""
    ops = impact.operations.values()
    return (
        int(impact.worst),
        sum(int(r.level) for r in ops),
        sum(int(v) for r in ops for v in r.scopes.values()),
    )


def worst_levels(state: IncidentState, engine: ImpactEngine) -> dict[str, Level]:
    """The worst level each operation reached at any moment of the incident (replaying down/up),
    by operation id; every operation is OK if nothing was ever marked down."""
    worst = {op.id: Level.OK for op in engine.pack.graph.operations}
    seen: set[frozenset[str]] = set()
    for _, ids in down_sets(state, engine):
        if ids in seen:
            continue
        seen.add(ids)
        for op_id, result in engine.assess(ids).operations.items():
            worst[op_id] = max(worst.get(op_id, Level.OK), result.level)
    return worst


@dataclass(frozen=True)
class Actions:
    """What one person (the user name an event was recorded under) did in an incident."""

    actor: str  # "" when the events carry no user name
    counts: Counter[str]  # events by type (an `EventType` value), in the order first done

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def actions_by_actor(state: IncidentState) -> list[Actions]:
    """Who recorded how many events of each type, people in the order they first acted."""
    out: dict[str, Actions] = {}
    for event in state.timeline:
        out.setdefault(event.actor, Actions(event.actor, Counter())).counts[event.type] += 1
    return list(out.values())
