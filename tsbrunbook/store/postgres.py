"""The PostgreSQL incident store (team mode): the same append-only events, shared between machines.

- **One decision, one transaction.** Every append is one call of the server-side function
  `tsbrunbook_append` (a prepared statement, one round trip, its own transaction): it takes a
  transaction-scoped advisory lock on the incident, checks `expect_last` and that the incident is
  open while inserting seq = last + 1, and NOTIFYs `tsbrunbook` with `<incident>:<seq>`, so the
  lock is held for the server's work and the commit's WAL flush only (appends to one incident
  take one flush each, one after another: that flush is most of an append's time with many
  writers, see benchmarks/pg_append_latency.py). The primary key
  (incident, seq) backs the lock up. Advisory locks need no privilege beyond SELECT/INSERT,
  so the role that appends can be one that cannot UPDATE or DELETE anything (README: Team mode).
- **Exactly once across a dropped connection.** Each append carries a client-made UUID in a
  UNIQUE column. When the connection dies mid-append (a server restart, a failover, a network
  blip) the store reconnects with backoff for a bounded time and sends the same append again;
  if the first one had committed before its answer was lost, the stored event is returned
  instead of a second one.
- **Timestamps from one clock.** Unless a clock is injected (tests), events are stamped by the
  server (`clock_timestamp()` under the lock), so they follow commit order whichever laptop
  wrote them.
- **The password never shows.** libpq finds it as usual (the URL, PGPASSWORD, ~/.pgpass …);
  failing that, on an authentication failure, the keyring's `database-password` is tried (the
  lookup is handed in: the store does not import the keyring). `location` and every message
  carry the URL without it.
- **Forward migrations.** `tsbrunbook_schema` holds the schema version; an older database is
  migrated in one transaction (under an advisory lock) by the first store to open it.
- **Live.** Every append NOTIFYs `tsbrunbook` with `<incident>:<seq>`, and a session arriving at
  or leaving an incident (presence) with `<incident>:presence`; `watch` LISTENs on a connection
  of its own, so an open app repaints as soon as a colleague acts, without polling.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Self, TypeVar

import psycopg
from psycopg import errors as pg_errors

from ..domain.clock import Clock
from ..domain.errors import UserError
from ..domain.events import shapes
from ..domain.incident import Conflict, Event
from ..domain.timefmt import format_time
from . import pgurl
from .protocol import (
    ROLES,
    AccessGrant,
    Change,
    DamagedEvent,
    IdempotencyKeys,
    IncidentSummary,
    Presence,
    StoreUnreachable,
    fold_down_marks,
    present_since,
)
from .sqlite import (
    ID_PREFIXES,
    PRESENCE_KEPT_S,
    access_name_taken,
    decode_event,
    new_incident_fields,
)

SCHEMA_VERSION = 4
CHANNEL = "tsbrunbook"
LOCK_SPACE = 0x74736272  # first key of every advisory lock we take ("tsbr"), apart from others'
MIGRATION_LOCK = 0  # second key while migrating; incidents use hashtext(id)
CREATE_LOCK = 1  # second key while choosing a new incident id (or one to resume)
ACCESS_LOCK = 2  # second key while granting or revoking access to the war-room view
RETRY_FOR_S = 15.0  # how long an append keeps reconnecting before it reports the store unreachable
LOCK_TIMEOUT = "15s"  # a writer that never lets go is reported, not waited on forever
# libpq settings used unless the URL says otherwise: fail a dead connection within seconds
# rather than at the kernel's TCP timeout (minutes), so the retry above can do its work.
CONNECT_DEFAULTS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
    "application_name": "tsbrunbook",
}

T = TypeVar("T")

# Each entry takes the schema from version i to i + 1. Append only: shared databases depend on it.
# `data` is json (not jsonb): the server guarantees it is JSON and keeps the text as written.

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE incidents (
               id text PRIMARY KEY,
               kind text NOT NULL,
               title text NOT NULL,
               started timestamptz NOT NULL
           )""",
        """CREATE TABLE events (
               incident text NOT NULL REFERENCES incidents(id),
               seq integer NOT NULL,
               at timestamptz NOT NULL,
               type text NOT NULL,
               data json NOT NULL,
               actor text NOT NULL DEFAULT '',
               idempotency_key uuid UNIQUE,
               PRIMARY KEY (incident, seq)
           )""",
        "CREATE INDEX events_by_type ON events (type, incident)",
    ),
    (
        # Who has each incident open: one row per open app, its last heartbeat in `seen`.
        # Rows come and go (README: the team role may change this table, and only this one).
        """CREATE TABLE presence (
               incident text NOT NULL,
               session text NOT NULL,
               who text NOT NULL,
               seen timestamptz NOT NULL,
               PRIMARY KEY (incident, session)
           )""",
    ),
    # Who may open the war-room view: grants and revocations, both only ever inserted, so the
    # least-privilege role (SELECT, INSERT) can manage access too and a revocation is on record.
    (
        """CREATE TABLE access_grants (
               token_sha256 text PRIMARY KEY,
               name text NOT NULL,
               role text NOT NULL CHECK (role IN ('operator', 'read-only')),
               created timestamptz NOT NULL
           )""",
        """CREATE TABLE access_revocations (
               token_sha256 text PRIMARY KEY REFERENCES access_grants (token_sha256),
               revoked timestamptz NOT NULL
           )""",
    ),
    # Appends made cheaper (issue 14: p95 with 20 writers on one incident). The decision and the
    # insert move into one server-side function, so an append is one prepared statement (its
    # plans cached per session) instead of a pipeline of two; and only the event types that
    # queries look up by type are indexed by type, so the commonest events (notes, steps) keep
    # two indexes up to date, not three.
    (
        f"""CREATE FUNCTION tsbrunbook_append(
               p_incident text, p_type text, p_data json, p_actor text, p_key uuid,
               p_at timestamptz, p_expect integer,
               OUT o_outcome text, OUT o_last integer, OUT o_seq integer, OUT o_at timestamptz)
           LANGUAGE plpgsql VOLATILE AS $fn$
           DECLARE
               v_done boolean;
               v_closed boolean;
           BEGIN
               -- Incidents are never deleted: whether it exists needs no lock. The lock is held
               -- to the end of the transaction (the commit). Each statement below takes a new
               -- snapshot (a volatile function, read committed), so it sees every append
               -- committed before the lock was granted.
               PERFORM pg_advisory_xact_lock({LOCK_SPACE}, hashtext(p_incident))
                  FROM incidents i WHERE i.id = p_incident;
               IF NOT FOUND THEN
                   o_outcome := 'unknown';
                   RETURN;
               END IF;
               -- The decision and the insert in one statement: the last seq must be p_expect
               -- when given, the incident open, the key new.
               INSERT INTO events AS e (incident, seq, at, type, data, actor, idempotency_key)
               SELECT p_incident, s.last + 1, coalesce(p_at, clock_timestamp()), p_type, p_data,
                      p_actor, p_key
               FROM (SELECT coalesce(max(x.seq), 0) AS last FROM events x
                     WHERE x.incident = p_incident) s
               WHERE (p_expect IS NULL OR s.last = p_expect)
                 AND NOT EXISTS (SELECT 1 FROM events x WHERE x.idempotency_key = p_key)
                 AND NOT EXISTS (SELECT 1 FROM events x
                                 WHERE x.incident = p_incident AND x.type = 'closed')
               RETURNING e.seq, e.at INTO o_seq, o_at;
               IF FOUND THEN
                   PERFORM pg_notify('{CHANNEL}', p_incident || ':' || o_seq);
                   o_outcome := 'added';
                   RETURN;
               END IF;
               -- Nothing inserted (rare): say why, still under the lock.
               SELECT EXISTS (SELECT 1 FROM events x WHERE x.idempotency_key = p_key),
                      EXISTS (SELECT 1 FROM events x
                              WHERE x.incident = p_incident AND x.type = 'closed'),
                      (SELECT coalesce(max(x.seq), 0) FROM events x
                       WHERE x.incident = p_incident)
                 INTO v_done, v_closed, o_last;
               o_outcome := CASE WHEN v_done THEN 'done'  -- an earlier attempt committed
                                 WHEN v_closed THEN 'closed'
                                 ELSE 'conflict' END;
           END
           $fn$""",
        "DROP INDEX events_by_type",
        """CREATE INDEX events_by_type ON events (type, incident)
           WHERE type IN ('closed', 'renamed', 'down', 'up')""",
    ),
)
assert len(MIGRATIONS) == SCHEMA_VERSION

# What the server cannot rule out by itself (it does for JSON syntax and timestamps): data that is
# not an object, or not of its type's shape (domain.events), in PostgreSQL's json_typeof words.
_PG_JSON_TYPES = {
    "text": "string",
    "null": "null",
    "true": "boolean",
    "false": "boolean",
    "integer": "number",
    "real": "number",
    "array": "array",
    "object": "object",
}


def _shape_problem_sql() -> str:
    """A PostgreSQL condition, true for rows whose data `domain.events.decode()` would refuse
    (list items and object values aside, as in SQLite's version)."""
    cases = [
        # PostgreSQL's JSON functions refuse a \\u0000 escape (valid JSON, e.g. in a copied note):
        # such rows are handed to Python, which decides (`_why`). CASE keeps this branch first.
        "WHEN strpos(data::text, '\\u0000') > 0 THEN true",
        "WHEN json_typeof(data) <> 'object' THEN true",
    ]
    for name, fields in shapes().items():
        tests = []
        for field, required, kind in fields:
            got = f"json_typeof(data -> '{field}')"
            allowed = ", ".join(sorted({f"'{_PG_JSON_TYPES[t]}'" for t in kind.json_types}))
            wrong = f"{got} NOT IN ({allowed})"
            if kind.values:
                values = ", ".join(f"'{v}'" for v in kind.values)
                wrong += f" OR (data ->> '{field}') NOT IN ({values})"
            tests.append(
                f"({got} IS NULL OR {wrong})" if required else f"({got} IS NOT NULL AND ({wrong}))"
            )
        if tests:
            cases.append(f"WHEN type = '{name}' THEN " + " OR ".join(tests))
    return "CASE " + " ".join(cases) + " ELSE false END"


DAMAGED_ROW_SQL = _shape_problem_sql()
EVENT_COLUMNS = "seq, at, type, data::text, actor"

# One append (migration 4's function): the decision and the insert under the incident's lock.
# Answers (outcome, last seq, new seq, new time); outcome is added, done (this key was stored by an
# earlier attempt), unknown, closed or conflict.
APPEND_SQL = "SELECT * FROM tsbrunbook_append(%s, %s, %s, %s, %s, %s, %s::integer)"


# A heartbeat NOTIFYs only when its session arrives (new, or back after it had expired), so the
# others' headers change at once without a notification every few seconds per reader. The `old`
# CTE sees the row as it was before the upsert (one snapshot for the whole statement).
HEARTBEAT_SQL = """
    WITH old AS (
        SELECT seen FROM presence WHERE incident = %(incident)s AND session = %(session)s
    ), up AS (
        INSERT INTO presence (incident, session, who, seen)
        VALUES (%(incident)s, %(session)s, %(who)s, %(at)s)
        ON CONFLICT (incident, session) DO UPDATE SET who = EXCLUDED.who, seen = EXCLUDED.seen
        RETURNING 1
    )
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM old WHERE seen >= %(since)s)
                THEN pg_notify(%(channel)s, %(incident)s || ':presence') END
    FROM up
"""


class _Lost(Exception):
    """The connection broke during a call; whether the server acted on it is unknown."""

    def __init__(self, cause: psycopg.Error) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _reason(exc: BaseException) -> str:
    """libpq's words, shortened to the part that says what went wrong, on one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "failed: " in text:
        text = text.rsplit("failed: ", 1)[1]
    text = text.removeprefix("FATAL:").strip()
    return " ".join(text.split())[:200] or type(exc).__name__


def _auth_failed(exc: BaseException) -> bool:
    text = str(exc)
    return "password authentication failed" in text or "no password supplied" in text


def _connection_lost(exc: psycopg.Error, conn: psycopg.Connection | None) -> bool:
    """Worth reconnecting and trying again: the connection (not the request) failed."""
    if conn is not None and (conn.broken or conn.closed):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith(("08", "57P"))  # connection exceptions; admin/crash shutdown


class PostgresStore:
    """Incidents as append-only events in a PostgreSQL database. Implements IncidentStore.

    Safe to share between threads (one connection behind a lock; a listener uses its own) and
    between processes and machines.
    """

    def __init__(
        self,
        url: str,
        clock: Clock | None = None,
        password_lookup: Callable[[], str | None] | None = None,
        retry_for: float = RETRY_FOR_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = pgurl.parse(url)
        self.clock = clock  # None: the server stamps events
        self._password_lookup = password_lookup
        self._keyring_password: str | None = None
        self.retry_for = retry_for
        self._sleep = sleep  # the backoff between reconnects (tests pass their own)
        self._keys = IdempotencyKeys()
        self._lock = threading.RLock()
        self._conn: psycopg.Connection | None = None
        # The cursor appends use, kept with the connection it belongs to: one per append would
        # be a fifth of an append's client CPU (20 writers on 2 cores compete for it).
        self._appender: tuple[psycopg.Connection, psycopg.Cursor] | None = None
        with self._lock:
            self._conn = self._connect()
            try:
                self._migrate(self._conn)
            except BaseException:
                self._conn.close()
                raise

    # -- connections and errors --------------------------------------------------------------

    @property
    def location(self) -> str:
        return self._url.location

    def _mask(self, text: str) -> str:
        return self._url.mask(text, *(s for s in [self._keyring_password] if s))

    def _unreachable(self, exc: BaseException, hint: str = "") -> StoreUnreachable:
        return StoreUnreachable(
            f"incident store unreachable at {self._url.host}:{self._url.port}: "
            + self._mask(_reason(exc)),
            hint
            or "is the server up, and are the URL, user and password right? See "
            "TSBRUNBOOK_DATABASE_URL, ~/.pgpass, `tsbrunbook secret set database-password`; "
            "nothing was recorded",
        )

    def _failed(self, exc: psycopg.Error) -> UserError:
        """A request the server refused (not a connection problem), as one line."""
        if isinstance(exc, pg_errors.LockNotAvailable):
            return UserError(
                f"{self.location}: the incident stayed locked by another writer for {LOCK_TIMEOUT}",
                "try again (nothing was recorded)",
            )
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            return UserError(
                f"{self.location}: the database refused ({self._mask(_reason(exc))})",
                "the role needs SELECT and INSERT on incidents, events and tsbrunbook_schema, "
                "and EXECUTE on tsbrunbook_append (README: Team mode)",
            )
        return UserError(
            f"{self.location}: the incident store failed ({self._mask(_reason(exc))})",
            "nothing was recorded",
        )

    def _open_connection(self, password: str | None) -> psycopg.Connection:
        given = {k for k, _ in _query_keys(self._url.url)}
        extra: dict[str, Any] = {k: v for k, v in CONNECT_DEFAULTS.items() if k not in given}
        if password is not None:
            extra["password"] = password
        conn = psycopg.connect(self._url.url, autocommit=True, **extra)
        conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        return conn

    def _connect(self) -> psycopg.Connection:
        """A new connection; the keyring's password only when libpq found none that works."""
        try:
            return self._open_connection(self._keyring_password)
        except psycopg.ProgrammingError as exc:  # libpq refused the URL itself
            raise UserError(
                f"the database URL {self.location} is not valid: {self._mask(_reason(exc))}",
                "write it as postgresql://USER@HOST:PORT/DATABASE[?sslmode=…] "
                "(TSBRUNBOOK_DATABASE_URL or --database-url)",
            ) from None
        except psycopg.OperationalError as exc:
            if self._keyring_password or self._url.password or not _auth_failed(exc):
                raise self._unreachable(exc) from None
            stored = self._password_lookup() if self._password_lookup else None
            if not stored:
                raise self._unreachable(
                    exc,
                    "give the password in ~/.pgpass or PGPASSWORD, or store it with "
                    "`tsbrunbook secret set database-password`; nothing was recorded",
                ) from None
            self._keyring_password = stored
        try:
            return self._open_connection(self._keyring_password)
        except psycopg.OperationalError as exc:
            raise self._unreachable(
                exc,
                "the keyring's database-password was tried too; update it with "
                "`tsbrunbook secret set database-password`; nothing was recorded",
            ) from None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._conn = self._connect()
        return self._conn

    def _call(self, work: Callable[[psycopg.Connection, int], T], attempt: int) -> T:
        """`work(conn, attempt)` once; a lost connection becomes _Lost, other failures
        UserErrors."""
        conn = self._connection()
        try:
            return work(conn, attempt)
        except psycopg.Error as exc:
            if _connection_lost(exc, conn):
                raise _Lost(exc) from None
            raise self._failed(exc) from None

    def _retrying(self, work: Callable[[psycopg.Connection, int], T]) -> T:
        """`work(conn, attempt)` until it runs to the end on a live connection, reconnecting
        with backoff for at most `retry_for` seconds. `work` must be safe to run again (an
        append is, through its idempotency key)."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.05
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                try:
                    return self._call(work, attempt)
                except _Lost as lost:
                    last: BaseException = lost.cause
                except StoreUnreachable as exc:
                    if attempt == 1:
                        raise
                    last = exc  # reconnecting failed: the server is still away
            if time.monotonic() + delay > deadline:
                raise self._unreachable(
                    last,
                    "the connection was lost and did not come back within "
                    f"{self.retry_for:.0f} s; whether the last action was recorded shows in "
                    "`tsbrunbook incident show` once the store is back",
                ) from None
            self._sleep(delay)
            delay = min(delay * 2, 1.0) * random.uniform(0.8, 1.2)  # jitter: not all at once

    # -- life cycle --------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._appender = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_version(self, conn: psycopg.Connection) -> int:
        found = conn.execute("SELECT to_regclass('tsbrunbook_schema') IS NOT NULL").fetchone()
        if not found or not found[0]:
            return 0
        row = conn.execute("SELECT max(version) FROM tsbrunbook_schema").fetchone()
        return int(row[0] or 0) if row else 0

    def _migrate(self, conn: psycopg.Connection) -> None:
        try:
            version = self._read_version(conn)
            if version == SCHEMA_VERSION:
                return
            if version > SCHEMA_VERSION:
                raise self._newer(version)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, MIGRATION_LOCK))
                version = self._read_version(conn)  # another store may have migrated meanwhile
                if version > SCHEMA_VERSION:
                    raise self._newer(version)
                if version == 0:
                    conn.execute("CREATE TABLE tsbrunbook_schema (version integer NOT NULL)")
                for statements in MIGRATIONS[version:]:
                    for sql in statements:
                        conn.execute(sql)  # our own constant SQL
                conn.execute("DELETE FROM tsbrunbook_schema")
                conn.execute("INSERT INTO tsbrunbook_schema VALUES (%s)", (SCHEMA_VERSION,))
        except pg_errors.InsufficientPrivilege as exc:
            raise UserError(
                f"{self.location}: the incident store needs its schema created or migrated to "
                f"version {SCHEMA_VERSION}, which this role may not do ({self._mask(_reason(exc))})",
                "run `tsbrunbook store status` once as the database's owner (README: Team mode)",
            ) from None
        except pg_errors.DuplicateTable as exc:
            raise UserError(
                f"{self.location}: the database already has tables tsbrunbook did not make "
                f"({self._mask(_reason(exc))})",
                "give tsbrunbook a database of its own (README: Team mode)",
            ) from None
        except psycopg.OperationalError as exc:
            raise self._unreachable(exc) from None
        except psycopg.Error as exc:
            raise self._failed(exc) from None

    def _newer(self, version: int) -> UserError:
        return UserError(
            f"{self.location}: the incident store has schema version {version}, newer than "
            f"this tsbrunbook understands ({SCHEMA_VERSION})",
            "upgrade tsbrunbook",
        )

    @property
    def schema_version(self) -> int:
        return int(self._retrying(lambda conn, _: self._read_version(conn)))

    # -- writing -----------------------------------------------------------------------------

    def _now(self, conn: psycopg.Connection) -> datetime:
        if self.clock is not None:
            return self.clock.wall()
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None and isinstance(row[0], datetime)
        return row[0]

    def create(
        self,
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> str:
        """Start an incident (or exercise): a new id like INC-20261127-001 and its `started`
        event, unique across every process and machine using the database."""
        started = new_incident_fields(title, kind, meta, actor)
        key = self._keys.next()

        def work(conn: psycopg.Connection, attempt: int) -> str:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, CREATE_LOCK))
                return self._insert_incident(conn, key, *started)

        made = str(self._retrying(work))
        self._keys.used()
        return made

    def resume_or_create(
        self,
        wanted: Callable[[dict[str, Any]], bool],
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> tuple[str, bool]:
        """The newest open, undamaged incident of `kind` whose start `wanted` accepts, else a new
        one: looked for and made under the lock that creating takes, in one transaction, so
        processes and machines doing this at once find or make the same incident."""
        started = new_incident_fields(title, kind, meta, actor)
        key = self._keys.next()

        def work(conn: psycopg.Connection, attempt: int) -> tuple[str, bool]:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, CREATE_LOCK))
                # Made already: by an earlier attempt whose answer was lost, or by this very
                # call run again in the same idempotency scope.
                made = conn.execute(
                    "SELECT incident FROM events WHERE idempotency_key = %s", (key,)
                ).fetchone()
                if made:
                    return str(made[0]), True
                rows = conn.execute(
                    f"""SELECT e.incident, e.seq, e.at, e.type, e.data::text, e.actor
                        FROM incidents i JOIN events e ON e.incident = i.id AND e.seq = 1
                        WHERE i.kind = %s
                          AND NOT EXISTS (SELECT 1 FROM events c
                                          WHERE c.incident = i.id AND c.type = 'closed')
                          AND NOT EXISTS (SELECT 1 FROM events d
                                          WHERE d.incident = i.id AND ({DAMAGED_ROW_SQL}))
                        ORDER BY i.started DESC, i.id DESC""",
                    (kind,),
                ).fetchall()
                for incident, seq, at, type_, data, actor_ in rows:
                    if _why(incident, seq, at, type_, data, actor_) is not None:
                        continue  # damage only decoding finds: passed over, as in `incident list`
                    if wanted(json.loads(data)):
                        return str(incident), False
                return self._insert_incident(conn, key, *started), True

        found, created = self._retrying(work)
        self._keys.used()
        return found, created

    def _insert_incident(
        self,
        conn: psycopg.Connection,
        key: uuid.UUID,
        title: str,
        kind: str,
        payload: str,
        actor: str,
    ) -> str:
        """A new id and its `started` event, inside the caller's transaction and CREATE_LOCK; the
        incident this very write made before when it is a retry (found by its idempotency key)."""
        row = conn.execute(
            "SELECT incident FROM events WHERE idempotency_key = %s", (key,)
        ).fetchone()
        if row:
            return str(row[0])
        at = self._now(conn)
        stem = f"{ID_PREFIXES[kind]}-{_utc(at):%Y%m%d}-"
        taken = conn.execute(
            "SELECT substr(id, %s) FROM incidents WHERE starts_with(id, %s)",
            (len(stem) + 1, stem),
        ).fetchall()
        number = max((int(n) for (n,) in taken if n.isdigit()), default=0) + 1
        incident = f"{stem}{number:03d}"
        conn.execute(
            "INSERT INTO incidents (id, kind, title, started) VALUES (%s, %s, %s, %s)",
            (incident, kind, title, at),
        )
        conn.execute(
            "INSERT INTO events (incident, seq, at, type, data, actor, idempotency_key)"
            " VALUES (%s, 1, %s, 'started', %s, %s, %s)",
            (incident, at, payload, actor, key),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{incident}:1"))
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

        Under the incident's lock: refused if the incident is unknown or closed; with
        `expect_last`, appended only if the last seq is still that one (else Conflict). A lost
        connection is retried with the same idempotency key, so the event is stored once."""
        if type == "started":
            raise UserError(
                "an incident is started only once", "use `tsbrunbook incident start TITLE`"
            )
        payload = _dump(data)
        key = self._keys.next()

        at = self.clock.wall() if self.clock is not None else None
        params = (incident, type, payload, actor, key, at, expect_last)

        def work(conn: psycopg.Connection, attempt: int) -> Event:
            # One statement, prepared on first use, in its own (autocommit) transaction: one
            # round trip, committed (WAL flushed) before the answer. The function takes the
            # incident's lock as late as it can, so the lock is held for the decision, the insert
            # and the commit only, never while this process reads an answer or sends a request.
            if self._appender is None or self._appender[0] is not conn:
                self._appender = (conn, conn.cursor(binary=True))
            cur = self._appender[1]
            cur.execute(APPEND_SQL, params, prepare=True)
            row = cur.fetchone()
            assert row is not None
            outcome, last, seq, stored_at = row
            if outcome == "added":
                # As a later read returns it (the server keeps json text as written).
                return Event(seq, incident, _utc(stored_at), type, json.loads(payload), actor)
            if outcome == "done":  # an earlier attempt committed before its answer was lost
                stored = conn.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE idempotency_key = %s", (key,)
                ).fetchone()
                assert stored is not None
                return self._decode(incident, *stored)
            if outcome == "unknown":
                raise UserError(
                    f"unknown incident '{incident}'", "run `tsbrunbook incident list --all`"
                )
            if outcome == "closed":
                raise UserError(
                    f"incident {incident} is closed",
                    "start a new one with `tsbrunbook incident start TITLE`",
                )
            raise Conflict(f"incident {incident} changed since seq {expect_last} (now {last})")

        event = self._retrying(work)
        self._keys.used()
        return event

    def idempotent(self, key: uuid.UUID) -> AbstractContextManager[None]:
        """See IncidentStore.idempotent: the keys of this thread's writes come from `key`."""
        return self._keys.scope(key)

    def import_events(self, events: Sequence[Event]) -> int:
        """Add events exactly as given (ids, seq, times, types, data, actors): `store copy`.

        All events belong to one incident. When the incident is new, the first must be its
        `started` event (seq 1). Seqs must continue the stored ones. Returns how many were added.
        """
        if not events:
            return 0
        incident = events[0].incident
        first = events[0]

        def work(conn: psycopg.Connection, attempt: int) -> int:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_SPACE, incident)
                )
                row = conn.execute(
                    "SELECT coalesce(max(seq), 0) FROM events WHERE incident = %s", (incident,)
                ).fetchone()
                last = int(row[0]) if row else 0
                if attempt > 1 and last >= events[-1].seq:
                    return 0  # the first attempt committed before its answer was lost
                if first.seq != last + 1:
                    raise UserError(
                        f"{self.location}: incident {incident} has {last} events here; "
                        f"cannot add event {first.seq}",
                        "copy it into a store that does not have it yet",
                    )
                if last == 0:
                    if first.type != "started" or first.seq != 1:
                        raise UserError(
                            f"incident {incident}: its first event is not its start",
                            "it cannot be copied",
                        )
                    conn.execute(
                        "INSERT INTO incidents (id, kind, title, started) VALUES (%s, %s, %s, %s)",
                        (
                            incident,
                            str(first.data.get("kind", "incident")),
                            str(first.data.get("title", "")),
                            first.at,
                        ),
                    )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO events (incident, seq, at, type, data, actor)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        [(incident, e.seq, e.at, e.type, _dump(e.data), e.actor) for e in events],
                    )
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{incident}:{events[-1].seq}"))
            return len(events)

        return int(self._retrying(work))

    # -- access to the war-room view ---------------------------------------------------------

    def add_access(self, name: str, role: str, token_sha256: str) -> AccessGrant:
        """Record a grant (see IncidentStore.add_access), under the access lock."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")

        def work(conn: psycopg.Connection, attempt: int) -> AccessGrant:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, ACCESS_LOCK))
                if attempt > 1:  # the first attempt may have committed before the line broke
                    done = conn.execute(
                        "SELECT name, role, token_sha256, created FROM access_grants"
                        " WHERE token_sha256 = %s",
                        (token_sha256,),
                    ).fetchone()
                    if done:
                        return AccessGrant(done[0], done[1], done[2], _utc(done[3]))
                if conn.execute(_ACTIVE_GRANTS_SQL + " AND g.name = %s", (name,)).fetchone():
                    raise access_name_taken(name)
                at = self._now(conn)
                conn.execute(
                    "INSERT INTO access_grants (token_sha256, name, role, created)"
                    " VALUES (%s, %s, %s, %s)",
                    (token_sha256, name, role, at),
                )
            return AccessGrant(name, role, token_sha256, _utc(at))

        return self._retrying(work)

    def access_grants(self) -> list[AccessGrant]:
        rows = self._retrying(
            lambda conn, _: conn.execute(_ACTIVE_GRANTS_SQL + " ORDER BY g.name").fetchall()
        )
        return [AccessGrant(name, role, digest, _utc(at)) for digest, name, role, at in rows]

    def revoke_access(self, name: str) -> bool:
        def work(conn: psycopg.Connection, attempt: int) -> bool:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, ACCESS_LOCK))
                digests = [
                    row[0]
                    for row in conn.execute(
                        _ACTIVE_GRANTS_SQL + " AND g.name = %s", (name,)
                    ).fetchall()
                ]
                at = self._now(conn)
                for digest in digests:
                    conn.execute(
                        "INSERT INTO access_revocations (token_sha256, revoked) VALUES (%s, %s)",
                        (digest, at),
                    )
                if attempt > 1 and not digests:
                    # An earlier attempt may have revoked them before the line broke.
                    return bool(
                        conn.execute(
                            "SELECT 1 FROM access_grants g JOIN access_revocations r"
                            " USING (token_sha256) WHERE g.name = %s",
                            (name,),
                        ).fetchone()
                    )
            return bool(digests)

        return bool(self._retrying(work))

    # -- reading -----------------------------------------------------------------------------

    def _decode(
        self, incident: str, seq: int, at: datetime, type_: Any, data: Any, actor: Any
    ) -> Event:
        try:
            return decode_event(incident, seq, format_time(at), type_, data, actor)
        except ValueError as exc:
            raise DamagedEvent(self.location, incident, seq, str(exc)) from None

    def events(self, incident: str, after: int = 0) -> list[Event]:
        """The incident's events with seq > after, in order ([] for an unknown incident)."""
        rows = self._retrying(
            lambda conn, _: conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE incident = %s AND seq > %s ORDER BY seq",
                (incident, after),
            ).fetchall()
        )
        return [self._decode(incident, *row) for row in rows]

    def start_event(self, incident: str) -> Event | None:
        """Event 1 alone (see IncidentStore.start_event): resuming reads no more than this."""
        row = self._retrying(
            lambda conn, _: conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE incident = %s AND seq = 1",
                (incident,),
            ).fetchone()
        )
        return None if row is None else self._decode(incident, *row)

    def exists(self, incident: str) -> bool:
        return bool(
            self._retrying(
                lambda conn, _: conn.execute(
                    "SELECT 1 FROM incidents WHERE id = %s", (incident,)
                ).fetchone()
            )
        )

    def ids(self) -> list[str]:
        """Every incident id (for "did you mean" hints), newest first."""
        rows = self._retrying(
            lambda conn, _: conn.execute(
                "SELECT id FROM incidents ORDER BY started DESC, id DESC"
            ).fetchall()
        )
        return [str(r[0]) for r in rows]

    def latest_open(self, kind: str = "incident") -> str | None:
        """The most recently started incident of this kind that is not closed."""
        row = self._retrying(
            lambda conn, _: conn.execute(
                """SELECT id FROM incidents i
                   WHERE kind = %s AND NOT EXISTS
                       (SELECT 1 FROM events e WHERE e.incident = i.id AND e.type = 'closed')
                   ORDER BY started DESC, id DESC LIMIT 1""",
                (kind,),
            ).fetchone()
        )
        return str(row[0]) if row else None

    def summaries(
        self, include_closed: bool = False, kind: str | None = None
    ) -> list[IncidentSummary]:
        """Incidents, newest first: open ones only unless include_closed.

        An incident with an event that cannot be decoded is listed with `damaged` set. The
        server finds such rows (DAMAGED_ROW_SQL); only the down/up marks are decoded here."""

        def work(conn: psycopg.Connection, _: int) -> tuple[list, list, list]:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                rows = conn.execute(
                    # The title is the latest `renamed` event's, else the first one.
                    """SELECT i.id,
                              coalesce((SELECT e.data->>'title' FROM events e
                                        WHERE e.incident = i.id AND e.type = 'renamed'
                                        ORDER BY e.seq DESC LIMIT 1), i.title),
                              i.kind, i.started,
                              (SELECT min(e.at) FROM events e
                               WHERE e.incident = i.id AND e.type = 'closed'),
                              (SELECT count(*) FROM events e WHERE e.incident = i.id)
                       FROM incidents i
                       WHERE %(kind)s::text IS NULL OR i.kind = %(kind)s
                       ORDER BY i.started DESC, i.id DESC""",
                    {"kind": kind},
                ).fetchall()
                marks = conn.execute(
                    f"SELECT incident, {EVENT_COLUMNS} FROM events WHERE type IN ('down', 'up')"
                    " ORDER BY incident, seq"
                ).fetchall()
                broken = conn.execute(
                    f"SELECT incident, {EVENT_COLUMNS} FROM events WHERE {DAMAGED_ROW_SQL}"
                    " ORDER BY incident, seq"
                ).fetchall()
            return rows, marks, broken

        rows, marks, broken = self._retrying(work)
        damaged: dict[str, tuple[int, str]] = {}
        for incident, seq, at, type_, data, actor in broken:
            why = _why(incident, seq, at, type_, data, actor)
            if why is not None and incident not in damaged:
                damaged[incident] = (seq, why)
        down = fold_down_marks(
            (
                (i, seq, partial(decode_event, i, seq, format_time(at), t, d, a))
                for i, seq, at, t, d, a in marks
            ),
            damaged,
        )
        out = []
        for id_, title, kind_, started, closed, count in rows:
            if closed and not include_closed:
                continue
            why = None
            if id_ in damaged:
                seq, problem = damaged[id_]
                why = f"event {seq} cannot be read ({problem})"
            out.append(
                IncidentSummary(
                    id_,
                    str(title),
                    str(kind_),
                    _utc(started),
                    _utc(closed) if closed else None,
                    int(count),
                    tuple(down.get(id_, ())),
                    why,
                )
            )
        return out

    # -- live updates ------------------------------------------------------------------------

    # -- presence ----------------------------------------------------------------------------

    def heartbeat(self, incident: str, who: str, session: str, at: datetime) -> None:
        """`who` has `incident` open in `session` as of `at`; NOTIFYs when the session arrives.
        Rows left behind by apps that crashed are deleted once an hour old."""
        params = {
            "incident": incident,
            "session": session,
            "who": who,
            "at": at,
            "since": present_since(at),
            "channel": CHANNEL,
        }
        stale = at - timedelta(seconds=PRESENCE_KEPT_S)

        def work(conn: psycopg.Connection, _: int) -> None:
            with conn.transaction():
                conn.execute("DELETE FROM presence WHERE seen < %s", (stale,))
                conn.execute(HEARTBEAT_SQL, params)

        self._retrying(work)

    def leave(self, incident: str, session: str) -> None:
        def work(conn: psycopg.Connection, _: int) -> None:
            with conn.transaction():
                gone = conn.execute(
                    "DELETE FROM presence WHERE incident = %s AND session = %s",
                    (incident, session),
                ).rowcount
                if gone:
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{incident}:presence"))

        self._retrying(work)

    def present(self, incident: str, now: datetime) -> list[Presence]:
        rows = self._retrying(
            lambda conn, _: conn.execute(
                "SELECT who, session, seen FROM presence WHERE incident = %s AND seen >= %s"
                " ORDER BY who, session",
                (incident, present_since(now)),
            ).fetchall()
        )
        return [Presence(str(who), str(session), _utc(seen)) for who, session, seen in rows]

    # -- live updates ------------------------------------------------------------------------

    def watch(self, timeout: float = 1.0) -> Generator[Change | None, None, None]:
        """Changes as other writers (and this one) make them: LISTEN on a connection of its own
        (see IncidentStore.watch).

        A Change(None) once listening, then a Change for each NOTIFY, and None after each
        `timeout` seconds without one, so the caller (a TUI worker) can check whether it should
        stop. Closing the generator closes the connection. A lost connection raises
        StoreUnreachable; the caller watches again (and re-reads, since notifications sent
        meanwhile are not queued for it).
        """
        conn = self._connect()
        try:
            try:
                conn.execute(f"LISTEN {CHANNEL}")
            except psycopg.OperationalError as exc:
                raise self._unreachable(exc) from None
            yield Change(None)
            while True:
                got = False
                try:
                    for note in conn.notifies(timeout=timeout):
                        got = True
                        change = _change(note.payload)
                        if change is not None:
                            yield change
                        break  # back to the caller's loop after each one
                except psycopg.Error as exc:  # the connection went (a restart, a failover)
                    raise self._unreachable(
                        exc, "live updates stopped; watch again once it is back"
                    ) from None
                if not got:
                    yield None
        finally:
            conn.close()


# The grants in force: made and not revoked (callers add `AND …` and an ORDER BY).
_ACTIVE_GRANTS_SQL = """SELECT g.token_sha256, g.name, g.role, g.created FROM access_grants g
    WHERE NOT EXISTS (SELECT 1 FROM access_revocations r WHERE r.token_sha256 = g.token_sha256)"""


def _change(payload: str) -> Change | None:
    incident, _, seq = payload.rpartition(":")
    if incident and seq == "presence":
        return Change(incident, presence=True)
    return Change(incident, int(seq)) if incident and seq.isdigit() else None


def _query_keys(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(url.partition("?")[2].partition("#")[0], keep_blank_values=True)


def _why(incident: str, seq: int, at: datetime, type_: Any, data: Any, actor: Any) -> str | None:
    """What is wrong with a row the server flagged; None when it decodes after all."""
    try:
        decode_event(incident, seq, format_time(at), type_, data, actor)
    except ValueError as exc:
        return str(exc)
    return None


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _dump(data: dict[str, Any]) -> str:
    if not isinstance(data, dict):
        raise TypeError("event data must be a dict")
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)
