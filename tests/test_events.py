"""The event vocabulary: every type has a payload class; decoding refuses a wrong shape with a
reason; encoding writes exactly what the stored JSON has always held."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tsbrunbook.domain import events as ev
from tsbrunbook.domain.events import EventType, decode, encode

# One good stored data object per type, as the code writes it: encode(decode(data)) == data.
GOOD = {
    EventType.STARTED: {"title": "Checkout", "kind": "incident", "estate_file": "/e.yaml"},
    EventType.DOWN: {"components": ["postgres", "management-plane"]},
    EventType.UP: {"components": ["postgres"]},
    EventType.STEP: {"ref": "a@b/recovery/c", "state": "done", "note": ""},
    EventType.NOTE: {"text": "checked the pods", "ref": "a/recovery/c", "gap": True},
    EventType.ESCALATION: {"ref": "a/restoration/engage", "case": "TS-1"},
    EventType.TIMER_EXPIRED: {
        "instance": "management-plane-failure",
        "deadline": "2026-11-27T03:30:00.000000Z",
        "matched": "2026-11-27T03:00:00.000000Z",
        "after_seconds": 1800,
    },
    EventType.CHAT: {"enabled": True},
    EventType.CLOSED: {},
    EventType.RENAMED: {"title": "Checkout slow in eu-west"},
    EventType.EXERCISE_CLOCK: {"action": "speed", "offset": 300.5, "running": True, "speed": 2},
    EventType.EXERCISE_INJECT: {"inject": "db-down", "message": "PostgreSQL is gone"},
    EventType.EXERCISE_PREDICTION: {"inject": "db-down", "levels": {"config": "outage"}},
    EventType.CLAIMED: {"ref": "a@b/recovery/c", "taken_from": "bob"},
    EventType.RELEASED: {"ref": "a@b/recovery/c"},
}

# (type, data, words the reason must contain): one wrong shape per type.
WRONG = [
    (EventType.STARTED, {"title": 7}, "'title' of a started event cannot be a number (7)"),
    (EventType.DOWN, {"components": "postgres"}, "'components' of a down event cannot be a string"),
    (EventType.UP, {}, "a up event without 'components'"),
    (EventType.STEP, {"ref": "x", "state": "exploded"}, "'state' of a step event cannot be"),
    (EventType.NOTE, {"text": 42}, "'text' of a note event cannot be a number (42)"),
    (EventType.ESCALATION, {"ref": ["a"]}, "'ref' of a escalation event cannot be a list"),
    (EventType.TIMER_EXPIRED, {"deadline": "x"}, "a timer-expired event without 'instance'"),
    (EventType.CHAT, {"enabled": "yes"}, "'enabled' of a chat event cannot be a string"),
    (EventType.CLOSED, [], "its data is a list, not a JSON object"),
    (EventType.RENAMED, {"title": None}, "'title' of a renamed event cannot be null"),
    (EventType.EXERCISE_CLOCK, {"action": "start", "running": True}, "without 'offset'"),
    (EventType.EXERCISE_INJECT, {"inject": None}, "'inject' of a exercise-inject event cannot"),
    (EventType.EXERCISE_PREDICTION, {"inject": "i", "levels": {"a": 1}}, "'levels' of a"),
    (EventType.CLAIMED, {"ref": "r", "taken_from": None}, "'taken_from' of a claimed event"),
    (EventType.RELEASED, {}, "a released event without 'ref'"),
]


def test_every_type_has_a_good_and_a_wrong_case():
    assert set(GOOD) == set(EventType) == {t for t, _, _ in WRONG}


@pytest.mark.parametrize("type_", list(GOOD))
def test_good_data_decodes_to_its_payload_and_encodes_back_unchanged(type_):
    payload = decode(type_, GOOD[type_])
    assert isinstance(payload, ev.Payload)
    assert payload.TYPE is type_ and type(payload) is ev.PAYLOADS[type_]
    assert encode(payload) == GOOD[type_]
    # byte-compatible with the store's JSON (sorted keys, as `_dump` writes it)
    dumped = json.dumps(encode(payload), ensure_ascii=False, sort_keys=True)
    assert dumped == json.dumps(GOOD[type_], ensure_ascii=False, sort_keys=True)


@pytest.mark.parametrize(("type_", "data", "reason"), WRONG, ids=[str(w[0]) for w in WRONG])
def test_a_wrong_shape_is_refused_with_its_reason(type_, data, reason):
    with pytest.raises(ValueError) as caught:
        decode(type_, data)
    assert reason in str(caught.value)


def test_typed_fields():
    step = decode(EventType.STEP, {"ref": "r", "state": "failed", "note": None})
    assert isinstance(step, ev.StepChanged)
    assert (step.ref, step.state, step.note) == ("r", "failed", None)
    down = decode(EventType.DOWN, {"components": ["a", "b"]})
    assert isinstance(down, ev.Down)
    assert down.components == ("a", "b")
    note = decode(EventType.NOTE, {"text": "t"})
    assert isinstance(note, ev.Note)
    assert (note.ref, note.gap) == (None, False) and encode(note) == {"text": "t"}
    started = decode(EventType.STARTED, {"title": "T", "pack_version": "1", "estate_file": None})
    assert isinstance(started, ev.Started)
    assert started.kind == "incident" and started.extra == {"pack_version": "1"}


def test_other_keys_are_free_and_unknown_types_are_kept():
    note = decode(EventType.NOTE, {"text": "t", "writer": 3})
    assert isinstance(note, ev.Note) and note.text == "t"
    other = decode("from-a-newer-version", {"anything": [1]})
    assert isinstance(other, ev.Unknown) and other.type == "from-a-newer-version"
    assert encode(other) == {"anything": [1]}
    with pytest.raises(ValueError, match="its data is a string, not a JSON object"):
        decode("from-a-newer-version", "text")


def test_an_event_carries_its_typed_payload():
    from datetime import UTC, datetime

    from tsbrunbook.domain.incident import Event

    event = Event(3, "INC-1", datetime(2026, 1, 1, tzinfo=UTC), "chat", {"enabled": False})
    assert event.payload == ev.Chat(enabled=False)


@pytest.mark.parametrize(("type_", "data", "reason"), WRONG, ids=[str(w[0]) for w in WRONG])
def test_sqlite_finds_the_same_wrong_shapes(type_, data, reason):
    """The store's SQL check is built from the same payload classes: a wrong shape is flagged
    in SQL exactly when decode refuses it (list items are not looked into by SQL)."""
    conn = sqlite3.connect(":memory:")
    if not isinstance(data, dict):
        return  # not a JSON object: the store checks that before the shape
    flagged = conn.execute(
        f"SELECT {ev.sql_shape_problem('?1', '?2')}", (json.dumps(data), str(type_))
    ).fetchone()[0]
    list_items_only = type_ is EventType.EXERCISE_PREDICTION
    assert bool(flagged) is not list_items_only
    good = conn.execute(
        f"SELECT {ev.sql_shape_problem('?1', '?2')}", (json.dumps(GOOD[type_]), str(type_))
    ).fetchone()[0]
    assert not good
