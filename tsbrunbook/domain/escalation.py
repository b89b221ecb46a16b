"""Escalation points and escalation timers of an incident. Pure: the caller passes `now`.

A scenario may say `escalate_after: 30m`; the estate may replace that per severity
(`escalation: {after: {outage: 15m}}`, keyed by the scenario's worst overall rating). While a
scenario instance matches, its timer runs from the moment the instance began to match; if the
deadline passes before the instance stops matching (recovery), the timer has expired and the
caller records one `timer-expired` event for that match. A later, separate match of the same
instance (down, up, down again) starts a fresh timer: the outage that just began has not been
running for half an hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .impact import Impact, ImpactEngine
from .incident import Conflict, Event, IncidentSession, IncidentState, assessable, down_sets, utcnow
from .incident_export import EscalationPoint, all_views, escalation_points, iso
from .model import Estate, Scenario

TIMER_EVENT = "timer-expired"


def effective_escalate_after(scenario: Scenario, estate: Estate) -> tuple[int | None, str]:
    """(seconds, where from: "scenario" or "estate"), or (None, "") when the scenario has no timer.

    The estate overrides only scenarios that have a timer: a scenario without `escalate_after`
    has no point at which the runbook says to call support."""
    if scenario.escalate_after is None:
        return None, ""
    override = estate.escalate_after.get(scenario.severity.id)
    if override is not None:
        return override, "estate"
    return scenario.escalate_after, "scenario"


@dataclass(frozen=True)
class MatchPeriod:
    """One uninterrupted stretch during which a scenario instance matched."""

    instance: str
    since: datetime
    since_seq: int  # the down/up event that made it match
    until: datetime | None  # None: it still matches
    until_seq: int | None


def match_periods(state: IncidentState, engine: ImpactEngine) -> list[MatchPeriod]:
    """Every match period of every scenario instance, replaying the down/up events in order.

    The first period of an instance starts at `state.instances[instance]`."""
    open_: dict[str, tuple[datetime, int]] = {}
    out: list[MatchPeriod] = []
    cache: dict[frozenset[str], frozenset[str]] = {}
    for event, ids in down_sets(state, engine):
        if ids not in cache:
            cache[ids] = frozenset(m.instance for m in engine.match(ids)[2])
        active = cache[ids]
        for instance in [i for i in open_ if i not in active]:
            since, seq = open_.pop(instance)
            out.append(MatchPeriod(instance, since, seq, event.at, event.seq))
        for instance in sorted(active - open_.keys()):
            open_[instance] = (event.at, event.seq)
    out += [MatchPeriod(i, since, seq, None, None) for i, (since, seq) in open_.items()]
    return sorted(out, key=lambda p: (p.since_seq, p.instance))


@dataclass(frozen=True)
class Timer:
    """The escalation timer of one active scenario instance, as of `now`."""

    instance: str
    scenario: Scenario = field(repr=False)
    cluster: str | None
    matched: datetime  # when the current match began
    matched_seq: int
    after_seconds: int
    source: str  # "scenario" (its escalate_after) or "estate" (the estate's override)
    deadline: datetime
    remaining_seconds: float  # deadline − now; negative once passed
    expired: bool
    recorded: bool  # a timer-expired event was recorded for this match

    @property
    def due(self) -> bool:
        """Expired without recovery and not recorded yet: the caller should record it now."""
        return self.expired and not self.recorded


def escalation_timers(
    state: IncidentState,
    engine: ImpactEngine,
    impact: Impact | None = None,
    now: datetime | None = None,
) -> list[Timer]:
    """The timers of the scenario instances that match now and have an escalate_after, in the
    order the impact lists its scenarios. A closed incident has no running timers ([])."""
    if state.closed:
        return []
    now = now or utcnow()
    impact = impact or engine.assess(assessable(engine, state.down))
    current = {p.instance: p for p in match_periods(state, engine) if p.until is None}
    recorded: dict[str, list[int]] = {}
    for event in state.timeline:
        if event.type == TIMER_EVENT:
            recorded.setdefault(str(event.data.get("instance", "")), []).append(event.seq)
    out = []
    for m in impact.scenarios:
        seconds, source = effective_escalate_after(m.scenario, engine.estate)
        if seconds is None:
            continue
        period = current.get(m.instance)
        if period is not None:
            matched, matched_seq = period.since, period.since_seq
        else:  # the caller's impact is ahead of the state: fall back to the first match
            matched, matched_seq = state.instances.get(m.instance, now), state.last_seq
        deadline = matched + timedelta(seconds=seconds)
        remaining = (deadline - now).total_seconds()
        out.append(
            Timer(
                instance=m.instance,
                scenario=m.scenario,
                cluster=m.cluster,
                matched=matched,
                matched_seq=matched_seq,
                after_seconds=seconds,
                source=source,
                deadline=deadline,
                remaining_seconds=remaining,
                expired=remaining <= 0,
                recorded=any(seq > matched_seq for seq in recorded.get(m.instance, [])),
            )
        )
    return out


def due_timers(state: IncidentState, engine: ImpactEngine, impact: Impact | None = None, now: datetime | None = None) -> list[Timer]:
    """The timers that expired without recovery and have no timer-expired event yet."""
    return [t for t in escalation_timers(state, engine, impact, now) if t.due]


def timer_event_data(timer: Timer) -> dict[str, Any]:
    """The data of the `timer-expired` event for this timer."""
    return {
        "instance": timer.instance,
        "deadline": iso(timer.deadline),
        "matched": iso(timer.matched),
        "after_seconds": timer.after_seconds,
    }


def record_expired_timers(session: IncidentSession, now: datetime | None = None) -> list[Event]:
    """Record one `timer-expired` event for each due timer. Each is appended only if nothing
    else was appended since the state it was decided on (two open TUIs on one incident would
    otherwise both record it); on such a conflict the state is read again and decided anew."""
    recorded: list[Event] = []
    for _ in range(10):
        session.refresh()
        if session.state.closed:
            return recorded
        due = due_timers(session.state, session.engine, session.impact(), now)
        if not due:
            return recorded
        try:
            for timer in due:
                recorded.append(session.record(TIMER_EVENT, timer_event_data(timer), expect_last=session.state.last_seq))
        except Conflict:
            continue
        return recorded
    return recorded


def incident_escalation_points(state: IncidentState, engine: ImpactEngine, impact: Impact | None = None) -> list[EscalationPoint]:
    """Every escalation point of the checklists that appeared (readiness included), raised or not,
    then escalations raised on other steps: incident_export.escalation_points over all views."""
    return escalation_points(state, engine, all_views(state, engine, impact))
