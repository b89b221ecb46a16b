"""A tabletop exercise in progress, derived from its events: the facilitator clock, which
injects have fired, the predictions and the score. Nothing here is stored on its own; kill the
process and the same events give the same clock, injects and score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .clock import SYSTEM_CLOCK
from .errors import UserError
from .events import (
    Down,
    Escalation,
    ExerciseClock,
    ExerciseInject,
    ExercisePrediction,
    Note,
    StepChanged,
    Up,
)
from .exercise import Exercise, Expectation, Inject
from .impact import ImpactEngine
from .incident import Event, IncidentSession, IncidentState, utcnow
from .model import LEVEL_IDS
from .timefmt import offset as mmss


class WallClock(Protocol):
    """What the exercise clock reads "now" from (a domain.clock.Clock fits)."""

    def wall(self) -> datetime: ...


@dataclass(frozen=True)
class Clock:
    """Where the exercise clock stood at its last change, and how it moves since."""

    offset: float = 0.0  # exercise seconds at `at`
    at: datetime | None = None
    running: bool = False
    speed: float = 1.0
    started: bool = False

    def now(self, wall: datetime) -> float:
        if not self.running or self.at is None:
            return self.offset
        return self.offset + max(0.0, (wall - self.at).total_seconds()) * self.speed

    def change(
        self, action: str, wall: datetime, offset: float | None = None, speed: float | None = None
    ) -> ExerciseClock:
        """The clock event that performs `action` now."""
        current = self.now(wall)
        running = {"start": True, "resume": True, "pause": False, "leave": False}.get(
            action, self.running
        )
        return ExerciseClock(
            action=action,
            offset=round(offset if offset is not None else current, 3),
            running=running,
            speed=speed if speed is not None else self.speed,
        )

    @classmethod
    def after(cls, event: Event, p: ExerciseClock) -> Clock:
        """The clock as a clock event left it."""
        speed = float(p.speed) if p.speed is not None else 1.0
        return cls(float(p.offset), event.at, p.running, speed, True)


def clock_of(events: list[Event]) -> Clock:
    clock = Clock()
    for e in events:
        if isinstance(e.payload, ExerciseClock):
            clock = Clock.after(e, e.payload)
    return clock


def last_clock_event(events: list[Event]) -> ExerciseClock | None:
    return next((e.payload for e in reversed(events) if isinstance(e.payload, ExerciseClock)), None)


@dataclass(frozen=True)
class Resumption:
    """How a run's clock was taken up again when the run was reopened (see ExerciseRun.recover)."""

    interrupted: bool  # True: the process died with the clock running (no `leave` recorded)
    offset: float  # where the clock stands now
    last: float  # where it stood when the run was left (or last recorded anything)
    running: bool
    capped: bool = False  # the time since ran past the script's end: stopped there

    @property
    def message(self) -> str:
        if not self.interrupted:
            return f"Exercise clock resumed at {mmss(self.offset)}, running as it was left."
        text = (
            f"Exercise clock resumed after an interruption at {mmss(self.offset)}: the scenario "
            f"time kept running since {mmss(self.last)}, the last thing the run recorded"
        )
        if self.capped:
            return text + "; it stops at the script's end (p resumes)."
        return text + "; injects that came due meanwhile are asked one after another."


def offsets(events: list[Event]) -> dict[int, float]:
    """Each event's exercise offset (seconds), from the clock events before it."""
    out: dict[int, float] = {}
    clock = Clock()
    for e in events:
        if isinstance(e.payload, ExerciseClock):
            clock = Clock.after(e, e.payload)
        out[e.seq] = round(clock.now(e.at), 3)
    return out


@dataclass
class PredictionScore:
    inject: str
    offset: float
    predicted: dict[str, str]
    actual: dict[str, str]
    # Answered after the dialog had been left unanswered: the impact was on screen meanwhile.
    later: bool = False

    @property
    def right(self) -> list[str]:
        return [op for op, level in self.actual.items() if self.predicted.get(op) == level]

    @property
    def score(self) -> float:
        return len(self.right) / len(self.actual) if self.actual else 0.0


@dataclass(frozen=True)
class OpenQuestion:
    """A fired inject's question with no prediction recorded (yet): "not answered"."""

    inject: str
    fired_at: float
    # When the dialog was left with esc; None when it never was (a crash or quit before answering).
    skipped_at: float | None = None


@dataclass
class ExpectationResult:
    inject: str
    expectation: Expectation
    met_at: float | None  # offset of the action, None if never
    now: float = 0.0  # the exercise clock when this was assessed

    @property
    def status(self) -> str:
        if self.met_at is None:
            return "open" if self.now <= self.expectation.by else "missed"
        return "met" if self.met_at <= self.expectation.by else "late"

    @property
    def points(self) -> int:
        return self.expectation.points if self.status == "met" else 0


@dataclass
class InjectResult:
    inject: Inject
    fired_at: float | None = None
    instances: list[str] = field(default_factory=list)  # scenarios this inject made appear
    first_action_after: float | None = None  # seconds from the inject to the first relevant action


@dataclass
class Progress:
    """Everything about a run of an exercise, derived from its events."""

    exercise: Exercise
    clock: Clock
    fired: dict[str, float]  # inject id → offset
    injects: list[InjectResult]
    predictions: list[PredictionScore]
    unanswered: list[OpenQuestion]
    expectations: list[ExpectationResult]
    escalation_points: list[tuple[str, float | None]]  # (ref, raised at offset or None)
    offsets: dict[int, float]
    finished_at: datetime | None = None  # when the run was finished (closed)

    def next_inject(self) -> Inject | None:
        return next((i for i in self.exercise.injects if i.id not in self.fired), None)

    def due(self, now_offset: float) -> list[Inject]:
        return [i for i in self.exercise.injects if i.id not in self.fired and i.at <= now_offset]

    @property
    def prediction_score(self) -> float | None:
        cells = sum(len(p.actual) for p in self.predictions)
        return sum(len(p.right) for p in self.predictions) / cells if cells else None

    @property
    def points(self) -> tuple[int, int]:
        return sum(r.points for r in self.expectations), sum(
            r.expectation.points for r in self.expectations
        )


def progress(
    exercise: Exercise, state: IncidentState, engine: ImpactEngine, wall: datetime | None = None
) -> Progress:
    """Where the run stands at `wall` (now): what fired, what was predicted, what was met."""
    events = sorted(state.timeline, key=lambda e: e.seq)
    now = clock_of(events).now(wall or utcnow())
    offs = offsets(events)
    fired: dict[str, float] = {}
    results = {i.id: InjectResult(i) for i in exercise.injects}
    predictions: list[PredictionScore] = []
    skipped: dict[str, float] = {}  # inject → when its dialog was left unanswered
    down: list[str] = []
    actual_after: dict[str, dict[str, str]] = {}
    appeared: set[str] = set()
    for e in events:
        p = e.payload
        if isinstance(p, Down):
            down += [c for c in p.components if c not in down]
        elif isinstance(p, Up):
            down = [c for c in down if c not in p.components]
        elif isinstance(p, ExerciseInject) and p.inject in results:
            inject_id = p.inject
            fired.setdefault(inject_id, offs[e.seq])
            impact = engine.assess(down)
            actual_after[inject_id] = {op: r.level.id for op, r in impact.operations.items()}
            instances = [m.instance for m in impact.scenarios if m.instance not in appeared]
            appeared |= {m.instance for m in impact.scenarios}
            res = results[inject_id]
            res.fired_at = offs[e.seq]
            res.instances = instances
        elif isinstance(p, ExercisePrediction) and p.inject in actual_after:
            if any(s.inject == p.inject for s in predictions):
                continue  # one prediction per inject: the first one recorded counts
            if p.skipped:
                skipped.setdefault(p.inject, offs[e.seq])
                continue
            predictions.append(
                PredictionScore(
                    p.inject,
                    offs[e.seq],
                    dict(p.levels),
                    actual_after[p.inject],
                    later=p.inject in skipped,
                )
            )
        if isinstance(p, StepChanged | Escalation | Note) and p.ref:
            instance = p.ref.split("/")[0]
            for res in results.values():
                if (
                    res.fired_at is None
                    or res.first_action_after is not None
                    or offs[e.seq] < res.fired_at
                ):
                    continue
                if not res.instances or instance in res.instances:
                    res.first_action_after = offs[e.seq] - res.fired_at
    expectation_results = []
    for inject in exercise.injects:
        for exp in inject.expectations:
            met = None
            for e in events:
                p = e.payload
                if (
                    exp.kind == "step"
                    and isinstance(p, StepChanged)
                    and p.ref == exp.ref
                    and p.state == "done"
                ):
                    met = offs[e.seq]
                    break
                if exp.kind == "escalation" and isinstance(p, Escalation) and p.ref == exp.ref:
                    met = offs[e.seq]
                    break
            expectation_results.append(ExpectationResult(inject.id, exp, met, now))
    answered = {s.inject for s in predictions}
    unanswered = [
        OpenQuestion(i.id, fired[i.id], skipped.get(i.id))
        for i in exercise.injects
        if i.question and i.id in fired and i.id not in answered
    ]
    from .incident import checklists

    points = []
    raised = {
        e.payload.ref: offs[e.seq] for e in reversed(events) if isinstance(e.payload, Escalation)
    }
    for view in checklists(state, engine):
        for sv in view.steps:
            if sv.step.escalation:
                points.append((sv.ref, raised.get(sv.ref)))
    return Progress(
        exercise=exercise,
        clock=clock_of(events),
        fired=fired,
        injects=[results[i.id] for i in exercise.injects],
        predictions=predictions,
        unanswered=unanswered,
        expectations=expectation_results,
        escalation_points=points,
        offsets=offs,
        finished_at=state.closed_at,
    )


def check_speed(speed: float) -> float:
    if not 0.1 <= speed <= 600:
        raise UserError(f"speed {speed:g} is out of range", "use 0.1 to 600")
    return speed


class ExerciseRun:
    """Facilitating one exercise: the clock, the injects and the predictions, all as events.

    `clocks` is where "now" comes from (the system's by default; a FakeClock in tests, with the
    store stamping events from the same one, so a test moves the exercise clock itself).

    The clock is the last clock event plus the time since, if it runs: nothing of it lives in the
    process. Leaving normally (`q`, `leave()`) records the exact offset (a `leave` event), and
    reopening (`recover()`) resumes the clock there, running as it was. A crash records nothing:
    the events still say the clock runs, so on reopening the scenario time has kept running
    (capped at the script's end), and the injects that came due meanwhile fire and are asked one
    after another (see README, "the clock after a restart")."""

    def __init__(
        self, session: IncidentSession, exercise: Exercise, clocks: WallClock | None = None
    ) -> None:
        self.session = session
        self.exercise = exercise
        self.clocks = clocks or SYSTEM_CLOCK
        self.resumed: Resumption | None = None  # set by recover(), for the screen to say

    @property
    def clock(self) -> Clock:
        return clock_of(self.session.state.timeline)

    @property
    def finished(self) -> bool:
        return self.session.state.closed

    def now(self, wall: datetime | None = None) -> float:
        return self.clock.now(wall or self.clocks.wall())

    def ensure_not_finished(self) -> None:
        self.session.refresh()
        if self.finished:
            raise UserError(
                f"exercise run {self.session.id} is finished",
                f"its report: `tsbrunbook exercise report {self.session.id}` (R in the app)",
            )

    def _clock(
        self,
        action: str,
        offset: float | None = None,
        speed: float | None = None,
        when: Callable[[Clock], bool] = lambda c: True,
    ) -> None:
        """Record a clock change, decided on the freshest state (`when` says whether it still
        applies there: two facilitator screens pausing at once record one pause)."""
        self.ensure_not_finished()

        def decide(state: IncidentState) -> ExerciseClock | None:
            clock = clock_of(state.timeline)
            return clock.change(action, self.clocks.wall(), offset, speed) if when(clock) else None

        self.session.record_if_changed(decide)

    def start(self) -> None:
        self._clock("resume" if self.clock.started else "start", when=lambda c: not c.running)

    def pause(self) -> None:
        self._clock("pause", when=lambda c: c.running)

    def toggle(self) -> None:
        self.pause() if self.clock.running else self.start()

    def set_speed(self, speed: float) -> None:
        check_speed(speed)
        self._clock("speed", speed=speed)

    def leave(self) -> None:
        """The facilitator leaves normally (`q`, the end of `exercise run`): a running clock is
        stopped at the exact offset with a `leave` event, so reopening resumes it there, running."""
        self.session.refresh()
        if self.clock.running and not self.finished:
            self._clock("leave", when=lambda c: c.running)

    def recover(self) -> Resumption | None:
        """Take the clock up again on reopening the run, as its events describe it (once):

        - left with `q` while running (a `leave` event): running again from that exact offset;
        - a crash or kill while running (the events say it still runs): the scenario time kept
          running, so it stands at the anchor + the time since × the speed, capped at the
          script's end (then stopped there); the injects due meanwhile fire on the next tick.

        Returns what happened (also kept in `resumed`), None when there was nothing to do."""
        if self.resumed is not None or self.finished:
            return None
        self.session.refresh()
        events = self.session.state.timeline
        clock, last = self.clock, last_clock_event(events)
        if last is not None and last.action == "leave" and not clock.running:
            self._clock("resume", offset=clock.offset, when=lambda c: not c.running)
            self.resumed = Resumption(False, clock.offset, clock.offset, running=True)
            return self.resumed
        if not clock.running or not events:
            return None
        latest = max(events, key=lambda e: e.seq)
        before = round(clock.now(latest.at), 3)
        now = clock.now(self.clocks.wall())
        end = float(self.exercise.duration)
        capped = bool(end) and now >= end
        at = end if capped else now
        # `recover`: the clock goes on (it never stopped); at the script's end it stops there.
        self._clock("pause" if capped else "recover", offset=at)
        self.resumed = Resumption(True, round(at, 3), before, running=not capped, capped=capped)
        return self.resumed

    def finish(self) -> float:
        """Close the run: the clock stops where it stands, then no more events (the report
        says when it finished). Returns the exercise offset it finished at."""
        self.ensure_not_finished()
        if self.clock.running:
            self.pause()
        at = self.now()
        self.session.close()
        return at

    def jump_to_next(self) -> list[Inject]:
        """Move the clock to the next inject and fire what is due (that inject, at least)."""
        self.ensure_not_finished()
        nxt = self.progress().next_inject()
        if nxt is None:
            return []
        if self.now() < nxt.at:
            self._clock("jump", offset=float(nxt.at))
        return self.fire_due()

    def fire_due(self) -> list[Inject]:
        """Apply every inject whose time has come (in order): components first, then the marker,
        so a crash in between re-applies the inject on resume instead of losing it."""
        if self.finished:
            return []  # a finished run fires nothing (the app's tick keeps asking)
        prog = self.progress()
        fired = []
        for inject in prog.due(self.now()):
            if inject.down:
                self.session.mark_down(list(inject.down))
            if inject.up:
                self.session.mark_up(list(inject.up))
            if self.session.record_if_changed(_fire(inject)) is not None:
                fired.append(inject)  # (another screen on this run may have fired it meanwhile)
        return fired

    def predict(self, inject_id: str, levels: dict[str, str]) -> None:
        """Record the prediction for an inject that fired and has none yet (one per inject:
        the first recorded is the one scored)."""
        ops = self.session.engine.pack.graph.operation_ids
        if set(levels) != set(ops) or any(v not in LEVEL_IDS for v in levels.values()):
            raise UserError(
                "a prediction needs a level (ok, limited, outage) for each operation",
                ", ".join(ops),
            )
        self._check_question(inject_id)
        recorded = self.session.record_if_changed(
            _unless_answered(inject_id, ExercisePrediction(inject=inject_id, levels=dict(levels)))
        )
        if recorded is None:
            raise UserError(f"inject '{inject_id}' already has a prediction", "one per inject")

    def skip(self, inject_id: str) -> None:
        """The dialog was left without an answer: say so in the run (the report lists the
        question as not answered until a prediction is recorded)."""
        self._check_question(inject_id)
        self.session.record_if_changed(
            _unless_answered(inject_id, ExercisePrediction(inject=inject_id, skipped=True))
        )

    def _check_question(self, inject_id: str) -> None:
        self.ensure_not_finished()
        if inject_id not in self.progress().fired:
            raise UserError(f"inject '{inject_id}' has not fired yet")

    def unanswered(self) -> list[OpenQuestion]:
        return self.progress().unanswered

    def progress(self) -> Progress:
        return progress(self.exercise, self.session.state, self.session.engine, self.clocks.wall())


def _unless_answered(
    inject_id: str, payload: ExercisePrediction
) -> Callable[[IncidentState], ExercisePrediction | None]:
    """The decision to record a prediction (or a skip) only while the inject has none; a skip
    only once."""

    def decide(state: IncidentState) -> ExercisePrediction | None:
        for e in state.timeline:
            p = e.payload
            if (
                isinstance(p, ExercisePrediction)
                and p.inject == inject_id
                and (not p.skipped or payload.skipped)
            ):
                return None
        return payload

    return decide


def _fire(inject: Inject) -> Callable[[IncidentState], ExerciseInject | None]:
    """The decision to record an inject's marker: only if it has not fired yet."""

    def decide(state: IncidentState) -> ExerciseInject | None:
        if any(
            isinstance(e.payload, ExerciseInject) and e.payload.inject == inject.id
            for e in state.timeline
        ):
            return None
        return ExerciseInject(inject=inject.id, message=inject.message)

    return decide
