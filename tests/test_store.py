"""The SQLite event store: its file format, schema versions and the files it must refuse.

What every store does (ids, numbering, expect_last, listing …) is in tests/store_contract/."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3

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


def test_events_are_stored_as_utc_text_and_json(store):
    """The file format (the protocol-level semantics are in tests/store_contract/)."""
    incident = store.create("Checkout errors", meta=META, actor="alice")
    data = {"text": "naïve ünïcode — ✅", "nested": {"list": [1, 2.5, None, True]}}
    store.append(incident, "note", data)
    assert store.location == store.path
    raw = (
        sqlite3.connect(store.path)
        .execute("SELECT at, data FROM events WHERE incident = ? AND seq = 2", (incident,))
        .fetchone()
    )
    # ISO-8601 UTC with microseconds (sorts as text), and JSON text.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", raw[0])
    assert json.loads(raw[1]) == data


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
