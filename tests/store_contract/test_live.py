"""Live updates and retried writes: `watch` reports other connections' appends and arrivals
(PostgreSQL by NOTIFY, SQLite by polling: the same contract), and work run again in the same
`idempotent` scope stores nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.pg_server import wait_until
from tsbrunbook.domain.incident import Conflict
from tsbrunbook.store import Change

META = {"estate_file": None, "estate_name": "Demo"}
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def next_change(changes: Iterator[Change | None], seconds: float = 10.0) -> Change:
    """The next Change the watch reports (its quiet ticks passed over), within a deadline."""
    found: list[Change] = []

    def seen() -> bool:
        change = next(changes)
        if change is not None:
            found.append(change)
        return bool(found)

    wait_until(seen, seconds, "a change from the watch")
    return found[0]


def test_watch_starts_with_a_read_again_then_reports_another_connections_appends(store_factory):
    mine, theirs = store_factory(), store_factory()
    incident = mine.create("live", meta=META)
    changes = mine.watch(timeout=0.02)
    try:
        assert next(changes) == Change(None)  # watching now: what came before is not reported
        theirs.append(incident, "note", {"text": "from another laptop"})
        assert next_change(changes) == Change(incident, 2)
        theirs.append(incident, "note", {"text": "one"})
        theirs.append(incident, "note", {"text": "two"})
        got = next_change(changes)  # a poll may see both at once; NOTIFY says each
        assert got.incident == incident and got.seq in (3, 4) and not got.presence
    finally:
        changes.close()


def test_watch_ticks_while_nothing_happens(store):
    changes = store.watch(timeout=0.01)
    try:
        assert next(changes) == Change(None)
        assert [next(changes) for _ in range(3)] == [None, None, None]
    finally:
        changes.close()


def test_watch_reports_a_session_arriving_at_and_leaving_an_incident(store_factory):
    mine, theirs = store_factory(), store_factory()
    incident = mine.create("live", meta=META)
    changes = mine.watch(timeout=0.02)
    try:
        assert next(changes) == Change(None)
        theirs.heartbeat(incident, "bob", "s-bob", T0)
        assert next_change(changes) == Change(incident, presence=True)
        theirs.leave(incident, "s-bob")
        assert next_change(changes) == Change(incident, presence=True)
    finally:
        changes.close()


def test_an_append_run_again_in_the_same_scope_is_stored_once(store):
    incident = store.create("retry", meta=META)
    key = uuid.uuid4()
    with store.idempotent(key):
        first = store.append(incident, "note", {"text": "once"}, actor="alice")
    with store.idempotent(key):  # the same work again: its answer was lost
        again = store.append(incident, "note", {"text": "once"}, actor="alice")
    assert again == first
    assert [e.seq for e in store.events(incident)] == [1, 2]
    with store.idempotent(uuid.uuid4()):  # other work: stored
        assert store.append(incident, "note", {"text": "twice"}).seq == 3
    # Outside a scope, every append is new.
    store.append(incident, "note", {"text": "x"})
    store.append(incident, "note", {"text": "x"})
    assert len(store.events(incident)) == 5


def test_run_again_on_a_changed_state_the_stored_event_wins(store):
    """A toggle whose `down` was stored, run again: the fresh state would say `up`; the key
    returns the stored `down` instead of recording the opposite."""
    incident = store.create("retry", meta=META)
    key = uuid.uuid4()
    with store.idempotent(key):
        down = store.append(incident, "down", {"components": ["postgres"]}, expect_last=1)
    with store.idempotent(key):
        again = store.append(incident, "up", {"components": ["postgres"]}, expect_last=2)
    assert again == down
    assert [e.type for e in store.events(incident)] == ["started", "down"]


def test_a_refused_append_does_not_use_up_its_key(store):
    incident = store.create("retry", meta=META)
    store.append(incident, "note", {"text": "someone else"})
    key = uuid.uuid4()
    with store.idempotent(key):
        with pytest.raises(Conflict):
            store.append(incident, "note", {"text": "mine"}, expect_last=1)
        mine = store.append(incident, "note", {"text": "mine"}, expect_last=2)
        second = store.append(incident, "note", {"text": "and this"})
    with store.idempotent(key):  # run again: the same two keys, in order
        assert store.append(incident, "note", {"text": "mine"}, expect_last=2) == mine
        assert store.append(incident, "note", {"text": "and this"}) == second
    assert [e.seq for e in store.events(incident)] == [1, 2, 3, 4]


def test_a_create_run_again_in_the_same_scope_makes_one_incident(store):
    key = uuid.uuid4()
    with store.idempotent(key):
        first = store.create("once", meta=META)
    with store.idempotent(key):
        assert store.create("once", meta=META) == first
    assert store.ids() == [first]
