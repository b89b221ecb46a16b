"""The one table that turns an event into words, for every place that shows one: the TUI's latest
events and `incident.describe`, the timelines of the incident export, the support brief and
`incident show`, the chat messages, and the exercise report.

Each event type has one entry, which says everything there is to say about such an event in each
form at once, so a new type (or a better word) is added in one place:

- `what` and `details`: the Event and Details columns of a timeline table;
- `line`: one line for a timeline or a status line, as a `Phrase` that renders as plain text or as
  Markdown (names to stand out are bold there; everything else is escaped);
- `chat`: the chat message for it, or None when it is not worth posting.

Who recorded an event is said the same way everywhere a line stands alone (`attributed`, `by_author`:
"step done: … (by alice)"); the Markdown tables give it a "By" column of its own.

What an event does not hold itself (the incident's title, the scenario titles, the score of a
prediction) comes in a `TextContext`; without one the words fall back to what the event says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import markdown as md
from .author import shown_author
from .events import (
    Chat,
    Claimed,
    Closed,
    Down,
    Escalation,
    EventType,
    ExerciseClock,
    ExerciseInject,
    ExercisePrediction,
    Note,
    Released,
    Renamed,
    Started,
    StepChanged,
    TimerExpired,
    Unknown,
    Up,
)
from .incident import Event
from .timefmt import duration, offset

MAX_CHAT_NAMES = 5  # components or scenarios named in one chat message; the rest are counted


@dataclass(frozen=True)
class Strong:
    """A name that should stand out (bold in Markdown)."""

    text: str


@dataclass(frozen=True)
class Phrase:
    """Words with some names to stand out, to render as plain text or Markdown."""

    parts: tuple[str | Strong, ...]

    def plain(self) -> str:
        return "".join(p.text if isinstance(p, Strong) else p for p in self.parts)

    def markdown(self) -> str:
        """Escaped for a paragraph, list item or table cell; the same as `md.inline` of the
        plain text, with the strong names in bold."""
        if not any(isinstance(p, Strong) for p in self.parts):
            return md.inline(self.plain())
        out = "".join(
            f"**{md.inline(p.text)}**" if isinstance(p, Strong) else _inline_keeping_spaces(p)
            for p in self.parts
        )
        return " ".join(out.split())


def _inline_keeping_spaces(text: str) -> str:
    """`md.inline`, keeping a space at either end: it separates the text from a bold name."""
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return lead + md.inline(text) + trail


def _phrase(*parts: str | Strong) -> Phrase:
    return Phrase(tuple(parts))


@dataclass(frozen=True)
class EventText:
    what: str  # the Event column: a few words ("marked down", "step done")
    details: str  # the Details column ("" when there is nothing more to say)
    line: Phrase  # one line saying what happened
    chat: str | None = None  # the chat message, None if it is not posted


@dataclass(frozen=True)
class TextContext:
    """What an event's words may mention beyond the event itself."""

    title: str = ""  # the incident's title (chat: updates switched on)
    started: datetime | None = None  # when the incident started (chat: closed after …)
    down: tuple[str, ...] = ()  # components down after the event (chat: updates switched on)
    scenarios: Mapping[str, str] = field(default_factory=dict)  # instance → its title (chat)
    prediction: tuple[int, int] | None = None  # (cells right, cells) of a prediction (report)


NO_CONTEXT = TextContext()


def names(items: tuple[str, ...] | list[str], limit: int | None = None) -> str:
    """`a, b, c`; with a limit, `a, b +3 more`."""
    if limit is None or len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" +{len(items) - limit} more"


# ---------------------------------------------------------------------------------------------
# The table: one entry per event type


def _started(p: Started, at: datetime, ctx: TextContext) -> EventText:
    return EventText("started", f"{p.kind}: {p.title}", _phrase(f"{p.kind} started: {p.title}"))


def _marked(word: str) -> Callable[[Down | Up, datetime, TextContext], EventText]:
    def entry(p: Down | Up, at: datetime, ctx: TextContext) -> EventText:
        return EventText(
            f"marked {word}",
            names(p.components),
            _phrase(f"marked {word}: {names(p.components)}"),
            chat=f"marked {word}: {names(p.components, MAX_CHAT_NAMES)}",
        )

    return entry


def _step(p: StepChanged, at: datetime, ctx: TextContext) -> EventText:
    return EventText(
        f"step {p.state}",
        p.ref + (f": {p.note}" if p.note else ""),
        _phrase(f"step {p.state}: {p.ref}" + (f" — {p.note}" if p.note else "")),
    )


def _note(p: Note, at: datetime, ctx: TextContext) -> EventText:
    return EventText(
        "note",
        (f"on {p.ref}: " if p.ref else "") + p.text,
        _phrase("note" + (f" on {p.ref}" if p.ref else "") + f": {p.text}"),
    )


def _escalation(p: Escalation, at: datetime, ctx: TextContext) -> EventText:
    return EventText(
        "escalation raised",
        p.ref + (f", case {p.case}" if p.case else ""),
        _phrase(f"escalation raised: {p.ref}" + (f" (case {p.case})" if p.case else "")),
        chat=f"escalation raised to support: {p.ref}" + (f", case {p.case}" if p.case else ""),
    )


def _timer_expired(p: TimerExpired, at: datetime, ctx: TextContext) -> EventText:
    took = f" ({duration(float(p.after_seconds))})" if p.after_seconds is not None else ""
    scenario = ctx.scenarios.get(p.instance, p.instance)
    deadline = (p.deadline or "")[:19].replace("T", " ")  # as recorded, to the second
    return EventText(
        "timer expired",
        f"{p.instance}: escalate_after (site policy) passed at {deadline} UTC without recovery",
        _phrase(f"escalation timer expired: {p.instance}"),
        chat=f"escalation timer passed{took} for {scenario} without recovery",
    )


def _chat(p: Chat, at: datetime, ctx: TextContext) -> EventText:
    word = "on" if p.enabled else "off"
    down = names(ctx.down, MAX_CHAT_NAMES) or "nothing"
    return EventText(
        "chat updates",
        word,
        _phrase(f"chat updates {word}"),
        chat=f"chat updates on for “{ctx.title}”. Down now: {down}"
        if p.enabled
        else "chat updates off",
    )


def _closed(p: Closed, at: datetime, ctx: TextContext) -> EventText:
    took = f" after {duration((at - ctx.started).total_seconds())}" if ctx.started else ""
    return EventText("closed", "", _phrase("closed"), chat=f"incident closed{took}")


def _renamed(p: Renamed, at: datetime, ctx: TextContext) -> EventText:
    return EventText("renamed", p.title, _phrase(f"renamed: {p.title}"))


def _exercise_clock(p: ExerciseClock, at: datetime, ctx: TextContext) -> EventText:
    details = f"{p.action or ''} at {offset(float(p.offset))}".lstrip()
    if p.action == "speed":
        details += f", speed ×{p.speed}"
    return EventText("exercise clock", details, _phrase(f"clock {details}"))


def _exercise_inject(p: ExerciseInject, at: datetime, ctx: TextContext) -> EventText:
    return EventText(
        "inject",
        f"{p.inject}: {p.message}",
        _phrase("inject ", Strong(p.inject), f": {p.message}"),
    )


def _exercise_prediction(p: ExercisePrediction, at: datetime, ctx: TextContext) -> EventText:
    if p.skipped:
        return EventText(
            "prediction",
            f"for {p.inject}: not answered (left for later)",
            _phrase(f"prediction for {p.inject}: not answered (left for later)"),
        )
    score = f" — {ctx.prediction[0]}/{ctx.prediction[1]} right" if ctx.prediction else ""
    return EventText("prediction", f"for {p.inject}", _phrase(f"prediction for {p.inject}{score}"))


def _claimed(p: Claimed, at: datetime, ctx: TextContext) -> EventText:
    taken = f"taken over from {p.taken_from}" if p.taken_from else ""
    return EventText(
        "step claimed",
        p.ref + (f", {taken}" if taken else ""),
        _phrase(f"step claimed: {p.ref}" + (f" ({taken})" if taken else "")),
    )


def _released(p: Released, at: datetime, ctx: TextContext) -> EventText:
    return EventText("step released", p.ref, _phrase(f"step released: {p.ref}"))


TEXTS: dict[EventType, Callable[[Any, datetime, TextContext], EventText]] = {
    EventType.STARTED: _started,
    EventType.DOWN: _marked("down"),
    EventType.UP: _marked("up"),
    EventType.STEP: _step,
    EventType.NOTE: _note,
    EventType.ESCALATION: _escalation,
    EventType.TIMER_EXPIRED: _timer_expired,
    EventType.CHAT: _chat,
    EventType.CLOSED: _closed,
    EventType.RENAMED: _renamed,
    EventType.EXERCISE_CLOCK: _exercise_clock,
    EventType.EXERCISE_INJECT: _exercise_inject,
    EventType.EXERCISE_PREDICTION: _exercise_prediction,
    EventType.CLAIMED: _claimed,
    EventType.RELEASED: _released,
}
assert set(TEXTS) == set(EventType)


def event_text(event: Event, context: TextContext = NO_CONTEXT) -> EventText:
    """Everything to say about one event, in every form."""
    payload = event.payload
    if isinstance(payload, Unknown):
        data = json.dumps(dict(payload.data), ensure_ascii=False, sort_keys=True)
        return EventText(payload.type, data if payload.data else "", _phrase(payload.type))
    return TEXTS[payload.TYPE](payload, event.at, context)


def describe(event: Event) -> str:
    """One plain line saying what an event was, for timelines and status lines."""
    return event_text(event).line.plain()


def by_author(event: Event) -> str:
    """` (by alice)`: who recorded the event, to follow its words ("" when no one is known)."""
    author = shown_author(event.actor)
    return f" (by {author})" if author else ""


def attributed(event: Event) -> str:
    """`describe` and who recorded it: the line of a timeline that says who did what (the
    TUI's latest events, `incident show`)."""
    return describe(event) + by_author(event)
