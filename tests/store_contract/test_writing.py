"""Creating incidents and appending events: numbering, round trips, `expect_last`, refusals."""

from __future__ import annotations

import re
from datetime import UTC

import pytest

from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.incident import Conflict, current_actor
from tsbrunbook.store import IncidentStore

META = {
    "estate_file": None,
    "estate_name": "Demo retail estate",
    "pack_version": "2026.11.0",
    "pack_checksum": "sha256:0",
}
UNKNOWN = "INC-19990101-001"


def test_implements_the_protocol_and_says_where_it_is(store_factory):
    store = store_factory()
    assert isinstance(store, IncidentStore)
    assert isinstance(store.location, str)
    assert store.location
    assert isinstance(store.schema_version, int)
    assert store.schema_version >= 1
    again = store_factory()
    assert (again.location, again.schema_version) == (store.location, store.schema_version)


def test_create_records_the_started_event_as_event_1(store):
    incident = store.create("  Checkout \n errors ", meta=META, actor="alice")
    assert store.exists(incident) and store.ids() == [incident]
    (started,) = store.events(incident)
    assert (started.seq, started.incident, started.type, started.actor) == (
        1,
        incident,
        "started",
        "alice",
    )
    # Whitespace in a title is collapsed; the meta travels in the event.
    assert started.data == {**META, "title": "Checkout errors", "kind": "incident"}
    assert started.at.tzinfo == UTC


def test_the_actor_defaults_to_the_user_running_the_process(store):
    incident = store.create("x", meta=META)
    assert store.events(incident)[0].actor == current_actor()


def test_ids_are_per_kind_and_day_and_unique(store):
    first = store.create("one", meta=META)
    second = store.create("two", meta=META)
    exercise = store.create("drill", kind="exercise", meta=META)
    assert re.fullmatch(r"INC-\d{8}-001", first)
    assert second == first[:-3] + "002"
    assert re.fullmatch(r"EX-\d{8}-001", exercise)
    assert sorted(store.ids()) == sorted([first, second, exercise])
    assert not store.exists(UNKNOWN) and store.events(UNKNOWN) == []


def test_events_are_numbered_1_to_n_per_incident(store):
    a = store.create("a", meta=META)
    b = store.create("b", meta=META)
    for n in range(3):  # interleaved: each incident still counts its own events
        store.append(a, "note", {"text": f"a{n}"})
        store.append(b, "note", {"text": f"b{n}"})
    store.append(b, "note", {"text": "b3"})
    assert [e.seq for e in store.events(a)] == [1, 2, 3, 4]
    assert [e.seq for e in store.events(b)] == [1, 2, 3, 4, 5]
    assert [e.data.get("text") for e in store.events(b)][1:] == ["b0", "b1", "b2", "b3"]


def test_an_appended_event_reads_back_exactly_as_returned(store):
    incident = store.create("round trip", meta=META, actor="alice")
    data = {"text": "naïve ünïcode — ✅", "nested": {"list": [1, 2.5, None, True]}, "ref": "a/b/c"}
    appended = [
        store.append(incident, "down", {"components": ["workload-cluster/eu-west"]}, actor="alice"),
        store.append(incident, "note", data, actor="bob"),
        store.append(incident, "step", {"ref": "x/recovery/y", "state": "skipped", "note": "why"}),
    ]
    stored = store.events(incident)
    assert stored[1:] == appended  # what append returned is exactly what a later read returns
    assert stored[2].data == data and stored[2].actor == "bob"
    assert all(e.at.tzinfo == UTC for e in stored)
    assert stored == sorted(stored, key=lambda e: e.at)


def test_after_returns_only_the_later_events(store):
    incident = store.create("after", meta=META)
    appended = [store.append(incident, "note", {"text": str(n)}) for n in range(4)]
    assert store.events(incident, after=0) == store.events(incident)
    assert store.events(incident, after=2) == appended[1:]
    assert store.events(incident, after=5) == []
    assert store.events(incident, after=99) == []


def test_expect_last_appends_when_nothing_changed_since(store):
    incident = store.create("cas", meta=META)
    event = store.append(incident, "down", {"components": ["postgres"]}, expect_last=1)
    assert event.seq == 2
    assert store.append(incident, "up", {"components": ["postgres"]}, expect_last=2).seq == 3


@pytest.mark.parametrize("stale", [0, 1, 3, 99])
def test_expect_last_on_a_stale_view_conflicts_and_appends_nothing(store, stale):
    incident = store.create("cas", meta=META)
    store.append(incident, "note", {"text": "someone else"})
    with pytest.raises(Conflict):
        store.append(incident, "down", {"components": ["postgres"]}, expect_last=stale)
    assert [e.type for e in store.events(incident)] == ["started", "note"]


def test_a_closed_incident_takes_no_more_events(store):
    incident = store.create("x", meta=META)
    store.append(incident, "closed", {})
    with pytest.raises(UserError, match="is closed"):
        store.append(incident, "note", {"text": "late"})
    with pytest.raises(UserError, match="is closed"):
        store.append(incident, "closed", {})
    with pytest.raises(UserError, match="is closed"):
        store.append(incident, "note", {"text": "late"}, expect_last=2)
    assert len(store.events(incident)) == 2


def test_bad_writes_are_refused(store):
    with pytest.raises(UserError, match="unknown incident"):
        store.append(UNKNOWN, "note", {"text": "x"})
    with pytest.raises(UserError, match="title is empty"):
        store.create("  \n ", meta=META)
    with pytest.raises(UserError, match="unknown kind"):
        store.create("x", kind="drill")
    incident = store.create("x", meta=META)
    with pytest.raises(UserError, match="started only once"):
        store.append(incident, "started", {})
    assert store.ids() == [incident] and len(store.events(incident)) == 1


def test_what_one_connection_writes_another_reads(store_factory):
    writer, reader = store_factory(), store_factory()
    incident = writer.create("shared", meta=META)
    event = writer.append(incident, "note", {"text": "hello"})
    assert reader.exists(incident) and reader.events(incident)[-1] == event
    writer.close()
    assert store_factory().events(incident, after=1) == [event]  # it outlives the connection
