"""Incidents (and exercises) as an append-only list of events, and the state folded from them.

The store only appends and reads events; everything an incident *is* — what is down since when,
which checklists have appeared, each step's state and history, notes, escalations — is derived
here by folding the events in order. Folding the same events always gives the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, NamedTuple, Protocol

from .author import current_actor, shown_author
from .errors import UserError, did_you_mean
from .events import (
    Claimed,
    Closed,
    Down,
    Escalation,
    Note,
    Payload,
    Released,
    Renamed,
    Started,
    StepChanged,
    StepStatus,
    Unknown,
    Up,
    decode,
    encode,
)
from .impact import Impact, ImpactEngine
from .model import Scenario, Step
from .serialize import applicable_steps
from .timefmt import BEHIND_TOLERANCE_S

STEP_ACTIONS: dict[str, StepStatus] = {
    "done": "done",
    "skip": "skipped",
    "fail": "failed",
    "block": "blocked",
    "reset": "pending",
}
READINESS_INSTANCE = "estate"
PHASES = ("recovery", "restoration")  # the phases of a scenario's checklists, in order
DECISION_ATTEMPTS = 50  # re-decisions after a Conflict before giving up (see record_if_changed)
# Outcomes that end a claim: the work on the step is over (blocked keeps it: still being worked).
CLAIM_ENDING_STATES = frozenset({"done", "skipped", "failed"})
UNCLAIMABLE_STATES = frozenset({"done", "skipped"})  # nothing left to do on them


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """One thing that happened. `seq` is given by the store, in append order. `type` and `data`
    are as stored; `payload` is the same, typed (see domain.events)."""

    seq: int
    incident: str
    at: datetime
    type: str
    data: dict[str, Any]
    actor: str = ""

    @cached_property
    def payload(self) -> Payload | Unknown:
        """The typed payload (ValueError if the data has the wrong shape; a store decodes every
        event before handing it out, so that only happens to events built by hand)."""
        return decode(self.type, self.data)


@dataclass(frozen=True)
class Raised:
    """One escalation raised on a step: when, the support case number ("" if none), by whom."""

    at: datetime
    case: str
    actor: str


class NoteMade(NamedTuple):
    """A note: when, its text, the step it is on (None: the incident as a whole), by whom."""

    at: datetime
    text: str
    ref: str | None
    actor: str


class StepChange(NamedTuple):
    """One state a step was put in: when, the state, the note given with it, by whom."""

    at: datetime
    state: str
    note: str
    actor: str


@dataclass(frozen=True)
class Claim:
    """Someone is working on a step: who (the claiming event's author) and since when."""

    by: str
    at: datetime


@dataclass
class StepState:
    state: str = "pending"
    at: datetime | None = None
    actor: str = ""  # who recorded the current state
    note: str = ""
    notes: list[NoteMade] = field(default_factory=list)  # with a state change, or on their own
    history: list[StepChange] = field(default_factory=list)
    claim: Claim | None = None  # who is working on it now (None: no one said so)
    escalated: datetime | None = None  # when it was first raised
    case: str = ""  # the latest case number given
    escalations: list[Raised] = field(default_factory=list)  # every raise, in order

    @property
    def cases(self) -> tuple[str, ...]:
        """Every case number raised on this step, once each, in the order they were given: a
        second escalation with a new case keeps the first."""
        return tuple(dict.fromkeys(r.case for r in self.escalations if r.case))


def in_progress(st: StepState) -> str:
    """`in progress — alice` for a claimed step ("" when no one claimed it): the words every
    rendering shows (checklists, step detail, `incident show`, export, brief)."""
    if st.claim is None:
        return ""
    return f"in progress — {shown_author(st.claim.by) or 'someone'}"


@dataclass(frozen=True)
class StepView:
    ref: str
    step: Step
    state: StepState


@dataclass(frozen=True)
class ChecklistView:
    """One checklist of one matched scenario instance, with the state of each step."""

    instance: str
    scenario: Scenario | None  # None for the readiness checklist
    cluster: str | None
    phase: str
    title: str
    active: bool  # its scenario matches now (it stays listed after it stops matching)
    steps: tuple[StepView, ...]
    not_documented: str | None = None

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.state.state == "done")


@dataclass
class IncidentState:
    id: str
    title: str = ""
    kind: str = "incident"
    started_at: datetime | None = None
    closed_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # estate file/name, pack version/checksum …
    down: dict[str, datetime] = field(default_factory=dict)  # component → since, in marking order
    instances: dict[str, datetime] = field(
        default_factory=dict
    )  # scenario instance → first matched
    steps: dict[str, StepState] = field(default_factory=dict)
    notes: list[NoteMade] = field(default_factory=list)  # every note, on a step or not
    escalations: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, ref, case)
    timeline: list[Event] = field(default_factory=list)
    last_seq: int = 0

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def apply(self, event: Event, engine: ImpactEngine | None) -> None:
        """Fold one event into the state. Unknown types are kept in the timeline only."""
        self.timeline.append(event)
        self.last_seq = max(self.last_seq, event.seq)
        p = event.payload
        if isinstance(p, Started):
            self.title = p.title
            self.kind = p.kind
            self.started_at = event.at
            self.meta = {k: v for k, v in event.data.items() if k not in ("title", "kind")}
        elif isinstance(p, Down | Up):
            for cid in p.components:
                if isinstance(p, Down):
                    self.down.setdefault(cid, event.at)
                else:
                    self.down.pop(cid, None)
            if engine is not None:
                for m in engine.match(assessable(engine, self.down))[2]:
                    self.instances.setdefault(m.instance, event.at)
        elif isinstance(p, StepChanged):
            st = self.steps.setdefault(p.ref, StepState())
            st.state = p.state
            st.at = event.at
            st.actor = event.actor
            st.note = p.note or ""
            st.history.append(StepChange(event.at, st.state, st.note, event.actor))
            if st.note:
                st.notes.append(NoteMade(event.at, st.note, p.ref, event.actor))
            if p.state in CLAIM_ENDING_STATES:
                st.claim = None  # the outcome ends the work: no `released` event of its own
        elif isinstance(p, Claimed):
            self.steps.setdefault(p.ref, StepState()).claim = Claim(event.actor, event.at)
        elif isinstance(p, Released):
            self.steps.setdefault(p.ref, StepState()).claim = None
        elif isinstance(p, Note):
            note = NoteMade(event.at, p.text, p.ref, event.actor)
            self.notes.append(note)
            if p.ref:
                self.steps.setdefault(p.ref, StepState()).notes.append(note)
        elif isinstance(p, Escalation):
            self.escalations.append((event.at, p.ref, p.case or ""))
            st = self.steps.setdefault(p.ref, StepState())
            st.escalated = st.escalated or event.at
            st.case = p.case or st.case
            st.escalations.append(Raised(event.at, p.case or "", event.actor))
        elif isinstance(p, Closed):
            self.closed_at = event.at
        elif isinstance(p, Renamed):
            self.title = p.title

    @property
    def last_at(self) -> datetime | None:
        """The latest time any event was recorded at (not always the last event's: a clock
        set back makes later events carry earlier times)."""
        return max((e.at for e in self.timeline), default=None)

    def elapsed(self, now: datetime | None = None) -> float:
        """Seconds from the start to the close (or to `now`), never negative. `now` never counts
        as earlier than the latest recorded event: a clock set back does not shorten it."""
        if self.started_at is None:
            return 0.0
        end = self.closed_at or max(now or utcnow(), self.last_at or self.started_at)
        return max(0.0, (end - self.started_at).total_seconds())


def clock_anomalies(state: IncidentState) -> list[tuple[Event, float]]:
    """Events recorded at an earlier time than an event before them, and by how many seconds:
    the wall clock of some writer went back (or was ahead before). Durations across them are
    not to be trusted; renderings clamp them at zero and say so. Differences within the
    tolerance between writers' clocks are not counted."""
    out: list[tuple[Event, float]] = []
    latest: datetime | None = None
    for event in state.timeline:
        if latest is not None and (latest - event.at).total_seconds() > BEHIND_TOLERANCE_S:
            out.append((event, (latest - event.at).total_seconds()))
        latest = event.at if latest is None else max(latest, event.at)
    return out


def assessable(engine: ImpactEngine, ids: Iterable[str]) -> list[str]:
    """The ids the engine can assess. An incident outlives edits to its estate file: a component
    recorded down that the estate no longer has stays in `down` but cannot be assessed."""
    graph = engine.graph
    return [c for c in ids if c in graph.by_id and graph.by_id[c].markable]


def down_sets(state: IncidentState, engine: ImpactEngine) -> Iterator[tuple[Event, frozenset[str]]]:
    """Replay the incident's down/up events: after each one, the assessable components down then."""
    down: dict[str, None] = {}  # insertion-ordered, like IncidentState.down
    for event in state.timeline:
        p = event.payload
        if not isinstance(p, Down | Up):
            continue
        for cid in p.components:
            if isinstance(p, Down):
                down[cid] = None
            else:
                down.pop(cid, None)
        yield event, frozenset(assessable(engine, down))


def fold(incident_id: str, events: list[Event], engine: ImpactEngine | None) -> IncidentState:
    """The state after these events, applied in seq order. Same events, same state."""
    state = IncidentState(incident_id)
    for event in sorted(events, key=lambda e: e.seq):
        state.apply(event, engine)
    return state


# ---------------------------------------------------------------------------------------------
# Checklists of an incident


def checklists(
    state: IncidentState, engine: ImpactEngine, impact: Impact | None = None
) -> list[ChecklistView]:
    """Every checklist that has appeared in this incident, in the order its scenario first matched."""
    impact = impact or engine.assess(assessable(engine, state.down))
    active = {m.instance for m in impact.scenarios}
    order = list(state.instances) + [
        m.instance for m in impact.scenarios if m.instance not in state.instances
    ]
    out = []
    for instance in order:
        scenario_id, _, cluster = instance.partition("@")
        try:
            scenario = engine.pack.scenario(scenario_id)
        except StopIteration:
            continue  # the pack changed since; the events still say what happened
        cluster_name = cluster or None
        if cluster_name is not None and cluster_name not in engine.estate.cluster_names:
            continue
        for phase in PHASES:
            checklist = scenario.checklist(phase)
            steps = tuple(
                StepView(
                    f"{instance}/{phase}/{s.id}",
                    s,
                    state.steps.get(f"{instance}/{phase}/{s.id}", StepState()),
                )
                for s in applicable_steps(checklist, engine.estate)
            )
            title = scenario.title + (f" — {cluster_name}" if cluster_name else "")
            out.append(
                ChecklistView(
                    instance,
                    scenario,
                    cluster_name,
                    phase,
                    title,
                    instance in active,
                    steps,
                    checklist.not_documented,
                )
            )
    return out


def readiness_checklist(state: IncidentState, engine: ImpactEngine) -> ChecklistView:
    readiness = engine.pack.readiness
    steps = tuple(
        StepView(
            f"{READINESS_INSTANCE}/readiness/{s.id}",
            s,
            state.steps.get(f"{READINESS_INSTANCE}/readiness/{s.id}", StepState()),
        )
        for s in applicable_steps(readiness.checklist, engine.estate)
    )
    return ChecklistView(READINESS_INSTANCE, None, None, "readiness", readiness.title, True, steps)


def readiness_gaps(engine: ImpactEngine) -> list[tuple[str, bool | None]]:
    """Readiness facts of the estate that are not known to be true: (fact, False or None)."""
    from .model import READINESS_FACTS

    return [
        (f, engine.estate.fact(f)) for f in READINESS_FACTS if engine.estate.fact(f) is not True
    ]


def all_refs(state: IncidentState, engine: ImpactEngine) -> list[str]:
    views = checklists(state, engine) + [readiness_checklist(state, engine)]
    return [s.ref for v in views for s in v.steps]


# ---------------------------------------------------------------------------------------------
# Acting on an incident: validate, then append. The store is anything with these two methods.


class Conflict(Exception):
    """Another process appended to the incident since its state was read (see `expect_last`)."""


class ClaimedByOther(UserError):
    """The step is claimed by someone else: said in one line naming the holder."""

    def __init__(self, incident: str, ref: str, claim: Claim, hint: str) -> None:
        self.holder = claim.by
        words = in_progress(StepState(claim=claim))
        super().__init__(
            f"step {ref} of {incident} is {words} (since {claim.at:%H:%M:%S} UTC)", hint
        )


class EventSink(Protocol):
    def append(
        self,
        incident: str,
        type: str,
        data: dict[str, Any],
        actor: str = "",
        expect_last: int | None = None,
    ) -> Event: ...

    def events(self, incident: str, after: int = 0) -> list[Event]: ...


class IncidentSession:
    """One incident, open for work: every action is validated, appended (durably), then folded."""

    def __init__(self, sink: EventSink, incident_id: str, engine: ImpactEngine) -> None:
        self.sink = sink
        self.engine = engine
        self.id = incident_id
        events = sink.events(incident_id)
        if not events:
            raise UserError(
                f"unknown incident '{incident_id}'", "run `tsbrunbook incident list --all`"
            )
        self.state = fold(incident_id, events, engine)

    def refresh(self) -> list[Event]:
        """Fold events other processes appended since we last looked."""
        new = self.sink.events(self.id, after=self.state.last_seq)
        for event in new:
            self.state.apply(event, self.engine)
        return new

    def ensure_open(self) -> None:
        """Refuse any change to a closed incident (checked first, before the other checks)."""
        self.refresh()
        if self.state.closed:
            raise UserError(
                f"incident {self.id} is closed",
                "start a new one with `tsbrunbook incident start TITLE`",
            )

    def _append(self, payload: Payload, expect_last: int | None = None) -> Event:
        self.ensure_open()
        type, data = payload.TYPE, encode(payload)
        if expect_last is None:
            event = self.sink.append(self.id, type, data, current_actor())
        else:
            event = self.sink.append(self.id, type, data, current_actor(), expect_last=expect_last)
        self.refresh()
        return event

    def impact(self) -> Impact:
        return self.engine.assess(assessable(self.engine, self.state.down))

    def record_if_changed(self, decide: Callable[[IncidentState], Payload | None]) -> Event | None:
        """Append the event `decide` asks for on the freshest state, or nothing if it asks for none.

        For actions that record only a change ("mark down" when not down yet …). The decision and
        the append must see the same state even when other processes append at the same moment
        (four alert hooks marking one component down): the event is appended with `expect_last`,
        i.e. only if nothing was appended since the state `decide` looked at; on a `Conflict` the
        new events are folded and `decide` runs again. Each retry means another writer made
        progress, so the bound is only reached under a flood of writes; it is then reported, with
        nothing recorded, rather than recorded on a stale decision."""
        for _ in range(DECISION_ATTEMPTS):
            self.ensure_open()  # folds what others appended, refuses a closed incident
            decision = decide(self.state)
            if decision is None:
                return None
            try:
                return self._append(decision, expect_last=self.state.last_seq)
            except Conflict:
                continue
        raise UserError(
            f"incident {self.id} kept changing while this was being recorded ({DECISION_ATTEMPTS} attempts)",
            "nothing was recorded; try again",
        )

    def mark_down(self, ids: list[str]) -> Event | None:
        """Mark components down; None (nothing recorded) if all of them already are."""
        self.ensure_open()
        self.engine.validate(ids)

        def decide(state: IncidentState) -> Down | None:
            new = tuple(c for c in dict.fromkeys(ids) if c not in state.down)
            return Down(components=new) if new else None

        return self.record_if_changed(decide)

    def mark_up(self, ids: list[str]) -> Event | None:
        """Mark components up again; None (nothing recorded) if none of them is down."""
        self.ensure_open()
        self.engine.validate(ids)

        def decide(state: IncidentState) -> Up | None:
            gone = tuple(c for c in dict.fromkeys(ids) if c in state.down)
            return Up(components=gone) if gone else None

        return self.record_if_changed(decide)

    def toggle(self, cid: str) -> Event | None:
        return self.mark_up([cid]) if cid in self.state.down else self.mark_down([cid])

    def check_ref(self, ref: str) -> str:
        refs = all_refs(self.state, self.engine)
        if ref not in refs:
            hint = did_you_mean(ref, refs) or (
                "no checklist has appeared yet: mark a component down first"
                if len(refs) <= len(self.engine.pack.readiness.checklist.steps)
                else "see `tsbrunbook incident show ID --format json` for the refs"
            )
            raise UserError(f"unknown step ref '{ref[:80]}' in incident {self.id}", hint)
        return ref

    def set_step(self, ref: str, action: str, note: str = "") -> Event | None:
        """Record a step's new state; None (nothing recorded) if it already has that state and
        the note adds nothing (a repeated `done`, a `reset` of a pending step)."""
        self.ensure_open()
        if action not in STEP_ACTIONS:
            raise UserError(
                f"unknown step action '{action}'", "use one of " + ", ".join(STEP_ACTIONS)
            )
        if action == "skip" and not note.strip():
            raise UserError("a skipped step needs a reason", "add --note TEXT")
        self.check_ref(ref)
        wanted, note = STEP_ACTIONS[action], note.strip()

        def decide(state: IncidentState) -> StepChanged | None:
            current = state.steps.get(ref, StepState())
            if current.state == wanted and (not note or note == current.note):
                return None  # the step is already in that state, and there is nothing new to say
            return StepChanged(ref=ref, state=wanted, note=note)

        return self.record_if_changed(decide)

    def claim(self, ref: str, take: bool = False) -> Event | None:
        """Say that the author of this process is working on a step, so others leave it alone;
        None (nothing recorded) if they already hold it. Someone else's claim is refused
        (ClaimedByOther) unless `take`. Decided and appended with `expect_last`, so of two
        people claiming at the same moment one wins and the other is told who did."""
        self.ensure_open()
        self.check_ref(ref)
        me = current_actor()

        def decide(state: IncidentState) -> Claimed | None:
            st = state.steps.get(ref, StepState())
            if st.state in UNCLAIMABLE_STATES:
                raise UserError(
                    f"step {ref} of {self.id} is already {st.state}: there is nothing to claim",
                    f"reset it first: `tsbrunbook incident step {self.id} {ref} reset`",
                )
            if st.claim is not None and st.claim.by == me:
                return None
            if st.claim is not None and not take:
                raise ClaimedByOther(self.id, ref, st.claim, "add --take to take it over")
            return Claimed(ref=ref, taken_from=st.claim.by if st.claim else "")

        return self.record_if_changed(decide)

    def release(self, ref: str) -> Event | None:
        """Stop working on a step without an outcome; None (nothing recorded) if no one holds
        it. Only the holder releases a claim (ClaimedByOther otherwise)."""
        self.ensure_open()
        self.check_ref(ref)
        me = current_actor()

        def decide(state: IncidentState) -> Released | None:
            claim = state.steps.get(ref, StepState()).claim
            if claim is None:
                return None
            if claim.by != me:
                raise ClaimedByOther(
                    self.id, ref, claim, "only they release it; `claim --take` takes it over"
                )
            return Released(ref=ref)

        return self.record_if_changed(decide)

    def add_note(self, text: str, ref: str | None = None, gap: bool = False) -> Event:
        """A note on the incident or on a step; `gap` flags it as a runbook gap (exercises)."""
        self.ensure_open()
        if not text.strip():
            raise UserError("the note is empty", "write something worth keeping")
        if ref:
            self.check_ref(ref)
        return self._append(Note(text=text.strip(), ref=ref or None, gap=gap))

    def raise_escalation(self, ref: str, case: str = "") -> Event:
        self.ensure_open()
        self.check_ref(ref)
        return self._append(Escalation(ref=ref, case=case.strip()))

    def close(self) -> Event:
        return self._append(Closed())

    def rename(self, title: str) -> Event | None:
        """Give the incident a new title (whitespace collapsed); None (nothing recorded) if it
        already has that title. The timeline keeps the old one."""
        self.ensure_open()
        title = " ".join(title.split())
        if not title:
            raise UserError("the title is empty", "say in a few words what is happening")
        return self.record_if_changed(
            lambda state: None if state.title == title else Renamed(title=title)
        )

    def record(self, payload: Payload, expect_last: int | None = None) -> Event:
        """Append an event of another kind (timer expiry, exercise events) through the same checks.

        `expect_last`: append only if the incident's last event is still that seq (else
        `Conflict`), for events decided from the state as read, which must not be recorded twice
        by two processes deciding at the same time."""
        return self._append(payload, expect_last)
