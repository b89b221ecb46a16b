"""Presence: who has an incident open now. Heartbeats per open app (session), gone once not
heard from for PRESENT_FOR_S, or at once when the app leaves; shared by every connection; and
the forward migration that brought the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tsbrunbook.store.protocol import PRESENT_FOR_S, Presence

META = {"estate_file": None, "estate_name": "Demo"}
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_heartbeat_makes_its_session_present_on_that_incident_only(store):
    incident = store.create("checkout errors", meta=META)
    other = store.create("another", meta=META)
    assert store.present(incident, T0) == []
    store.heartbeat(incident, "alice", "s-alice", T0)
    assert store.present(incident, later(1)) == [Presence("alice", "s-alice", T0)]
    assert store.present(other, later(1)) == []


def test_every_session_is_listed_by_who_then_session_and_beats_do_not_add_rows(store):
    incident = store.create("checkout errors", meta=META)
    store.heartbeat(incident, "bob", "s2", T0)
    store.heartbeat(incident, "alice", "s9", T0)
    store.heartbeat(incident, "alice", "s1", T0)
    store.heartbeat(incident, "bob", "s2", later(10))  # the same app beating again
    assert [(p.who, p.session, p.seen) for p in store.present(incident, later(11))] == [
        ("alice", "s1", T0),
        ("alice", "s9", T0),
        ("bob", "s2", later(10)),
    ]


def test_a_session_not_heard_from_for_the_window_is_gone_until_it_beats_again(store):
    incident = store.create("checkout errors", meta=META)
    store.heartbeat(incident, "alice", "s1", T0)
    assert [p.who for p in store.present(incident, later(PRESENT_FOR_S - 1))] == ["alice"]
    assert store.present(incident, later(PRESENT_FOR_S + 1)) == []
    store.heartbeat(incident, "alice", "s1", later(PRESENT_FOR_S + 2))
    assert [p.who for p in store.present(incident, later(PRESENT_FOR_S + 3))] == ["alice"]


def test_leaving_removes_the_session_at_once_and_only_it(store):
    incident = store.create("checkout errors", meta=META)
    store.heartbeat(incident, "alice", "s1", T0)
    store.heartbeat(incident, "bob", "s2", T0)
    store.leave(incident, "s1")
    assert [p.who for p in store.present(incident, later(1))] == ["bob"]
    store.leave(incident, "s1")  # leaving twice (a retry) is harmless
    store.leave("INC-19990101-001", "s2")  # so is leaving an incident one is not on
    assert [p.who for p in store.present(incident, later(1))] == ["bob"]


def test_presence_is_shared_between_connections(store_factory):
    alice, bob = store_factory(), store_factory()
    incident = alice.create("checkout errors", meta=META)
    alice.heartbeat(incident, "alice", "s1", T0)
    bob.heartbeat(incident, "bob", "s2", T0)
    assert [p.who for p in alice.present(incident, later(1))] == ["alice", "bob"]
    assert [p.who for p in bob.present(incident, later(1))] == ["alice", "bob"]


def test_a_store_of_the_previous_schema_is_migrated_forward_keeping_its_events(store_factory):
    old = store_factory()
    incident = old.create("before the upgrade", meta=META, actor="alice")
    old.append(incident, "down", {"components": ["postgres"]}, actor="alice")
    before = old.events(incident)
    old.close()
    store_factory.downgrade(old)
    store = store_factory()  # the new release opens it
    assert store.events(incident) == before
    store.heartbeat(incident, "bob", "s2", T0)
    assert [p.who for p in store.present(incident, later(1))] == ["bob"]
    assert store.access_grants() == []  # the war room's tables came with the same upgrade
    again = store_factory()  # already migrated: opened as it is
    assert again.schema_version == store.schema_version
    assert again.events(incident) == before
