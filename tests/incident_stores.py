"""The incident store a test runs on: the local SQLite file or a PostgreSQL database.

The `incident_store` fixture (tests/conftest.py) selects one per test parameter, the way a user
does: nothing for SQLite, `TSBRUNBOOK_DATABASE_URL` for PostgreSQL. Tests that check what the
store holds or do something to it from outside (a snapshot to prove a refused command changed
nothing, a schema version from a newer release) go through `IncidentStoreUnderTest`, which knows
how to do that to each kind of store.
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tsbrunbook.store import IncidentStore
from tsbrunbook.store.select import open_store

SQLITE = "sqlite"
POSTGRES = "postgres"
KINDS = [SQLITE, POSTGRES]

# Every table a command could write to, read in a fixed order (presence is the TUI's heartbeat,
# not recorded by a command, and is left out on purpose).
_PG_TABLES = {
    "tsbrunbook_schema": "version",
    "incidents": "id",
    "events": "incident, seq",
    "access_grants": "1",
    "access_revocations": "1",
}


def opened_store() -> closing[IncidentStore]:
    """The store the commands would use now (SQLite, or $TSBRUNBOOK_DATABASE_URL's), closed at
    the end of the `with` block."""
    return closing(open_store())


@dataclass(frozen=True)
class IncidentStoreUnderTest:
    kind: str  # SQLITE or POSTGRES
    location: str  # as the store names itself in messages: the file path, or the URL

    @property
    def sqlite_path(self) -> Path:
        assert self.kind == SQLITE, "only the SQLite store is a file"
        return Path(self.location)

    def snapshot(self) -> str:
        """A digest of everything recorded: equal before and after a command that changed
        nothing (the SQLite file and its write-ahead log byte for byte; every PostgreSQL row)."""
        digest = hashlib.sha256()
        if self.kind == SQLITE:
            for suffix in ("", "-wal"):
                path = Path(f"{self.location}{suffix}")
                if path.exists():
                    digest.update(path.read_bytes())
            return digest.hexdigest()
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as conn:
            for table, order in _PG_TABLES.items():
                rows = conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
                digest.update(repr((table, rows)).encode())
        return digest.hexdigest()

    @property
    def schema_version(self) -> int:
        """The schema version this tsbrunbook writes for this kind of store."""
        if self.kind == SQLITE:
            from tsbrunbook.store.sqlite import SCHEMA_VERSION
        else:
            from tsbrunbook.store.postgres import SCHEMA_VERSION
        return SCHEMA_VERSION

    def set_schema_version(self, version: int) -> None:
        """Stamp the store with `version`, as a newer (or older) release would have left it."""
        if self.kind == SQLITE:
            with closing(sqlite3.connect(self.location)) as db:
                db.execute(f"PRAGMA user_version = {int(version)}")
                db.commit()
            return
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as conn:
            conn.execute("UPDATE tsbrunbook_schema SET version = %s", (version,))
