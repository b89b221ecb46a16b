"""The SQLite event store: round trips, ids, listing, schema versions and files it must refuse."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from datetime import UTC

import pytest

from tsbrunbook.domain.errors import UserError
from tsbrunbook.store import SCHEMA_VERSION, Store, default_db_path
from tsbrunbook.store.sqlite import APPLICATION_ID, MIGRATIONS

META = {
    "estate_file": None,
    "estate_name": "Demo retail estate",
    "pack_version": "2026.11.0",
    "pack_checksum": "sha256:0",
}


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def store():
    s = Store()
    yield s
    s.close()


def test_default_path_follows_tsbrunbook_home(isolated_home, store):
    assert store.path == str(isolated_home / "incidents.sqlite3") == default_db_path()
    assert os.path.isfile(store.path)
    assert store.schema_version == SCHEMA_VERSION


def test_without_tsbrunbook_home_the_platform_data_dir_is_used(monkeypatch):
    import platformdirs

    from tsbrunbook.store import data_dir

    monkeypatch.delenv("TSBRUNBOOK_HOME")
    assert data_dir() == platformdirs.user_data_dir("tsbrunbook", appauthor=False)
    assert default_db_path() == os.path.join(data_dir(), "incidents.sqlite3")


def test_events_round_trip(store):
    incident = store.create("Checkout errors", meta=META, actor="alice")
    data = {"text": "naïve ünïcode — ✅", "nested": {"list": [1, 2.5, None, True]}, "ref": "a/b/c"}
    appended = [
        store.append(incident, "down", {"components": ["workload-cluster/eu-west"]}, actor="alice"),
        store.append(incident, "note", data, actor="bob"),
        store.append(incident, "step", {"ref": "x/recovery/y", "state": "skipped", "note": "why"}),
    ]
    stored = store.events(incident)
    assert [e.seq for e in stored] == [1, 2, 3, 4]
    assert stored[1:] == appended  # what append returned is exactly what a later read returns
    started = stored[0]
    assert started.type == "started" and started.actor == "alice"
    assert started.data == {**META, "title": "Checkout errors", "kind": "incident"}
    assert stored[2].data == data and stored[2].actor == "bob"
    for event in stored:
        assert event.at.tzinfo == UTC
    assert stored == sorted(stored, key=lambda e: e.at)
    assert store.events(incident, after=2) == appended[1:]
    # Stored as ISO-8601 UTC with microseconds and as JSON text.
    raw = (
        sqlite3.connect(store.path)
        .execute("SELECT at, data FROM events WHERE incident = ? AND seq = 3", (incident,))
        .fetchone()
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", raw[0])
    assert json.loads(raw[1]) == data


def test_ids_per_kind_and_day(store):
    first = store.create("one", meta=META)
    second = store.create("two", meta=META)
    exercise = store.create("drill", kind="exercise", meta=META)
    assert re.fullmatch(r"INC-\d{8}-001", first)
    assert second == first[:-3] + "002"
    assert re.fullmatch(r"EX-\d{8}-001", exercise)
    assert store.exists(first) and not store.exists("INC-19990101-001")
    assert store.events("INC-19990101-001") == []


def test_list_latest_open_and_closed_incidents(store):
    old = store.create("old", meta=META)
    store.append(old, "down", {"components": ["postgres", "management-plane"]})
    store.append(old, "up", {"components": ["postgres"]})
    drill = store.create("drill", kind="exercise", meta=META)
    new = store.create("new", meta=META)
    assert [s.id for s in store.summaries()] == [new, drill, old]
    assert [s.id for s in store.summaries(kind="exercise")] == [drill]
    summary = {s.id: s for s in store.summaries()}[old]
    assert (summary.title, summary.kind, summary.events, summary.down, summary.closed) == (
        "old",
        "incident",
        3,
        ("management-plane",),
        None,
    )
    assert store.latest_open() == new
    assert store.latest_open("exercise") == drill
    store.append(new, "closed", {})
    assert store.latest_open() == old
    assert [s.id for s in store.summaries()] == [drill, old]
    closed = {s.id: s for s in store.summaries(include_closed=True)}[new]
    assert closed.closed is not None and closed.to_dict()["closed"].endswith("Z")


def test_a_closed_incident_takes_no_more_events(store):
    incident = store.create("x", meta=META)
    store.append(incident, "closed", {})
    with pytest.raises(UserError, match="is closed"):
        store.append(incident, "note", {"text": "late"})
    with pytest.raises(UserError, match="is closed"):
        store.append(incident, "closed", {})
    assert len(store.events(incident)) == 2


def test_bad_writes_are_refused(store):
    with pytest.raises(UserError, match="unknown incident"):
        store.append("INC-19990101-001", "note", {"text": "x"})
    with pytest.raises(UserError, match="title is empty"):
        store.create("  \n ", meta=META)
    with pytest.raises(UserError, match="unknown kind"):
        store.create("x", kind="drill")
    incident = store.create("x", meta=META)
    with pytest.raises(UserError, match="started only once"):
        store.append(incident, "started", {})
    assert store.summaries() and len(store.events(incident)) == 1


def _v1_database(path) -> None:
    """A store as schema version 1 left it."""
    conn = sqlite3.connect(path)
    for sql in MIGRATIONS[0]:
        conn.execute(sql)
    conn.execute(
        "INSERT INTO incidents VALUES ('INC-20260101-001', 'incident', 'old one', '2026-01-01T10:00:00.000000Z')"
    )
    conn.execute(
        "INSERT INTO events VALUES ('INC-20260101-001', 1, '2026-01-01T10:00:00.000000Z', 'started', ?, 'alice')",
        (json.dumps({"title": "old one", "kind": "incident"}),),
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_older_schema_is_migrated_forward(isolated_home):
    path = isolated_home / "incidents.sqlite3"
    _v1_database(path)
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [e.type for e in store.events("INC-20260101-001")] == ["started"]
        event = store.append("INC-20260101-001", "note", {"text": "after the upgrade"})
        assert event.seq == 2
    indexes = [
        r[0]
        for r in sqlite3.connect(path).execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'"
        )
    ]
    assert "events_by_type" in indexes


def _refused(path, *fragments: str) -> str:
    before = digest(path)
    with pytest.raises(UserError) as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert digest(path) == before, "the refused file was modified"
    return message


def test_newer_schema_is_refused_untouched(isolated_home):
    path = isolated_home / "incidents.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    _refused(path, f"schema version {SCHEMA_VERSION + 5}", "upgrade tsbrunbook", "left untouched")


def test_garbage_file_is_refused_untouched(isolated_home):
    path = isolated_home / "incidents.sqlite3"
    path.write_bytes(b"this is not a database\n" * 500)
    _refused(path, "not an SQLite database", "move it aside")


def test_damaged_database_is_refused_untouched(isolated_home):
    path = isolated_home / "incidents.sqlite3"
    with Store(path) as store:
        incident = store.create("x", meta=META)
        for i in range(300):
            store.append(incident, "note", {"text": f"note {i} " + "x" * 200})
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    _refused(path, "damaged")


def test_overwritten_pages_are_refused_untouched(isolated_home):
    path = isolated_home / "incidents.sqlite3"
    with Store(path) as store:
        incident = store.create("x", meta=META)
        for i in range(300):
            store.append(incident, "note", {"text": f"note {i} " + "x" * 200})
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as fh:
        fh.seek(page * 2)  # the third page: a b-tree page of the events table
        fh.write(b"\xff" * page)
    _refused(path, "damaged")


def test_foreign_sqlite_database_is_refused_untouched(isolated_home):
    path = isolated_home / "incidents.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    _refused(path, "not a tsbrunbook incident store")


def test_a_directory_in_the_way_is_refused(isolated_home):
    (isolated_home / "incidents.sqlite3").mkdir()
    with pytest.raises(UserError, match="is a directory"):
        Store()


def test_an_empty_file_becomes_a_store(isolated_home):
    path = isolated_home / "incidents.sqlite3"
    path.touch()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.create("x", meta=META).startswith("INC-")


def test_the_sqlite_store_implements_the_store_protocol(tmp_path):
    from tsbrunbook.store import IncidentStore

    with Store(tmp_path / "s.sqlite3") as store:
        assert isinstance(store, IncidentStore)
        assert store.location == str(tmp_path / "s.sqlite3")
