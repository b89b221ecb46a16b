"""The store implementations the contract suite runs against: one `Backend` entry each."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg_server import PgServer
from tsbrunbook.domain.clock import Clock
from tsbrunbook.store import IncidentStore, Store


@dataclass(frozen=True)
class Backend:
    # (request, tmp_path) -> where: an empty place for this test's store (a directory, a URL)
    prepare: Callable[[pytest.FixtureRequest, Path], str]
    open: Callable[..., IncidentStore]  # (where: str, clock: Clock | None = None); picklable
    damage: Callable[[str, str, int], None]  # (location, incident, seq)
    # (location): take the store back to the schema version before the current one, as a
    # store written by the previous release would be (its events stay)
    downgrade: Callable[[str], None]


def prepare_sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    where = tmp_path / "store"
    where.mkdir()
    return str(where)


def open_sqlite(where: str, clock: Clock | None = None) -> IncidentStore:
    # `watch` polls fast here: the contract waits for what it finds, with a deadline.
    return Store(os.path.join(where, "incidents.sqlite3"), clock=clock, poll_interval=0.05)


def downgrade_sqlite(location: str) -> None:
    """Schema 2: no idempotency keys, no presence table, no access grants."""
    conn = sqlite3.connect(location, isolation_level=None)
    conn.executescript(
        """BEGIN;
           DROP TABLE access_revocations;
           DROP TABLE access_grants;
           DROP TABLE presence;
           DROP INDEX events_by_key;
           ALTER TABLE events DROP COLUMN idempotency_key;
           PRAGMA user_version = 2;
           COMMIT;"""
    )
    conn.close()


def damage_sqlite(location: str, incident: str, seq: int) -> None:
    """Valid JSON of the wrong shape (a `down` whose components are not a list)."""
    conn = sqlite3.connect(location)
    with conn:
        changed = conn.execute(
            "UPDATE events SET data = ? WHERE incident = ? AND seq = ?",
            ('{"components": "postgres"}', incident, seq),
        ).rowcount
    conn.close()
    assert changed == 1


def prepare_postgres(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database (from the migrated template) on the session's throwaway server,
    dropped after the test."""
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.new_database()
    request.addfinalizer(lambda: server.drop_database(name))
    return server.url(name)


def open_postgres(where: str, clock: Clock | None = None) -> IncidentStore:
    from tsbrunbook.store.postgres import PostgresStore

    return PostgresStore(where, clock=clock)


def downgrade_postgres(location: str) -> None:
    """Schema 1: no presence table, no access grants, no append function, every event indexed
    by type."""
    import psycopg

    with psycopg.connect(location, autocommit=True) as conn, conn.transaction():
        conn.execute("DROP FUNCTION tsbrunbook_append")
        conn.execute("DROP INDEX events_by_type")
        conn.execute("CREATE INDEX events_by_type ON events (type, incident)")
        conn.execute("DROP TABLE access_revocations")
        conn.execute("DROP TABLE access_grants")
        conn.execute("DROP TABLE presence")
        conn.execute("UPDATE tsbrunbook_schema SET version = 1")


def damage_postgres(location: str, incident: str, seq: int) -> None:
    """The same damage as on SQLite: a `down` whose components are not a list."""
    import psycopg

    with psycopg.connect(location, autocommit=True) as conn:
        changed = conn.execute(
            "UPDATE events SET data = %s::jsonb WHERE incident = %s AND seq = %s",
            ('{"components": "postgres"}', incident, seq),
        ).rowcount
    assert changed == 1


BACKENDS = [
    pytest.param(
        Backend(prepare_sqlite, open_sqlite, damage_sqlite, downgrade_sqlite), id="sqlite"
    ),
    pytest.param(
        Backend(prepare_postgres, open_postgres, damage_postgres, downgrade_postgres),
        id="postgres",
    ),
]
