"""Listing incidents: summaries newest first, closed ones, kinds, damage; the latest open one;
the start event on its own."""

from __future__ import annotations

import pytest

from tsbrunbook.store import DamagedEvent

META = {"estate_file": "/estates/prod.yaml", "estate_name": "Prod"}


def test_summaries_are_newest_first_with_what_the_list_shows(store):
    old = store.create("old", meta=META)
    store.append(old, "down", {"components": ["postgres", "management-plane"]})
    store.append(old, "up", {"components": ["postgres"]})
    drill = store.create("drill", kind="exercise", meta=META)
    new = store.create("new", meta=META)
    listed = store.summaries()
    assert [s.id for s in listed] == [new, drill, old]
    summary = {s.id: s for s in listed}[old]
    assert (summary.title, summary.kind, summary.events, summary.down, summary.closed) == (
        "old",
        "incident",
        3,
        ("management-plane",),
        None,
    )
    assert summary.started == store.events(old)[0].at and summary.damaged is None
    assert {s.id: s.down for s in listed}[new] == ()


def test_summaries_filter_by_kind(store):
    incident = store.create("incident", meta=META)
    drill = store.create("drill", kind="exercise", meta=META)
    assert [s.id for s in store.summaries(kind="exercise")] == [drill]
    assert [s.id for s in store.summaries(kind="incident")] == [incident]
    assert [s.id for s in store.summaries(kind=None)] == [drill, incident]


def test_closed_incidents_are_listed_only_when_asked(store):
    old = store.create("old", meta=META)
    new = store.create("new", meta=META)
    closed_event = store.append(new, "closed", {})
    assert [s.id for s in store.summaries()] == [old]
    listed = {s.id: s for s in store.summaries(include_closed=True)}
    assert list(listed) == [new, old]
    assert listed[new].closed == closed_event.at and listed[new].events == 2
    assert listed[new].to_dict()["closed"].endswith("Z")


def test_latest_open_per_kind(store):
    assert store.latest_open() is None
    old = store.create("old", meta=META)
    drill = store.create("drill", kind="exercise", meta=META)
    new = store.create("new", meta=META)
    assert store.latest_open() == new
    assert store.latest_open("exercise") == drill
    store.append(new, "closed", {})
    assert store.latest_open() == old
    store.append(drill, "closed", {})
    assert store.latest_open("exercise") is None


def test_a_damaged_event_marks_only_its_incident(store_factory):
    store = store_factory()
    first = store.create("first", meta=META)
    middle = store.create("middle", meta=META)
    last = store.create("last", meta=META)
    for incident in (first, middle, last):
        store.append(incident, "down", {"components": ["postgres"]})
    store_factory.damage(store, middle, 2)
    listed = {s.id: s for s in store.summaries()}
    assert list(listed) == [last, middle, first]  # still listed: nobody thinks it vanished
    assert listed[middle].damaged and "event 2" in listed[middle].damaged
    assert listed[first].damaged is None and listed[first].down == ("postgres",)
    assert listed[last].damaged is None
    with pytest.raises(DamagedEvent) as raised:
        store.events(middle)
    assert (raised.value.incident, raised.value.seq) == (middle, 2)
    assert store.location in str(raised.value)
    assert [e.seq for e in store.events(first)] == [1, 2]


def test_the_start_event_alone(store_factory):
    store = store_factory()
    incident = store.create("started", meta=META, actor="alice")
    store.append(incident, "down", {"components": ["postgres"]})
    assert store.start_event(incident) == store.events(incident)[0]
    assert store.start_event("INC-19990101-001") is None
    # Later events are not decoded: damage after the start does not hide where it started.
    store_factory.damage(store, incident, 2)
    start = store.start_event(incident)
    assert start is not None and start.data["estate_file"] == "/estates/prod.yaml"


def test_summaries_show_the_latest_title_after_a_rename(store):
    incident = store.create("first title")
    store.append(incident, "renamed", {"title": "second title"})
    store.append(incident, "renamed", {"title": "third title"})
    (summary,) = store.summaries()
    assert summary.title == "third title"
