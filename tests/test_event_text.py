"""The one table that turns an event into text: each type in each form (the one-line timeline
of the TUI and the exercise report, plain and Markdown; the export's Event/Details columns; chat)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tsbrunbook.domain.event_text import TextContext, attributed, event_text
from tsbrunbook.domain.events import EventType
from tsbrunbook.domain.incident import Event

AT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
MANY = [f"c{i}" for i in range(7)]

# type, data, plain line, Markdown line, (what, details), chat (None: not posted)
CASES = [
    (
        EventType.STARTED,
        {"title": "Checkout *down*", "kind": "incident"},
        "incident started: Checkout *down*",
        "incident started: Checkout \\*down\\*",
        ("started", "incident: Checkout *down*"),
        None,
    ),
    (
        EventType.DOWN,
        {"components": MANY},
        "marked down: " + ", ".join(MANY),
        "marked down: " + ", ".join(MANY),
        ("marked down", ", ".join(MANY)),
        "marked down: c0, c1, c2, c3, c4 +2 more",
    ),
    (
        EventType.UP,
        {"components": ["postgres"]},
        "marked up: postgres",
        "marked up: postgres",
        ("marked up", "postgres"),
        "marked up: postgres",
    ),
    (
        EventType.STEP,
        {"ref": "a/recovery/b", "state": "failed", "note": "no | access"},
        "step failed: a/recovery/b — no | access",
        "step failed: a/recovery/b — no \\| access",
        ("step failed", "a/recovery/b: no | access"),
        None,
    ),
    (
        EventType.NOTE,
        {"text": "pods <ok>", "ref": "a/recovery/b"},
        "note on a/recovery/b: pods <ok>",
        "note on a/recovery/b: pods \\<ok\\>",
        ("note", "on a/recovery/b: pods <ok>"),
        None,
    ),
    (
        EventType.ESCALATION,
        {"ref": "a/restoration/engage", "case": "TS-1"},
        "escalation raised: a/restoration/engage (case TS-1)",
        "escalation raised: a/restoration/engage (case TS-1)",
        ("escalation raised", "a/restoration/engage, case TS-1"),
        "escalation raised to support: a/restoration/engage, case TS-1",
    ),
    (
        EventType.TIMER_EXPIRED,
        {"instance": "mp", "deadline": "2026-11-27T03:30:00.000000Z", "after_seconds": 1800},
        "escalation timer expired: mp",
        "escalation timer expired: mp",
        (
            "timer expired",
            "mp: escalate_after (site policy) passed at 2026-11-27 03:30:00 UTC without recovery",
        ),
        "escalation timer passed (30m 00s) for The management plane fails without recovery",
    ),
    (
        EventType.CHAT,
        {"enabled": True},
        "chat updates on",
        "chat updates on",
        ("chat updates", "on"),
        "chat updates on for “Checkout”. Down now: postgres",
    ),
    (EventType.CLOSED, {}, "closed", "closed", ("closed", ""), "incident closed after 1h 02m 03s"),
    (
        EventType.RENAMED,
        {"title": "eu-west <edge> down"},
        "renamed: eu-west <edge> down",
        "renamed: eu-west \\<edge\\> down",
        ("renamed", "eu-west <edge> down"),
        None,
    ),
    (
        EventType.EXERCISE_CLOCK,
        {"action": "speed", "offset": 300, "running": True, "speed": 2},
        "clock speed at 05:00, speed ×2",
        "clock speed at 05:00, speed ×2",
        ("exercise clock", "speed at 05:00, speed ×2"),
        None,
    ),
    (
        EventType.EXERCISE_INJECT,
        {"inject": "db_down", "message": "PostgreSQL is gone"},
        "inject db_down: PostgreSQL is gone",
        "inject **db\\_down**: PostgreSQL is gone",
        ("inject", "db_down: PostgreSQL is gone"),
        None,
    ),
    (
        EventType.EXERCISE_PREDICTION,
        {"inject": "db-down", "levels": {"config": "outage"}},
        "prediction for db-down — 3/4 right",
        "prediction for db-down — 3/4 right",
        ("prediction", "for db-down"),
        None,
    ),
    (
        EventType.CLAIMED,
        {"ref": "a/recovery/b", "taken_from": "bob_1"},
        "step claimed: a/recovery/b (taken over from bob_1)",
        "step claimed: a/recovery/b (taken over from bob\\_1)",
        ("step claimed", "a/recovery/b, taken over from bob_1"),
        None,
    ),
    (
        EventType.RELEASED,
        {"ref": "a/recovery/b"},
        "step released: a/recovery/b",
        "step released: a/recovery/b",
        ("step released", "a/recovery/b"),
        None,
    ),
]

CONTEXT = TextContext(
    title="Checkout",
    started=AT - timedelta(seconds=3723),
    down=("postgres",),
    scenarios={"mp": "The management plane fails"},
    prediction=(3, 4),
)


def test_every_type_is_covered():
    assert {c[0] for c in CASES} == set(EventType)


@pytest.mark.parametrize(
    ("type_", "data", "plain", "markdown", "columns", "chat"), CASES, ids=[str(c[0]) for c in CASES]
)
def test_each_type_in_each_form(type_, data, plain, markdown, columns, chat):
    text = event_text(Event(5, "INC-1", AT, type_, data), CONTEXT)
    assert text.line.plain() == plain
    assert text.line.markdown() == markdown
    assert (text.what, text.details) == columns
    assert text.chat == chat


def test_without_context_the_line_says_only_what_the_event_holds():
    prediction = Event(5, "INC-1", AT, "exercise-prediction", {"inject": "db-down"})
    assert event_text(prediction).line.plain() == "prediction for db-down"
    timer = Event(5, "INC-1", AT, "timer-expired", {"instance": "mp"})
    assert event_text(timer).chat == "escalation timer passed for mp without recovery"
    closed = Event(5, "INC-1", AT, "closed", {})
    assert event_text(closed).chat == "incident closed"


def test_optional_parts_are_left_out():
    step = Event(5, "INC-1", AT, "step", {"ref": "r", "state": "done", "note": None})
    assert event_text(step).line.plain() == "step done: r"
    assert (event_text(step).what, event_text(step).details) == ("step done", "r")
    escalation = Event(5, "INC-1", AT, "escalation", {"ref": "r", "case": ""})
    assert event_text(escalation).line.plain() == "escalation raised: r"
    assert event_text(escalation).chat == "escalation raised to support: r"
    off = Event(5, "INC-1", AT, "chat", {"enabled": False})
    assert event_text(off).chat == "chat updates off"


def test_an_unknown_type_is_shown_by_its_name_and_data():
    text = event_text(Event(5, "INC-1", AT, "from-the-future", {"b": 1, "a": "x"}))
    assert text.line.plain() == "from-the-future"
    assert (text.what, text.details) == ("from-the-future", '{"a": "x", "b": 1}')
    assert text.chat is None


def test_the_author_follows_the_line_cleaned_and_cut():
    step = Event(5, "INC-1", AT, "step", {"ref": "r", "state": "done"}, "alice")
    assert attributed(step) == "step done: r (by alice)"
    assert attributed(Event(5, "INC-1", AT, "closed", {}, "")) == "closed"
    hostile = Event(5, "INC-1", AT, "closed", {}, "ev\x1b]52;c;aGk=\x07il\u202e" + "x" * 500)
    shown = attributed(hostile)
    assert shown.startswith("closed (by evil") and "\x1b" not in shown and "\u202e" not in shown
    assert len(shown) < 100
