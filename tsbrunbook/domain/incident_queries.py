"""What happened in an incident, asked of its folded state: how long each component was down,
the escalation points of the checklists that appeared (raised or not), the moment the impact was
at its worst. The renderings (the Markdown export, the JSON of `incident show`, the support brief,
`incident show`) and the escalation timers are built on these answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import template
from .events import Down, Up
from .impact import Impact, ImpactEngine
from .incident import (
    ChecklistView,
    Event,
    IncidentState,
    StepState,
    checklists,
    down_sets,
    readiness_checklist,
)


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
    raised: datetime | None
    case: str


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
                    )
                )
    for at, ref, case in state.escalations:
        if ref not in seen:
            seen.add(ref)
            st = state.steps.get(ref, StepState())
            out.append(EscalationPoint(ref, ref, None, st.escalated or at, st.case or case))
    return out


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
    cache: dict[frozenset[str], Impact] = {}
    for event, ids in down_sets(state, engine):
        if ids not in cache:
            cache[ids] = engine.assess(ids)
        impact = cache[ids]
        score = severity(impact)
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
