"""`tsbrunbook store status|copy` through the real CLI, against SQLite and the throwaway
PostgreSQL server: the first test in a fresh `python -m tsbrunbook`, the others in processes
forked from the test zygote (tests/zygote.py), which start without the interpreter's start-up."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import run_forked, run_process
from tests.pg_server import PASSWORD, PASSWORD_ROLE
from tests.test_bad_input import one_error_line
from tsbrunbook.store.postgres import SCHEMA_VERSION, PostgresStore
from tsbrunbook.store.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION
from tsbrunbook.store.sqlite import Store

META = {"estate_file": None}


def test_status_of_the_default_sqlite_store(isolated_home, monkeypatch):
    monkeypatch.delenv("TSBRUNBOOK_DATABASE_URL", raising=False)
    result = run_process("store", "status")
    assert result.rc == 0, result.err
    assert result.out.splitlines() == [
        "store: SQLite",
        f"location: {isolated_home / 'incidents.sqlite3'}",
        f"schema version: {SQLITE_SCHEMA_VERSION}",
        "reachable: yes",
    ]


def test_status_of_the_postgres_store_from_the_environment(pg_store_factory):
    url = pg_store_factory().location
    result = run_forked("store", "status", env={"TSBRUNBOOK_DATABASE_URL": url})
    assert result.rc == 0, result.err
    assert result.out.splitlines() == [
        "store: PostgreSQL (team mode)",
        f"location: {url}",
        f"schema version: {SCHEMA_VERSION}",
        "reachable: yes",
    ]


def test_status_of_an_unreachable_store_is_one_line_without_the_password(pg_server):
    url = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:1/tsbrunbook"
    result = run_forked("store", "status", env={"TSBRUNBOOK_DATABASE_URL": url})
    line = one_error_line(result)
    assert line.startswith("tsbrunbook: error: incident store unreachable at 127.0.0.1:1: ")
    assert PASSWORD not in result.out + result.err


def test_a_password_on_the_command_line_is_refused_unseen(pg_server):
    url = pg_server.url("tsbr_template", PASSWORD_ROLE, PASSWORD)
    for argv in (("store", "status", "--database-url", url), ("store", "copy", url, "x.sqlite3")):
        result = run_forked(*argv)
        line = one_error_line(result)
        assert "holds a password" in line and PASSWORD not in result.out + result.err


def test_status_uses_the_keyring_password_when_libpq_has_none(
    cli,
    pg_server,
    memory_keyring,
    monkeypatch,
    tmp_path,
):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    url = pg_server.url("tsbr_template", PASSWORD_ROLE)
    refused = cli("store", "status", "--database-url", url)
    assert refused.rc == 2 and "secret set database-password" in refused.err
    memory_keyring.set_password("tsbrunbook", "database-password", PASSWORD)
    result = cli("store", "status", "--database-url", url)
    assert result.rc == 0, result.err
    assert f"location: {url}" in result.out and PASSWORD not in result.out + result.err


def _sqlite_with_incidents(path) -> list[str]:
    with Store(path) as store:
        first = store.create("first", meta=META, actor="alice")
        store.append(first, "down", {"components": ["postgres"]}, actor="alice")
        store.append(first, "note", {"text": "ünïcode ✅"}, actor="bob")
        second = store.create("second", kind="exercise", meta=META, actor="carol")
        store.append(second, "closed", {}, actor="carol")
        return [first, second]


def _all_events(store) -> dict:
    return {i: store.events(i) for i in store.ids()}


def test_copy_sqlite_to_postgres_and_back_verbatim_and_idempotent(tmp_path, pg_store_factory):
    source = tmp_path / "laptop.sqlite3"
    first, second = _sqlite_with_incidents(source)
    url = pg_store_factory().location

    result = run_forked("store", "copy", str(source), url)
    assert result.rc == 0, result.err
    assert result.out.splitlines() == [
        f"{first}: 3 events (copied 3)",
        f"{second}: 2 events (copied 2)",
        "copied 5 events of 2 incidents; 0 incidents already there; "
        "verified: the target holds all 5 events of the 2 incidents",
    ]
    with Store(source) as local, PostgresStore(url) as team:
        assert _all_events(team) == _all_events(local)
        assert [s.to_dict() for s in team.summaries(include_closed=True)] == [
            s.to_dict() for s in local.summaries(include_closed=True)
        ]

    again = run_forked("store", "copy", str(source), url)
    assert again.rc == 0, again.err
    assert f"{first}: 3 events (already there)" in again.out
    assert again.out.splitlines()[-1].startswith("copied 0 events of 0 incidents; 2 incidents")

    with PostgresStore(url) as team:  # the team works on; copying back brings it home
        team.append(first, "note", {"text": "from the team"}, actor="dave")
    back = tmp_path / "back" / "incidents.sqlite3"
    home = run_forked("store", "copy", url, str(back))
    assert home.rc == 0, home.err
    with Store(back) as copied, PostgresStore(url) as team:
        assert _all_events(copied) == _all_events(team)
        assert copied.create("third", meta=META) == first[:-3] + "002"  # numbering goes on
    update = run_forked("store", "copy", str(source), str(back))
    assert update.rc == 0 and "copied 0 events" in update.out  # the source is a beginning of it


def test_copy_stops_on_an_incident_that_differs_in_the_target(tmp_path, pg_store_factory):
    source = tmp_path / "a.sqlite3"
    other = tmp_path / "b.sqlite3"
    first, _ = _sqlite_with_incidents(source)
    with Store(other) as store:
        assert store.create("a different first", meta=META) == first
    url = pg_store_factory().location
    assert run_forked("store", "copy", str(other), url).rc == 0
    result = run_forked("store", "copy", str(source), url)
    line = one_error_line(result)
    assert f"incident {first} is in {url} with different content (event 1 differs)" in line
    with PostgresStore(url) as team:
        assert team.ids() == [first] and len(team.events(first)) == 1  # nothing was copied


def test_copy_of_a_damaged_source_names_the_event_and_copies_nothing(tmp_path, pg_store_factory):
    source = tmp_path / "a.sqlite3"
    first, second = _sqlite_with_incidents(source)
    conn = sqlite3.connect(source)
    with conn:
        conn.execute("UPDATE events SET data = '[1]' WHERE incident = ? AND seq = 2", (first,))
    conn.close()
    url = pg_store_factory().location
    line = one_error_line(run_forked("store", "copy", str(source), url))
    assert f"incident {first}, event 2 cannot be read" in line
    with PostgresStore(url) as team:
        assert team.ids() == []


@pytest.mark.parametrize("missing", ["nope.sqlite3", "postgresql://x@127.0.0.1:1/db"])
def test_copy_from_a_missing_source_is_one_line(tmp_path, missing):
    spec = missing if "://" in missing else str(tmp_path / missing)
    line = one_error_line(run_forked("store", "copy", spec, str(tmp_path / "t.sqlite3")))
    assert "no such incident store" in line or "unreachable at 127.0.0.1:1" in line
    assert not (tmp_path / "t.sqlite3").exists()


def test_incident_commands_use_the_team_store_from_the_environment(
    pg_store_factory,
    isolated_home,
):
    """With TSBRUNBOOK_DATABASE_URL set, `incident start/down/list` work on PostgreSQL and leave
    no local SQLite store behind."""
    store = pg_store_factory()
    env = {"TSBRUNBOOK_DATABASE_URL": store.location}
    started = run_forked("incident", "start", "team incident", env=env)
    assert started.rc == 0, started.err
    (summary,) = store.summaries()
    assert summary.title == "team incident"
    marked = run_forked("incident", "down", summary.id, "postgres", env=env)
    assert marked.rc == 0, marked.err
    listed = run_forked("incident", "list", env=env)
    assert listed.rc == 0 and summary.id in listed.out
    assert [e.type for e in store.events(summary.id)] == ["started", "down"]
    assert not (isolated_home / "incidents.sqlite3").exists()
