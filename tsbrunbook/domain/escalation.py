"""Escalation points and escalation timers of an incident. Pure: the caller passes `now`.

A scenario may say `escalate_after: 30m`; the estate may replace that per severity
(`escalation: {after: {outage: 15m}}`, keyed by the scenario's worst overall rating). While a
scenario instance matches, its timer runs from the moment the instance began to match; if the
deadline passes before the instance stops matching (recovery), the timer has expired and the
caller records one `timer-expired` event for that match. A later, separate match of the same
instance (down, up, down again) starts a fresh timer: the outage that just began has not been
running for half an hour.

Time is measured, so the wall clock is not trusted with it (see `TimerWatch` for the rule):
- `escalation_timers(now=…)` is the pure reading from one wall time; that time never counts as
  earlier than the latest recorded event, so a clock set back cannot add time to a deadline.
- `TimerWatch` is how one process watches timers over time: on the monotonic clock, with the
  wall clock read once per timer; an expiry it reports is one that has really happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .clock import SYSTEM_CLOCK, Clock
from .events import TimerExpired
from .impact import Impact, ImpactEngine
from .incident import Conflict, Event, IncidentSession, IncidentState, assessable, down_sets, utcnow
from .incident_queries import EscalationPoint, all_views, escalation_points
from .model import Scenario
from .site_policy import effective_escalate_after
from .timefmt import iso

# Said when an escalation is raised on a step the runbook does not mark 🆘: any step may be
# escalated, so it is recorded all the same (the TUI's prompt says these words too).
NOT_AN_ESCALATION_POINT = "not a runbook escalation point, but you may still call Tetrate support"


@dataclass(frozen=True)
class MatchPeriod:
    """One uninterrupted stretch during which a scenario instance matched."""

    instance: str
    since: datetime
    since_seq: int  # the down/up event that made it match
    until: datetime | None  # None: it still matches


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
            out.append(MatchPeriod(instance, since, seq, event.at))
        for instance in sorted(active - open_.keys()):
            open_[instance] = (event.at, event.seq)
    out += [MatchPeriod(i, since, seq, None) for i, (since, seq) in open_.items()]
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
    confirmed: bool = True  # the expiry is certain enough to record (see TimerWatch)

    @property
    def due(self) -> bool:
        """Expired without recovery, confirmed and not recorded yet: record it now."""
        return self.expired and self.confirmed and not self.recorded


def _later(at: datetime, seconds: float) -> datetime:
    """`at` plus `seconds`, held at the end of the calendar: a match recorded by a clock set to
    the last minute of year 9999 has a deadline, not an OverflowError."""
    try:
        return at + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=at.tzinfo)


def escalation_timers(
    state: IncidentState,
    engine: ImpactEngine,
    impact: Impact | None = None,
    now: datetime | None = None,
) -> list[Timer]:
    """The timers of the scenario instances that match now and have an escalate_after, in the
    order the impact lists its scenarios. A closed incident has no running timers ([]).

    `now` (the wall clock) is floored at the latest recorded event: if the clock reads earlier
    than something already recorded, it is behind, and the deadline must not move later."""
    if state.closed:
        return []
    now = max(now or utcnow(), state.last_at or now or utcnow())
    impact = impact or engine.assess(assessable(engine, state.down))
    current = {p.instance: p for p in match_periods(state, engine) if p.until is None}
    recorded: dict[str, list[int]] = {}
    for event in state.timeline:
        if isinstance(event.payload, TimerExpired):
            recorded.setdefault(event.payload.instance, []).append(event.seq)
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
        deadline = _later(matched, seconds)
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


def due_timers(
    state: IncidentState,
    engine: ImpactEngine,
    impact: Impact | None = None,
    now: datetime | None = None,
) -> list[Timer]:
    """The timers that expired without recovery and have no timer-expired event yet."""
    return [t for t in escalation_timers(state, engine, impact, now) if t.due]


def timer_expired(timer: Timer) -> TimerExpired:
    """The `timer-expired` event for this timer."""
    return TimerExpired(
        instance=timer.instance,
        deadline=iso(timer.deadline),
        matched=iso(timer.matched),
        after_seconds=timer.after_seconds,
    )


def record_expired_timers(
    session: IncidentSession, now: datetime | None = None, *, watch: TimerWatch | None = None
) -> list[Event]:
    """Record one `timer-expired` event for each due timer. Each is appended only if nothing
    else was appended since the state it was decided on (two open TUIs on one incident would
    otherwise both record it); on such a conflict the state is read again and decided anew.

    With a `watch`, "due" is the watch's (monotonic, confirmed) judgement; without one, the
    caller vouches for `now`."""
    recorded: list[Event] = []
    for _ in range(10):
        session.refresh()
        if session.state.closed:
            return recorded
        if watch is not None:
            due = [
                t
                for t in watch.timers(session.state, session.engine, session.impact(), session.id)
                if t.due
            ]
        else:
            due = due_timers(session.state, session.engine, session.impact(), now)
        if not due:
            return recorded
        try:
            for timer in due:
                recorded.append(
                    session.record(timer_expired(timer), expect_last=session.state.last_seq)
                )
        except Conflict:
            continue
        return recorded
    return recorded


CONFIRM_SECONDS = 5.0  # seconds watched before wall time from before this process counts


@dataclass
class _Sighting:
    """What this process knows about one match of one timer."""

    elapsed_before: float  # seconds it had run by the wall clock when first seen (≥ 0)
    mono: float  # the monotonic clock at the first sight
    trusted_before: float  # the part of elapsed_before every later wall reading agrees with


class TimerWatch:
    """The escalation timers of incidents as one process (the TUI) watches them over time.

    The rule, and why:

    1. When this process first sees a timer (one match of one scenario instance), it reads the
       wall clock: the timer had then run `elapsed_before = max(0, now − matched)`, with `now`
       floored at the latest recorded event (a clock behind the record adds no time) and the
       result floored at 0 (a match stamped in the future has not run at all).
    2. From then on the countdown runs on the monotonic clock only:
       `elapsed = elapsed_before + ran_here` (`ran_here`: monotonic seconds since the first
       sight). A wall clock set back two hours leaves the countdown where it was; set forward,
       it brings no deadline closer. A deadline, once computed, never moves.
    3. An expiry is *recorded* (`due`) only when it has really happened. Time run here counts in
       full. Time from before this process counts only as far as the monotonic evidence agrees:
       at every later look, the wall clock implies `max(0, now − matched − ran_here)` for it;
       the smallest such value is kept (`trusted_before`). While the wall clock keeps pace with
       the monotonic one, that is `elapsed_before`; when it is seen to go back, the first
       reading may have been ahead, and the trust shrinks accordingly (to nothing for a step
       back past the match); a step forward adds nothing. The expiry is recorded once
       `trusted_before + ran_here ≥ length` and this process has watched for CONFIRM_SECONDS
       (so a restart does not record on a single wall reading), or at once when the whole
       length ran here. Until then the timer shows as expired (`⏰ … over`) but is not recorded.
    Across processes each one applies the rule on its own; `record_expired_timers` makes sure
    an expiry is recorded once.
    """

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._seen: dict[tuple[str, str, int], _Sighting] = {}

    def timers(
        self,
        state: IncidentState,
        engine: ImpactEngine,
        impact: Impact | None = None,
        incident: str = "",
    ) -> list[Timer]:
        """The running timers of this incident as this process has watched them (see the rule)."""
        wall, mono = self.clock.wall(), self.clock.monotonic()
        out = []
        for t in escalation_timers(state, engine, impact, now=wall):
            key = (incident or state.id, t.instance, t.matched_seq)
            wall_says = max(
                0.0, float(t.after_seconds) - t.remaining_seconds
            )  # run by the wall clock
            seen = self._seen.get(key)
            if seen is None:
                seen = self._seen[key] = _Sighting(wall_says, mono, wall_says)
            ran_here = max(0.0, mono - seen.mono)
            seen.trusted_before = min(seen.trusted_before, max(0.0, wall_says - ran_here))
            remaining = t.after_seconds - (seen.elapsed_before + ran_here)
            confirmed = ran_here >= t.after_seconds or (
                ran_here >= CONFIRM_SECONDS and seen.trusted_before + ran_here >= t.after_seconds
            )
            out.append(
                replace(t, remaining_seconds=remaining, expired=remaining <= 0, confirmed=confirmed)
            )
        return out


def incident_escalation_points(
    state: IncidentState, engine: ImpactEngine, impact: Impact | None = None
) -> list[EscalationPoint]:
    """Every escalation point of the checklists that appeared (readiness included), raised or not,
    then escalations raised on other steps: incident_queries.escalation_points over all views."""
    return escalation_points(state, engine, all_views(state, engine, impact))
