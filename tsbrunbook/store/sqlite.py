"""The SQLite event store: append-only incident events, one durable transaction per event.

- **Nothing acknowledged is lost.** WAL with `synchronous=FULL`: a commit is fsync'd before
  `append()` returns, so a crash or `kill -9` after that cannot take the event back.
- **Several processes at once.** Every write is one `BEGIN IMMEDIATE` transaction that waits for
  other writers (busy timeout); sequence numbers and incident ids are assigned inside it, so two
  writers never collide and never overwrite each other.
- **The user's file is never harmed.** An existing file is first inspected through a read-only
  connection (header, owner, schema version, `quick_check`). A corrupt, foreign or newer file is
  refused with a one-line UserError before anything opens it for writing.
- **Forward migrations.** `PRAGMA user_version` is the schema version; older files are migrated
  in one transaction when opened.
- **Presence and changes on one machine.** Several apps on this machine share the file: each
  says who has an incident open (the `presence` table) and finds the others' events by polling
  (`watch`: `PRAGMA data_version` every `poll_interval` seconds, on a connection of its own).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Self

from ..domain.author import current_actor
from ..domain.clock import SYSTEM_CLOCK, Clock
from ..domain.errors import UserError
from ..domain.events import decode, sql_shape_problem
from ..domain.incident import Conflict, Event
from ..domain.timefmt import format_time, parse_time
from .paths import default_db_path
from .protocol import (
    ROLES,
    AccessGrant,
    Change,
    DamagedEvent,
    IdempotencyKeys,
    IncidentSummary,
    Presence,
    fold_down_marks,
    present_since,
)

SCHEMA_VERSION = 4
APPLICATION_ID = 0x74736272  # "tsbr" in PRAGMA application_id: this file is an incident store
BUSY_TIMEOUT_S = 15.0  # long enough to queue behind other writers, short enough to report a hang
POLL_INTERVAL_S = 2.0  # how often `watch` looks for other processes' writes
PRESENCE_KEPT_S = 3600.0  # heartbeats older than this are deleted by the next one
SQLITE_MAGIC = b"SQLite format 3\x00"
ID_PREFIXES = {"incident": "INC", "exercise": "EX"}

# Each entry takes the schema from version i to i + 1. Append only: released files depend on them.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # The incidents table only indexes what the `started` event says; events are the truth.
        """CREATE TABLE incidents (
               id TEXT PRIMARY KEY,
               kind TEXT NOT NULL,
               title TEXT NOT NULL,
               started TEXT NOT NULL
           )""",
        # seq is numbered per incident (1, 2, 3 …) so a timeline reads naturally.
        """CREATE TABLE events (
               incident TEXT NOT NULL REFERENCES incidents(id),
               seq INTEGER NOT NULL,
               at TEXT NOT NULL,
               type TEXT NOT NULL,
               data TEXT NOT NULL,
               actor TEXT NOT NULL DEFAULT '',
               PRIMARY KEY (incident, seq)
           ) WITHOUT ROWID""",
    ),
    # `list` and `latest_open` look for the `closed` event of every incident.
    ("CREATE INDEX events_by_type ON events(type, incident)",),
    (
        # Written by the client (IdempotencyKeys): a write retried in its scope is stored once.
        "ALTER TABLE events ADD COLUMN idempotency_key TEXT",
        "CREATE UNIQUE INDEX events_by_key ON events(idempotency_key)"
        " WHERE idempotency_key IS NOT NULL",
        # Who has each incident open: one row per open app, its last heartbeat in `seen`.
        """CREATE TABLE presence (
               incident TEXT NOT NULL,
               session TEXT NOT NULL,
               who TEXT NOT NULL,
               seen TEXT NOT NULL,
               PRIMARY KEY (incident, session)
           ) WITHOUT ROWID""",
    ),
    # Who may open the war-room view: grants and their revocations, both only ever inserted
    # (as events are), so a revocation is on record and no role needs UPDATE or DELETE.
    (
        """CREATE TABLE access_grants (
               token_sha256 TEXT PRIMARY KEY,
               name TEXT NOT NULL,
               role TEXT NOT NULL CHECK (role IN ('operator', 'read-only')),
               created TEXT NOT NULL
           ) WITHOUT ROWID""",
        """CREATE TABLE access_revocations (
               token_sha256 TEXT PRIMARY KEY REFERENCES access_grants(token_sha256),
               revoked TEXT NOT NULL
           ) WITHOUT ROWID""",
    ),
)
assert len(MIGRATIONS) == SCHEMA_VERSION


# Rows whose event cannot be decoded, found by SQLite itself so `list` need not decode every event
# in Python: data that is not text, not JSON or not a JSON object, or not of its type's shape
# (the payload classes of domain.events); a time not in timefmt.TIME_FORMAT.
# A CASE, not ORs, because SQLite guarantees the order of CASE branches: json_type() raises on
# text that is not JSON, so the shape is looked at only once the row is known to be a JSON object.
DAMAGED_ROW_SQL = f"""CASE
    WHEN typeof(data) != 'text' OR typeof(at) != 'text' OR typeof(type) != 'text' OR typeof(actor) != 'text' THEN 1
    WHEN at NOT GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z' THEN 1
    WHEN julianday(substr(at, 1, 19)) IS NULL THEN 1
    WHEN NOT json_valid(data) THEN 1
    WHEN json_type(data) != 'object' THEN 1
    ELSE {sql_shape_problem()}
END"""


def decode_event(incident: str, seq: int, at: Any, type_: Any, data: Any, actor: Any) -> Event:
    """One stored row as an Event; ValueError saying what is wrong when it cannot be one."""
    if not isinstance(type_, str) or not isinstance(actor, str):
        raise ValueError("its type or actor is not text")
    if not isinstance(at, str):
        raise ValueError("its time is not text")
    try:
        when = parse_time(at)
    except ValueError:
        raise ValueError(f"its time {at[:40]!r} is not a UTC timestamp") from None
    if not isinstance(data, str):
        raise ValueError("its data is not text")
    try:
        decoded = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"its data is not valid JSON: {str(exc)[:80]}") from None
    decode(type_, decoded)  # ValueError saying what is wrong with its shape
    return Event(seq, incident, when, type_, decoded, actor)


def _refuse(path: str, problem: str, hint: str) -> UserError:
    return UserError(f"{path}: {problem}", hint + "; the file was left untouched")


_MOVE_ASIDE = "move it aside (keep it for recovery) or set TSBRUNBOOK_HOME to use another store"


def inspect(path: str) -> None:
    """Refuse a file that is not a healthy incident store of a schema we understand.

    Only reads: the header with plain file I/O, then a read-only SQLite connection. (SQLite may
    create empty -wal/-shm companions for it, as for any reader; the database file is not written.)
    """
    if os.path.isdir(path):
        raise UserError(
            f"{path}: is a directory, not an incident store",
            "set TSBRUNBOOK_HOME to a directory that holds incidents.sqlite3",
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return  # a new store
    except OSError as exc:
        raise UserError(
            f"{path}: cannot read the incident store ({exc.strerror})",
            "check the file's permissions",
        ) from None
    if not head:
        return  # an empty file is an empty SQLite database: nothing in it to protect
    if not head.startswith(SQLITE_MAGIC):
        raise _refuse(
            path, "not an SQLite database (damaged, or not an incident store)", _MOVE_ASIDE
        )
    try:
        ro = sqlite3.connect(
            Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
        )
        try:
            # One read transaction: read one by one, another process could migrate the file
            # between the version and the table count, and a new store would look foreign.
            ro.execute("BEGIN")
            version = ro.execute("PRAGMA user_version").fetchone()[0]
            owner = ro.execute("PRAGMA application_id").fetchone()[0]
            tables = ro.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
            if owner not in (0, APPLICATION_ID) or (owner == 0 and (version or tables)):
                raise _refuse(
                    path, "is an SQLite database but not a tsbrunbook incident store", _MOVE_ASIDE
                )
            if version > SCHEMA_VERSION:
                raise _refuse(
                    path,
                    f"the incident store has schema version {version}, newer than this tsbrunbook understands ({SCHEMA_VERSION})",
                    "upgrade tsbrunbook, or set TSBRUNBOOK_HOME to use another store",
                )
            verdict = ro.execute("PRAGMA quick_check(1)").fetchone()[0]
            if verdict != "ok":
                raise _refuse(
                    path,
                    f"the incident store is damaged ({' '.join(str(verdict).split())[:120]})",
                    _MOVE_ASIDE,
                )
        finally:
            ro.close()
    except sqlite3.OperationalError as exc:
        raise _store_error(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise _refuse(path, f"the incident store is damaged ({exc})", _MOVE_ASIDE) from None


def _store_error(path: str, exc: sqlite3.Error, busy_timeout: float = BUSY_TIMEOUT_S) -> UserError:
    """An SQLite failure as one line the on-call engineer can act on."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return UserError(
            f"{path}: the incident store stayed busy for {busy_timeout:g} s",
            "another process holds it; try again (nothing was recorded)",
        )
    if isinstance(exc, sqlite3.OperationalError):
        if "unable to open" in text or "readonly" in text:
            return UserError(
                f"{path}: cannot open the incident store for writing ({text})",
                "check the permissions of the file and its directory",
            )
        return UserError(
            f"{path}: the incident store failed ({text})",
            "nothing was recorded; check the disk (space, permissions)",
        )
    return _refuse(path, f"the incident store is damaged ({text})", _MOVE_ASIDE)


class Store:
    """Incidents as append-only events in one SQLite file: an `IncidentStore`.

    Safe to share between threads (one connection behind a lock) and between processes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        busy_timeout: float = BUSY_TIMEOUT_S,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path) if path is not None else default_db_path())
        self.clock = clock or SYSTEM_CLOCK  # stamps events (a FakeClock in tests)
        self.busy_timeout = busy_timeout  # seconds to wait for another writer (shorter in tests)
        self.poll_interval = poll_interval  # seconds between `watch`'s looks (shorter in tests)
        self._keys = IdempotencyKeys()
        self._lock = threading.RLock()
        inspect(self.path)
        try:
            # 0700: incident notes are nobody else's business on a shared jump host.
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"{os.path.dirname(self.path)}: cannot create the data directory ({exc.strerror})",
                "set TSBRUNBOOK_HOME to a writable directory",
            ) from None
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc, busy_timeout) from None
        try:
            self._configure()
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # -- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """Serialise use of the connection; SQLite failures become one-line UserErrors."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _store_error(self.path, exc, self.busy_timeout) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front (waiting for other
        writers), so what we read inside it is still true when we commit."""
        with self._guard() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot across several SELECTs."""
        with self._guard() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def _configure(self) -> None:
        with self._guard() as conn:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = _switch_to_wal(conn)
            if str(mode).lower() != "wal":
                raise UserError(
                    f"{self.path}: the incident store cannot use write-ahead logging (journal mode {mode})",
                    "keep TSBRUNBOOK_HOME on a local disk",
                )
            # FULL in WAL mode: every commit is fsync'd, so an acknowledged event survives power loss.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")

    def _migrate(self) -> None:
        with self._guard() as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return
        with self._write() as conn:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _refuse(
                    self.path,
                    f"the incident store has schema version {version}, newer than this tsbrunbook understands ({SCHEMA_VERSION})",
                    "upgrade tsbrunbook",
                )
            for statements in MIGRATIONS[version:]:
                for sql in statements:
                    conn.execute(sql)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def location(self) -> str:
        return self.path

    @property
    def schema_version(self) -> int:
        with self._guard() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- writing ---------------------------------------------------------------------------

    def create(
        self,
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> str:
        """Start an incident (or exercise): a new id like INC-20261127-001 and its `started` event.

        `meta` (estate file and name, pack version and checksum …) goes into the event's data;
        `actor` defaults to the user running this process."""
        started = new_incident_fields(title, kind, meta, actor)
        key = str(self._keys.next())
        with self._write() as conn:
            incident = self._insert_incident(conn, *started, key)
        self._keys.used()
        return incident

    def resume_or_create(
        self,
        wanted: Callable[[dict[str, Any]], bool],
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> tuple[str, bool]:
        """The newest open, undamaged incident of `kind` whose start `wanted` accepts, else a new
        one: looked for and made in one IMMEDIATE transaction, so processes doing this at once
        (browser tabs opened together) find or make the same incident."""
        started = new_incident_fields(title, kind, meta, actor)
        key = str(self._keys.next())
        with self._write() as conn:
            rows = conn.execute(
                f"""SELECT e.incident, e.seq, e.at, e.type, e.data, e.actor
                    FROM incidents i JOIN events e ON e.incident = i.id AND e.seq = 1
                    WHERE i.kind = ?
                      AND NOT EXISTS (SELECT 1 FROM events c
                                      WHERE c.incident = i.id AND c.type = 'closed')
                      AND NOT EXISTS (SELECT 1 FROM events d
                                      WHERE d.incident = i.id AND ({DAMAGED_ROW_SQL}))
                    ORDER BY i.started DESC, i.id DESC""",
                (kind,),
            ).fetchall()
            for row in rows:
                try:
                    start = decode_event(*row)
                except ValueError:
                    continue  # damage only decoding finds: pass it over, as `incident list` does
                if wanted(start.data):
                    return start.incident, False
            incident = self._insert_incident(conn, *started, key)
        self._keys.used()
        return incident, True

    def _insert_incident(
        self, conn: sqlite3.Connection, title: str, kind: str, payload: str, actor: str, key: str
    ) -> str:
        """A new id and its `started` event, inside the caller's write transaction; the id this
        very write was stored under before when it is a retry in the same idempotency scope."""
        done = conn.execute(
            "SELECT incident FROM events WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if done:
            return str(done[0])
        at = self.clock.wall()  # inside the lock: timestamps follow commit order
        stem = f"{ID_PREFIXES[kind]}-{at:%Y%m%d}-"
        taken = [
            row[0][len(stem) :]
            for row in conn.execute(
                "SELECT id FROM incidents WHERE substr(id, 1, ?) = ?", (len(stem), stem)
            )
        ]
        number = max((int(n) for n in taken if n.isdigit()), default=0) + 1
        incident = f"{stem}{number:03d}"
        conn.execute(
            "INSERT INTO incidents (id, kind, title, started) VALUES (?, ?, ?, ?)",
            (incident, kind, title, format_time(at)),
        )
        conn.execute(
            "INSERT INTO events (incident, seq, at, type, data, actor, idempotency_key)"
            " VALUES (?, 1, ?, 'started', ?, ?, ?)",
            (incident, format_time(at), payload, actor, key),
        )
        return incident

    def append(
        self,
        incident: str,
        type: str,
        data: dict[str, Any],
        actor: str = "",
        expect_last: int | None = None,
    ) -> Event:
        """Append one event durably and return it as stored (with its seq and UTC time).

        A closed incident takes no more events: checked here, under the write lock, so a close
        in another process cannot slip in between a check and the write. With `expect_last`,
        the event is appended only if the incident's last seq is still that one (else Conflict).
        """
        if type == "started":
            raise UserError(
                "an incident is started only once", "use `tsbrunbook incident start TITLE`"
            )
        payload = _dump(data)
        key = str(self._keys.next())
        with self._write() as conn:
            done = conn.execute(
                "SELECT seq, at, type, data, actor FROM events WHERE idempotency_key = ?", (key,)
            ).fetchone()
            if done:  # this very append was stored before (a retry in the same scope)
                self._keys.used()
                return self._decoded(incident, done)
            if conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident,)).fetchone() is None:
                raise UserError(
                    f"unknown incident '{incident}'", "run `tsbrunbook incident list --all`"
                )
            if conn.execute(
                "SELECT 1 FROM events WHERE incident = ? AND type = 'closed' LIMIT 1", (incident,)
            ).fetchone():
                raise UserError(
                    f"incident {incident} is closed",
                    "start a new one with `tsbrunbook incident start TITLE`",
                )
            seq = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM events WHERE incident = ?", (incident,)
            ).fetchone()[0]
            if expect_last is not None and seq - 1 != expect_last:
                raise Conflict(f"incident {incident} changed since seq {expect_last}")
            at = self.clock.wall()
            conn.execute(
                "INSERT INTO events (incident, seq, at, type, data, actor, idempotency_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (incident, seq, format_time(at), type, payload, actor, key),
            )
        self._keys.used()
        # What a later read returns: JSON round-tripped, time at the stored precision.
        return Event(seq, incident, parse_time(format_time(at)), type, json.loads(payload), actor)

    def idempotent(self, key: uuid.UUID) -> AbstractContextManager[None]:
        """See IncidentStore.idempotent. A local file never leaves a write in doubt, but the
        same scope means the same thing here, so callers need not know the backend."""
        return self._keys.scope(key)

    def import_events(self, events: list[Event]) -> int:
        """Add events exactly as given (ids, seq, times, types, data, actors): `store copy`.

        All events belong to one incident. When the incident is new, the first must be its
        `started` event (seq 1). Seqs must continue the stored ones. Returns how many were added.
        """
        if not events:
            return 0
        incident, first = events[0].incident, events[0]
        with self._write() as conn:
            last = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM events WHERE incident = ?", (incident,)
            ).fetchone()[0]
            if first.seq != last + 1:
                raise UserError(
                    f"{self.path}: incident {incident} has {last} events here; cannot add event {first.seq}",
                    "copy it into a store that does not have it yet",
                )
            if last == 0:
                if first.type != "started" or first.seq != 1:
                    raise UserError(
                        f"incident {incident}: its first event is not its start",
                        "it cannot be copied",
                    )
                conn.execute(
                    "INSERT INTO incidents (id, kind, title, started) VALUES (?, ?, ?, ?)",
                    (
                        incident,
                        str(first.data.get("kind", "incident")),
                        str(first.data.get("title", "")),
                        format_time(first.at),
                    ),
                )
            conn.executemany(
                "INSERT INTO events (incident, seq, at, type, data, actor) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (incident, e.seq, format_time(e.at), e.type, _dump(e.data), e.actor)
                    for e in events
                ],
            )
        return len(events)

    # -- access to the war-room view -------------------------------------------------------

    def add_access(self, name: str, role: str, token_sha256: str) -> AccessGrant:
        """Record a grant (see IncidentStore.add_access)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._write() as conn:
            if conn.execute(_ACTIVE_GRANTS_SQL + " AND g.name = ?", (name,)).fetchone():
                raise access_name_taken(name)
            at = self.clock.wall()
            conn.execute(
                "INSERT INTO access_grants (token_sha256, name, role, created) VALUES (?, ?, ?, ?)",
                (token_sha256, name, role, format_time(at)),
            )
        return AccessGrant(name, role, token_sha256, parse_time(format_time(at)))

    def access_grants(self) -> list[AccessGrant]:
        with self._guard() as conn:
            rows = conn.execute(_ACTIVE_GRANTS_SQL + " ORDER BY g.name").fetchall()
        return [AccessGrant(name, role, digest, parse_time(at)) for digest, name, role, at in rows]

    def revoke_access(self, name: str) -> bool:
        with self._write() as conn:
            digests = [
                row[0]
                for row in conn.execute(_ACTIVE_GRANTS_SQL + " AND g.name = ?", (name,)).fetchall()
            ]
            at = format_time(self.clock.wall())
            conn.executemany(
                "INSERT INTO access_revocations (token_sha256, revoked) VALUES (?, ?)",
                [(digest, at) for digest in digests],
            )
        return bool(digests)

    # -- reading ---------------------------------------------------------------------------

    def events(self, incident: str, after: int = 0) -> list[Event]:
        """The incident's events with seq > after, in order ([] for an unknown incident)."""
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT seq, at, type, data, actor FROM events WHERE incident = ? AND seq > ? ORDER BY seq",
                (incident, after),
            ).fetchall()
        return [self._decoded(incident, row) for row in rows]

    def _decoded(self, incident: str, row: tuple[Any, ...]) -> Event:
        """A (seq, at, type, data, actor) row as an Event, or DamagedEvent."""
        try:
            return decode_event(incident, *row)
        except ValueError as exc:
            raise DamagedEvent(self.path, incident, row[0], str(exc)) from None

    def start_event(self, incident: str) -> Event | None:
        """Event 1 alone (see IncidentStore.start_event)."""
        with self._guard() as conn:
            row = conn.execute(
                "SELECT seq, at, type, data, actor FROM events WHERE incident = ? AND seq = 1",
                (incident,),
            ).fetchone()
        if row is None:
            return None
        try:
            return decode_event(incident, *row)
        except ValueError as exc:
            raise DamagedEvent(self.path, incident, 1, str(exc)) from None

    def exists(self, incident: str) -> bool:
        with self._guard() as conn:
            return (
                conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident,)).fetchone()
                is not None
            )

    def summaries(
        self, include_closed: bool = False, kind: str | None = None
    ) -> list[IncidentSummary]:
        """Incidents, newest first: open ones only unless include_closed.

        An incident with an event that cannot be decoded is listed with `damaged` set, never
        taking the others down. Only the down/up marks are decoded here (for `down`); SQLite
        checks the other events (DAMAGED_ROW_SQL), and opening the incident decodes each fully."""
        with self._read() as conn:
            rows = conn.execute(
                # The title is the latest `renamed` event's, else the one it started with.
                """SELECT i.id,
                          coalesce((SELECT json_extract(e.data, '$.title') FROM events e
                                    WHERE e.incident = i.id AND e.type = 'renamed'
                                      AND json_valid(e.data)
                                    ORDER BY e.seq DESC LIMIT 1), i.title),
                          i.kind, i.started,
                          (SELECT min(e.at) FROM events e WHERE e.incident = i.id AND e.type = 'closed'),
                          (SELECT count(*) FROM events e WHERE e.incident = i.id)
                   FROM incidents i
                   WHERE ?1 IS NULL OR i.kind = ?1
                   ORDER BY i.started DESC, i.id DESC""",
                (kind,),
            ).fetchall()
            marks = conn.execute(
                "SELECT incident, seq, at, type, data, actor FROM events WHERE type IN ('down', 'up') ORDER BY incident, seq"
            ).fetchall()
            broken = conn.execute(
                f"SELECT incident, seq, at, type, data, actor FROM events WHERE {DAMAGED_ROW_SQL} ORDER BY incident, seq"
            ).fetchall()
        damaged: dict[str, tuple[int, str]] = {}
        for incident, seq, *row in broken:
            if incident not in damaged:  # the first damaged event of each incident, and why
                damaged[incident] = (seq, _why(incident, seq, *row))
        down = fold_down_marks(
            ((row[0], row[1], partial(decode_event, *row)) for row in marks), damaged
        )
        out = []
        for id_, title, kind_, started, closed, count in rows:
            if closed and not include_closed:
                continue
            why = None
            if id_ in damaged:
                seq, problem = damaged[id_]
                why = f"event {seq} cannot be read ({problem})"
            started_at, closed_at = _time_or_none(started), _time_or_none(closed)
            if started_at is None:
                why = why or "its start time cannot be read"
            if closed and closed_at is None:
                why = why or "its close time cannot be read"
            out.append(
                IncidentSummary(
                    id_,
                    str(title),
                    str(kind_),
                    started_at,
                    closed_at,
                    count,
                    tuple(down.get(id_, ())),
                    why,
                )
            )
        return out

    def latest_open(self, kind: str = "incident") -> str | None:
        """The most recently started incident of this kind that is not closed."""
        with self._guard() as conn:
            row = conn.execute(
                """SELECT id FROM incidents i
                   WHERE kind = ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.incident = i.id AND e.type = 'closed')
                   ORDER BY started DESC, id DESC LIMIT 1""",
                (kind,),
            ).fetchone()
        return row[0] if row else None

    def ids(self) -> list[str]:
        """Every incident id (for "did you mean" hints)."""
        with self._guard() as conn:
            return [
                row[0]
                for row in conn.execute("SELECT id FROM incidents ORDER BY started DESC, id DESC")
            ]

    # -- presence --------------------------------------------------------------------------

    def heartbeat(self, incident: str, who: str, session: str, at: datetime) -> None:
        """`who` has `incident` open in `session` as of `at` (rows left behind by apps that
        crashed are deleted once an hour old)."""
        stale = format_time(at - timedelta(seconds=PRESENCE_KEPT_S))
        with self._write() as conn:
            conn.execute("DELETE FROM presence WHERE seen < ?", (stale,))
            conn.execute(
                "INSERT INTO presence (incident, session, who, seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (incident, session) DO UPDATE SET who = excluded.who,"
                " seen = excluded.seen",
                (incident, session, who, format_time(at)),
            )

    def leave(self, incident: str, session: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM presence WHERE incident = ? AND session = ?", (incident, session)
            )

    def present(self, incident: str, now: datetime) -> list[Presence]:
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT who, session, seen FROM presence WHERE incident = ? AND seen >= ?"
                " ORDER BY who, session",
                (incident, format_time(present_since(now))),
            ).fetchall()
        return [
            Presence(str(who), str(session), seen)
            for who, session, text in rows
            if (seen := _time_or_none(text)) is not None
        ]

    # -- live updates ----------------------------------------------------------------------

    def watch(self, timeout: float = 1.0) -> Generator[Change | None, None, None]:
        """Other connections' writes, found by polling every `poll_interval` seconds on a
        read-only connection of the generator's own (see IncidentStore.watch). `PRAGMA
        data_version` says whether anyone committed since the last look; only then are the
        incidents' last seqs and the presence rows read and compared."""
        try:
            conn = sqlite3.connect(
                Path(self.path).as_uri() + "?mode=ro",
                uri=True,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc, self.busy_timeout) from None
        try:
            version, tops, here = self._look(conn)
            yield Change(None)
            due = time.monotonic() + self.poll_interval
            while True:
                time.sleep(max(0.0, min(timeout, due - time.monotonic())))
                if time.monotonic() < due:
                    yield None
                    continue
                due = time.monotonic() + self.poll_interval
                now = self._data_version(conn)
                if now == version:
                    yield None
                    continue
                version, new_tops, new_here = self._look(conn)
                changes: list[Change | None] = [
                    Change(incident, seq)
                    for incident, seq in sorted(new_tops.items())
                    if seq > tops.get(incident, 0)
                ]
                changes += [
                    Change(incident, presence=True)
                    for incident in sorted(set(here) | set(new_here))
                    if here.get(incident) != new_here.get(incident)
                ]
                tops, here = new_tops, new_here
                yield from changes or [None]
        finally:
            conn.close()

    def _data_version(self, conn: sqlite3.Connection) -> int:
        try:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc, self.busy_timeout) from None

    def _look(
        self, conn: sqlite3.Connection
    ) -> tuple[int, dict[str, int], dict[str, frozenset[tuple[str, str]]]]:
        """(data_version, last seq per incident, (session, seen) per incident), in one
        snapshot. With `seen`: a heartbeat is a change, so a session back after it expired is
        seen at once (each beat costs the other apps here one read of a small table)."""
        try:
            conn.execute("BEGIN")
            try:
                version = int(conn.execute("PRAGMA data_version").fetchone()[0])
                tops = dict(conn.execute("SELECT incident, max(seq) FROM events GROUP BY incident"))
                here: dict[str, set[tuple[str, str]]] = {}
                for incident, session, seen in conn.execute(
                    "SELECT incident, session, seen FROM presence"
                ):
                    here.setdefault(incident, set()).add((session, seen))
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc, self.busy_timeout) from None
        return version, tops, {k: frozenset(v) for k, v in here.items()}


# The grants in force: made and not revoked (callers add `AND …` and an ORDER BY).
_ACTIVE_GRANTS_SQL = """SELECT g.token_sha256, g.name, g.role, g.created FROM access_grants g
    WHERE NOT EXISTS (SELECT 1 FROM access_revocations r WHERE r.token_sha256 = g.token_sha256)"""


def access_name_taken(name: str) -> UserError:
    return UserError(
        f"{name} already has access",
        f"revoke it first with `tsbrunbook access revoke {name}` to give them a new token",
    )


def new_incident_fields(
    title: str, kind: str, meta: dict[str, Any] | None, actor: str | None
) -> tuple[str, str, str, str]:
    """A new incident's title, kind, `started` data (JSON) and actor, checked: shared with the
    PostgreSQL store."""
    actor = current_actor() if actor is None else actor
    if kind not in ID_PREFIXES:
        raise UserError(f"unknown kind '{kind}'", "use incident or exercise")
    title = " ".join(title.split())
    if not title:
        raise UserError("the title is empty", "say in a few words what is happening")
    return title, kind, _dump({**(meta or {}), "title": title, "kind": kind}), actor


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """`PRAGMA journal_mode = WAL`, waiting up to the busy timeout for other connections.

    While another connection is switching a new file to WAL, SQLite answers "database is locked"
    at once instead of calling the busy handler; processes opening a fresh store together would
    fail without this. The journal mode is then retried until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _why(incident: str, seq: int, *row: Any) -> str:
    """What is wrong with a row SQLite flagged (its own words may differ from ours: say so)."""
    try:
        decode_event(incident, seq, *row)
    except ValueError as exc:
        return str(exc)
    return "SQLite finds it malformed"


def _time_or_none(text: Any) -> datetime | None:
    try:
        return parse_time(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _dump(data: dict[str, Any]) -> str:
    if not isinstance(data, dict):
        raise TypeError("event data must be a dict")
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)
