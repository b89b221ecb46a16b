"""The PostgreSQL store (team mode) against a real throwaway server: the same semantics as the
SQLite store, plus what a network database adds (reconnecting, exactly-once appends across a lost
answer, NOTIFY, passwords that never show)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest

from tests.conftest import ROOT
from tests.pg_proxy import AnswerDropper
from tests.pg_server import (
    PASSWORD,
    PASSWORD_ROLE,
    wait_until,
)
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.incident import Conflict
from tsbrunbook.store import Change, DamagedEvent, IncidentStore
from tsbrunbook.store.postgres import SCHEMA_VERSION, PostgresStore

META = {"estate_file": None, "estate_name": "Demo retail estate", "pack_version": "2026.11.0"}


@pytest.fixture
def store(pg_store_factory):
    return pg_store_factory()


def database_of(store: IncidentStore) -> str:
    return store.location.rsplit("/", 1)[1]


def admin_sql(server, store: PostgresStore, sql: str, params=()) -> int:
    import psycopg

    with psycopg.connect(server.url(database_of(store)), autocommit=True) as conn:
        return conn.execute(sql, params).rowcount


# -- the protocol's semantics --------------------------------------------------------------------


def test_a_fresh_database_gets_the_schema_and_implements_the_protocol(pg_server, store):
    assert isinstance(store, IncidentStore)
    assert store.schema_version == SCHEMA_VERSION
    assert store.location == pg_server.url(database_of(store))
    assert store.ids() == [] and store.summaries() == [] and store.latest_open() is None


def test_events_round_trip(store):
    incident = store.create("Checkout errors", meta=META, actor="alice")
    data = {"text": "naïve ünïcode — ✅ \x00 nul", "nested": {"list": [1, 2.5, None, True]}}
    appended = [
        store.append(incident, "down", {"components": ["workload-cluster/eu-west"]}, actor="alice"),
        store.append(incident, "note", data, actor="bob"),
        store.append(incident, "step", {"ref": "x/recovery/y", "state": "skipped", "note": "why"}),
    ]
    stored = store.events(incident)
    assert [e.seq for e in stored] == [1, 2, 3, 4]
    assert stored[1:] == appended  # what append returned is exactly what a later read returns
    assert stored[0].type == "started" and stored[0].actor == "alice"
    assert stored[0].data == {**META, "title": "Checkout errors", "kind": "incident"}
    assert stored[2].data == data and stored[2].actor == "bob"
    assert all(e.at.tzinfo == UTC for e in stored)
    assert stored == sorted(stored, key=lambda e: e.at)  # the server's clock, under the lock
    assert store.events(incident, after=2) == appended[1:]
    assert store.summaries()[0].damaged is None  # a \u0000 in a note is not damage


def test_an_injected_clock_stamps_the_events(pg_store_factory):
    clock = FakeClock(datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC))
    store = pg_store_factory(clock=clock)
    incident = store.create("x", meta=META)
    assert incident == "INC-20260304-001"
    clock.step_wall(60)
    event = store.append(incident, "note", {"text": "later"})
    assert event.at == datetime(2026, 3, 4, 5, 7, 7, 890123, tzinfo=UTC)
    assert store.events(incident)[1] == event


def test_ids_per_kind_and_day(store):
    first = store.create("one", meta=META)
    second = store.create("two", meta=META)
    exercise = store.create("drill", kind="exercise", meta=META)
    assert re.fullmatch(r"INC-\d{8}-001", first)
    assert second == first[:-3] + "002"
    assert re.fullmatch(r"EX-\d{8}-001", exercise)
    assert store.exists(first) and not store.exists("INC-19990101-001")
    assert store.events("INC-19990101-001") == []
    assert store.ids() == [exercise, second, first]


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
    for type_, data in (("note", {"text": "late"}), ("closed", {})):
        with pytest.raises(UserError, match="is closed"):
            store.append(incident, type_, data)
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
    assert len(store.events(incident)) == 1


def test_a_stale_expect_last_is_a_conflict_and_records_nothing(store):
    incident = store.create("x", meta=META)
    store.append(incident, "note", {"text": "someone else"})
    with pytest.raises(Conflict):
        store.append(incident, "down", {"components": ["postgres"]}, expect_last=1)
    assert store.append(incident, "down", {"components": ["postgres"]}, expect_last=2).seq == 3
    assert [e.type for e in store.events(incident)] == ["started", "note", "down"]


def test_of_many_writers_deciding_on_the_same_view_exactly_one_wins(pg_server, store):
    incident = store.create("x", meta=META)
    stores = [PostgresStore(store.location) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def decide(s: PostgresStore) -> None:
        barrier.wait(timeout=30)
        try:
            s.append(incident, "down", {"components": ["postgres"]}, expect_last=1)
            outcomes.append("recorded")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    assert sorted(outcomes) == ["conflict"] * 7 + ["recorded"]
    assert [e.type for e in store.events(incident)] == ["started", "down"]


def libpq_messages(store: PostgresStore, tmp_path, action) -> list[tuple[str, str]]:
    """(direction, message type) of every protocol message the store's connection exchanged
    while `action()` ran: "F" from us to the server, "B" back (libpq's own trace)."""
    conn = store._connection()
    trace = tmp_path / "libpq.trace"
    with open(trace, "w") as fh:
        conn.pgconn.trace(fh.fileno())
        try:
            action()
        finally:
            conn.pgconn.untrace()
    fields = [line.split("\t") for line in trace.read_text().splitlines()]
    return [(f[1], f[3]) for f in fields if len(f) > 3]


def test_an_append_is_one_round_trip_with_the_commit_in_it(store, tmp_path):
    """Lock, decide-and-insert and commit reach the server together and the client waits once,
    so the incident's lock is never held while a client (maybe one waiting for a CPU) answers."""
    incident = store.create("x", meta=META)
    for n in range(6):  # past psycopg's prepare threshold: the steady state is checked too
        store.append(incident, "note", {"text": f"warm {n}"})

    def three_appends() -> None:
        for n in range(3):
            store.append(incident, "note", {"text": f"traced {n}"})

    messages = libpq_messages(store, tmp_path, three_appends)
    assert messages.count(("F", "Sync")) == 3
    assert messages.count(("B", "ReadyForQuery")) == 3
    # Each append's answer comes after its last request: nothing waits in between.
    kinds = [d for d, _ in messages]
    assert "".join(k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k) == "FB" * 3
    assert [e.data["text"] for e in store.events(incident)[-3:]] == [
        f"traced {n}" for n in range(3)
    ]


def test_an_append_that_fails_on_the_server_records_nothing_and_the_next_one_works(
    pg_server,  # noqa: F811
    store,
    monkeypatch,
):
    """A statement failing after the lock was taken rolls the whole append back (it is one
    transaction) and leaves the connection ready for the next append."""
    import psycopg

    from tsbrunbook.store import postgres

    incident = store.create("x", meta=META)
    monkeypatch.setattr(postgres, "LOCK_TIMEOUT", "50ms")
    impatient = PostgresStore(store.location)
    with psycopg.connect(pg_server.url(database_of(store)), autocommit=True) as holder:
        holder.execute("BEGIN")
        holder.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (postgres.LOCK_SPACE, incident)
        )
        with pytest.raises(UserError, match="stayed locked by another writer for 50ms"):
            impatient.append(incident, "note", {"text": "refused"})
        holder.execute("ROLLBACK")
    assert impatient.append(incident, "note", {"text": "after"}).seq == 2
    impatient.close()
    assert [e.data.get("text") for e in store.events(incident)] == [None, "after"]


# -- damaged rows ----------------------------------------------------------------------------------

# What can be wrong in a PostgreSQL row (the server itself keeps the JSON valid and times real).
DAMAGE = [
    ("a JSON list", "down", '["postgres"]'),
    ("JSON text", "down", '"postgres"'),
    ("components not a list", "down", '{"components": "postgres"}'),
    ("a step without its ref", "step", '{"state": "done", "note": ""}'),
    ("a step with an unknown state", "step", '{"ref": "x/recovery/y", "state": "exploded"}'),
    ("a note whose text is a number", "note", '{"text": 42}'),
    ("a chat switch that is not a boolean", "chat", '{"enabled": "yes"}'),
]


@pytest.mark.parametrize(("what", "type_", "data"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_event_makes_only_its_incident_unreadable(pg_server, store, what, type_, data):
    first = store.create("first", meta=META)
    middle = store.create("middle", meta=META)
    for incident in (first, middle):
        store.append(incident, "down", {"components": ["postgres"]})
        store.append(incident, "note", {"text": "fine"})
    changed = admin_sql(
        pg_server,
        store,
        "UPDATE events SET type = %s, data = %s WHERE incident = %s AND seq = 3",
        (type_, data, middle),
    )
    assert changed == 1
    with pytest.raises(DamagedEvent) as raised:
        store.events(middle)
    message = str(raised.value)
    assert store.location in message and "\n" not in message
    assert f"incident {middle}, event 3 cannot be read" in message
    listed = {s.id: s for s in store.summaries()}
    assert listed[middle].damaged and listed[middle].damaged.startswith("event 3 cannot be read")
    assert listed[first].damaged is None and listed[first].down == ("postgres",)
    assert len(store.events(first)) == 3
    assert store.append(first, "note", {"text": "still works"}).seq == 4


# -- concurrency -----------------------------------------------------------------------------------


def test_twenty_threads_appending_at_once_lose_nothing(store):
    incident = store.create("busy", meta=META)
    shared = PostgresStore(store.location)  # half the threads share one store (its lock)
    own = [PostgresStore(store.location) for _ in range(10)]
    stores = [shared] * 10 + own
    count = 10
    acks: dict[int, list[tuple[int, int]]] = {}
    barrier = threading.Barrier(len(stores))

    def write(n: int, s: PostgresStore) -> None:
        barrier.wait(timeout=30)
        acks[n] = [
            (s.append(incident, "note", {"w": n, "n": i, "text": "x"}).seq, i) for i in range(count)
        ]

    threads = [threading.Thread(target=write, args=(n, s)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in [shared, *own]:
        s.close()
    events = store.events(incident)
    assert [e.seq for e in events] == list(range(1, 20 * count + 2))
    by_seq = {e.seq: e for e in events}
    for n, mine in acks.items():
        assert len(mine) == count
        for seq, i in mine:
            assert (by_seq[seq].data["w"], by_seq[seq].data["n"]) == (n, i)


WRITER = """
import sys
from tsbrunbook.store.postgres import PostgresStore
url, incident, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = PostgresStore(url)
print("ready", flush=True)
sys.stdin.readline()
for n in range(count):
    print(store.append(incident, "note", {"writer": name, "n": n, "text": "x"}).seq, n, flush=True)
for n in range(int(sys.argv[5])):
    print("created", store.create(f"{name} {n}", meta={}), flush=True)
"""


def writers(url: str, incident: str, processes: int, count: int, creates: int = 0) -> list:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, incident, f"p{n}", str(count), str(creates)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(processes)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    for proc in procs:  # all connected: let them go at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return procs


def test_several_processes_append_and_create_without_gaps_or_duplicates(store):
    incident = store.create("many hands", meta=META)
    procs = writers(store.location, incident, processes=4, count=25, creates=5)
    acked, created = {}, []
    for n, proc in enumerate(procs):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        for line in out.splitlines():
            if line.startswith("created "):
                created.append(line.split()[1])
            else:
                seq, i = map(int, line.split())
                acked[seq] = (f"p{n}", i)
    events = store.events(incident)
    assert [e.seq for e in events] == list(range(1, 102))
    for seq, (name, i) in acked.items():
        assert events[seq - 1].data == {"writer": name, "n": i, "text": "x"}
    assert len(acked) == 100
    assert len(created) == len(set(created)) == 20
    numbers = sorted(int(i.rsplit("-", 1)[1]) for i in created + [incident])
    assert numbers == list(range(1, 22))


# -- the server goes away --------------------------------------------------------------------------


def test_appends_in_flight_survive_a_server_restart(pg_server, store):
    incident = store.create("failover", meta=META)
    idle = PostgresStore(store.location)  # connected, unused while the server restarts
    acked: dict[int, int] = {}
    failed: list[tuple[int, str]] = []
    stop = threading.Event()

    def write() -> None:
        # Until told to stop, so the server always goes down mid-sequence, however fast this is.
        n = 0
        while not stop.is_set():
            try:
                acked[n] = store.append(incident, "note", {"n": n, "text": "x"}).seq
            except UserError as exc:
                failed.append((n, str(exc)))
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_until(lambda: len(acked) >= 10, what="the first appends")
        pg_server.stop("immediate")  # mid-sequence: the writer is appending as fast as it can
        before = len(acked)
        pg_server.start()
        wait_until(lambda: len(acked) >= before + 10, timeout=60, what="appends after the restart")
    finally:
        stop.set()
        writer.join(timeout=120)
        if not pg_server.running():
            pg_server.start()  # never leave the session's server down for the next tests
    assert not writer.is_alive()

    events = store.events(incident)
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), "a gap in the sequence"
    recorded = [e.data["n"] for e in events[1:]]
    assert len(recorded) == len(set(recorded)), "an append was recorded twice"
    for n, seq in acked.items():
        assert events[seq - 1].data == {"n": n, "text": "x"}
    for _n, message in failed:  # a failure says so in one line, and is at most recorded once
        assert message.startswith(f"incident store unreachable at 127.0.0.1:{pg_server.port}")
        assert "\n" not in message
    assert set(recorded) >= set(acked)
    assert idle.append(incident, "note", {"text": "idle store reconnects"}).seq == len(events) + 1
    idle.close()


def test_while_the_server_is_down_an_append_fails_in_one_line_then_works_again(pg_server, store):
    incident = store.create("down", meta=META)
    quick = PostgresStore(store.location, retry_for=0.3)
    quick.append(incident, "note", {"text": "before"})
    pg_server.stop("immediate")
    try:
        with pytest.raises(UserError) as raised:
            quick.append(incident, "note", {"text": "during"})
        message = str(raised.value)
        assert message.startswith(f"incident store unreachable at 127.0.0.1:{pg_server.port}: ")
        assert "\n" not in message and "recorded" in message
        with pytest.raises(UserError, match="incident store unreachable"):
            quick.events(incident)
    finally:
        pg_server.start()
    assert quick.append(incident, "note", {"text": "after"}).seq == 3  # same store object
    assert [e.data.get("text") for e in store.events(incident)][1:] == ["before", "after"]
    quick.close()


# -- exactly once across a lost answer -------------------------------------------------------------


def test_an_append_whose_commit_answer_is_lost_is_stored_once(pg_server, store):
    incident = store.create("lost answer", meta=META)
    with AnswerDropper(("127.0.0.1", pg_server.port)) as proxy:
        via_proxy = PostgresStore(store.location.replace(str(pg_server.port), str(proxy.port)))
        proxy.drop_next_answer(b"exactly once")  # the append's own pipeline: it commits at Sync
        event = via_proxy.append(incident, "note", {"text": "exactly once"})
        assert proxy.dropped == 1, "the proxy did not cut the connection after the commit"
        via_proxy.close()
    stored = store.events(incident)
    assert [e.data for e in stored[1:]] == [{"text": "exactly once"}]
    assert stored[1] == event


def test_a_create_whose_commit_answer_is_lost_makes_one_incident(pg_server, store):
    with AnswerDropper(("127.0.0.1", pg_server.port)) as proxy:
        via_proxy = PostgresStore(store.location.replace(str(pg_server.port), str(proxy.port)))
        proxy.drop_next_answer(b"COMMIT")
        incident = via_proxy.create("once", meta=META)
        assert proxy.dropped == 1
        via_proxy.close()
    assert store.ids() == [incident]


# -- live updates ----------------------------------------------------------------------------------


def test_watch_yields_each_append_and_a_tick_when_quiet(store):
    incident = store.create("live", meta=META)
    other = PostgresStore(store.location)
    changes = store.watch(timeout=0.05)
    assert next(changes) == Change(None)  # listening: read again what came before
    assert next(changes) is None  # quiet: a tick, so a worker can check whether to stop
    other.append(incident, "note", {"text": "from another laptop"})
    got = next(c for c in changes if c is not None)
    assert got == Change(incident, 2)
    changes.close()
    other.close()


# -- passwords -------------------------------------------------------------------------------------


def test_the_password_never_shows_in_location_or_errors(pg_server):
    url = f"postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:1/postgres?sslmode=disable"
    with pytest.raises(UserError) as raised:
        PostgresStore(url)
    message = str(raised.value)
    assert message.startswith("incident store unreachable at 127.0.0.1:1: ")
    assert PASSWORD not in message and "\n" not in message
    wrong = f"postgresql://{PASSWORD_ROLE}:not-{PASSWORD}@127.0.0.1:{pg_server.port}/postgres"
    with pytest.raises(UserError) as raised:
        PostgresStore(wrong)
    assert "password authentication failed" in str(raised.value)
    assert f"not-{PASSWORD}" not in str(raised.value)
    good = PostgresStore(pg_server.url("tsbr_template", PASSWORD_ROLE, PASSWORD))
    assert PASSWORD not in good.location and good.location.startswith(
        f"postgresql://{PASSWORD_ROLE}@"
    )
    good.close()


def test_libpq_finds_the_password_before_the_keyring_is_asked(pg_server, monkeypatch):
    asked = []
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    store = PostgresStore(
        pg_server.url("tsbr_template", PASSWORD_ROLE), password_lookup=lambda: asked.append(1)
    )
    store.close()
    assert asked == []


def test_the_keyring_password_is_used_when_libpq_has_none(pg_server, monkeypatch, tmp_path):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    url = pg_server.url("tsbr_template", PASSWORD_ROLE)
    with pytest.raises(UserError, match="secret set database-password"):
        PostgresStore(url, password_lookup=lambda: None)
    store = PostgresStore(url, password_lookup=lambda: PASSWORD)
    assert store.schema_version == SCHEMA_VERSION
    store.close()
    with pytest.raises(UserError) as raised:
        PostgresStore(url, password_lookup=lambda: "wrong-" + PASSWORD)
    assert "keyring" in str(raised.value) and "wrong-" + PASSWORD not in str(raised.value)


# -- schema ----------------------------------------------------------------------------------------


def test_a_database_of_schema_3_is_migrated_to_appends_by_one_function_call(pg_server, store):
    """Schema 3 (the release before) appended with the client's own SQL and indexed every event
    by type. Opening it migrates it: its events stay, numbering goes on, notes are no longer
    indexed by type, and the incidents' states still read right."""
    incident = store.create("before the upgrade", meta=META, actor="alice")
    store.append(incident, "down", {"components": ["postgres"]})
    store.append(incident, "note", {"text": "old"})
    before = store.events(incident)
    store.close()
    for sql in (
        "DROP FUNCTION tsbrunbook_append",
        "DROP INDEX events_by_type",
        "CREATE INDEX events_by_type ON events (type, incident)",
        "UPDATE tsbrunbook_schema SET version = 3",
    ):
        admin_sql(pg_server, store, sql)
    upgraded = PostgresStore(store.location)
    assert upgraded.schema_version == SCHEMA_VERSION == 4
    assert upgraded.events(incident) == before
    assert upgraded.append(incident, "note", {"text": "new"}, expect_last=3).seq == 4
    with pytest.raises(Conflict):
        upgraded.append(incident, "note", {"text": "stale"}, expect_last=3)
    assert upgraded.summaries()[0].down == ("postgres",)
    upgraded.append(incident, "closed", {})
    assert upgraded.latest_open() is None
    with pytest.raises(UserError, match="is closed"):
        upgraded.append(incident, "note", {"text": "late"})
    indexed = admin_sql(
        pg_server,
        store,
        "SELECT 1 FROM pg_indexes WHERE indexname = 'events_by_type' AND indexdef LIKE %s",
        ("%WHERE%closed%",),
    )
    assert indexed == 1
    assert [e.seq for e in upgraded.events(incident)] == [1, 2, 3, 4, 5]
    upgraded.close()


def test_a_writer_does_not_listen_so_notifications_are_not_fanned_out_to_it(pg_server, store):
    """Every append NOTIFYs; a store that only writes must not be among the listeners the server
    delivers each notification to (only `watch` listens, on a connection of its own)."""
    incident = store.create("x", meta=META)
    store.append(incident, "note", {"text": "a"})
    watching = store.watch(timeout=0.01)
    assert next(watching) == Change(None)
    store.append(incident, "note", {"text": "b"})
    import psycopg

    with psycopg.connect(pg_server.url(database_of(store)), autocommit=True) as conn:
        conn.execute("LISTEN tsbrunbook")
        store.append(incident, "note", {"text": "c"})
        assert [n.payload for n in conn.notifies(timeout=5, stop_after=1)] == [f"{incident}:4"]
    assert store._connection().execute("SELECT pg_listening_channels()").fetchall() == []
    watching.close()


def test_a_newer_schema_is_refused(pg_server, store):
    admin_sql(pg_server, store, "UPDATE tsbrunbook_schema SET version = %s", (SCHEMA_VERSION + 5,))
    with pytest.raises(UserError, match=f"schema version {SCHEMA_VERSION + 5}, newer"):
        PostgresStore(store.location)


def test_a_database_with_foreign_tables_of_the_same_names_is_refused(pg_server):
    name = pg_server.new_database(template="template1")
    try:
        import psycopg

        with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE incidents (customer text)")
        with pytest.raises(UserError, match="tables tsbrunbook did not make"):
            PostgresStore(pg_server.url(name))
        with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('tsbrunbook_schema')").fetchone() == (None,)
    finally:
        pg_server.drop_database(name)


def test_the_least_privilege_role_of_the_readme_appends_but_cannot_rewrite(pg_server, store):
    """The GRANT lines README gives (Team mode), taken from README itself."""
    readme = (ROOT / "README.md").read_text()
    grants = re.findall(r"^(GRANT [^\n]+;)$", readme, flags=re.M)
    assert grants, "README's Team mode section lost its GRANT lines"
    role = f"r{database_of(store)}"
    import psycopg

    with pg_server.admin() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    # A hardened database lets no role run a function it was not granted.
    admin_sql(pg_server, store, "REVOKE EXECUTE ON FUNCTION tsbrunbook_append FROM PUBLIC")
    try:
        with psycopg.connect(pg_server.url(database_of(store)), autocommit=True) as conn:
            for grant in grants:
                sql = grant.replace("tsbrunbook_team", role).replace(
                    "DATABASE tsbrunbook", f'DATABASE "{database_of(store)}"'
                )
                conn.execute(sql)
        incident = store.create("x", meta=META)
        limited = PostgresStore(pg_server.url(database_of(store), user=role))
        assert limited.append(incident, "note", {"text": "allowed"}).seq == 2
        assert limited.create("y", meta=META).startswith("INC-")
        limited.close()
        with (
            psycopg.connect(pg_server.url(database_of(store), user=role)) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute("UPDATE events SET actor = 'mallory'")
    finally:
        admin_sql(pg_server, store, f"DROP OWNED BY {role}")
        with pg_server.admin() as conn:
            conn.execute(f"DROP ROLE {role}")


# -- choosing the store ----------------------------------------------------------------------------


def test_open_store_picks_postgres_from_the_environment(store, monkeypatch):
    from tsbrunbook.store.select import open_store
    from tsbrunbook.store.sqlite import Store

    monkeypatch.delenv("TSBRUNBOOK_DATABASE_URL", raising=False)
    local = open_store()
    assert isinstance(local, Store)
    local.close()
    monkeypatch.setenv("TSBRUNBOOK_DATABASE_URL", store.location)
    team = open_store()
    assert isinstance(team, PostgresStore) and team.location == store.location
    team.close()
    monkeypatch.setenv("TSBRUNBOOK_DATABASE_URL", "mysql://u:hunter2@h/d")
    with pytest.raises(UserError) as raised:
        open_store()
    assert "postgresql://" in str(raised.value) and "hunter2" not in str(raised.value)


def test_the_sqlite_path_does_not_import_psycopg():
    code = (
        "import sys; from tsbrunbook.store.select import open_store; "
        "open_store().close(); print('psycopg' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TSBRUNBOOK_DATABASE_URL"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    )
    assert out.stdout.strip() == "False"


def test_store_data_is_json_text_as_written(pg_server, store):
    incident = store.create("x", meta=META)
    store.append(incident, "x-newer-type", {"b": 1, "a": "ü"})
    import psycopg

    with psycopg.connect(pg_server.url(database_of(store))) as conn:
        row = conn.execute(
            "SELECT data::text FROM events WHERE incident = %s AND seq = 2", (incident,)
        ).fetchone()
    assert row is not None
    assert row[0] == json.dumps({"a": "ü", "b": 1}, ensure_ascii=False, sort_keys=True)


@pytest.mark.slow
def test_twenty_processes_times_fifty_events_across_a_server_restart(pg_server, store):
    """The acceptance case of team mode: every acknowledged event present once, no gaps."""
    incident = store.create("twenty hands", meta=META)
    procs = writers(store.location, incident, processes=20, count=50)
    acked: dict[int, tuple[str, int]] = {}
    lock = threading.Lock()

    def collect(name: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seq, i = map(int, line.split())
            with lock:
                acked[seq] = (name, i)

    readers = [threading.Thread(target=collect, args=(f"p{n}", p)) for n, p in enumerate(procs)]
    for r in readers:
        r.start()
    wait_until(lambda: len(acked) >= 200, timeout=60, what="200 acknowledged appends")
    pg_server.stop("immediate")
    assert len(acked) < 1000
    pg_server.start()
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    for r in readers:
        r.join(timeout=30)
    events = store.events(incident)
    assert [e.seq for e in events] == list(range(1, 1002))
    assert len(acked) == 1000
    for seq, (name, i) in acked.items():
        assert events[seq - 1].data == {"writer": name, "n": i, "text": "x"}
    for n in range(20):
        mine = [e.data["n"] for e in events[1:] if e.data["writer"] == f"p{n}"]
        assert mine == list(range(50)), "a writer's events are missing, doubled or out of order"
