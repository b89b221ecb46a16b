"""Marks that record only a change stay idempotent when several processes make them at once.

Each worker opens the incident (folds its events) and then waits at a barrier, so all of them
decide on the same state before any of them appends: the situation of four alert hooks firing
`incident down ID X` at the same instant. Exactly one event may be recorded.

On SQLite the workers are processes (each with its own file handle and locks, as the hooks would
be). On PostgreSQL they are threads, each with a connection of its own: the server decides
between connections, whichever process holds them, and threads spare four interpreters a test.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from typing import Any

import pytest

from tests.incident_stores import POSTGRES, IncidentStoreUnderTest, opened_store
from tsbrunbook.store import IncidentStore
from tsbrunbook.workspace import Workspace

# Every test once on the local SQLite store and once on PostgreSQL (TSBRUNBOOK_DATABASE_URL,
# which the workers inherit).
pytestmark = pytest.mark.usefixtures("incident_store")

WORKERS = 4
STEP = "central-control-plane-failure/recovery/check-central-pods"


def _worker(incident: str, action: str, arg: str, barrier, results) -> None:
    """Open the incident, wait until every worker has it open, then act once."""
    from tsbrunbook.domain.chat import set_chat
    from tsbrunbook.store.select import open_store

    store = open_store()  # the test's: its environment names it
    try:
        session = Workspace(store=store).open(incident)
        barrier.wait(timeout=60)
        if action == "down":
            event = session.mark_down([arg])
        elif action == "up":
            event = session.mark_up([arg])
        elif action == "chat":
            event = set_chat(session, arg == "on")
        else:
            event = session.set_step(arg, action)
        results.put(("ok", event.seq if event is not None else None))
    except BaseException as exc:  # noqa: BLE001 — reported to the parent, which fails the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        store.close()


def run_together(store: IncidentStoreUnderTest, incident: str, action: str, arg: str) -> list:
    workers: list[Any]  # threads or processes: both start(), join()
    results: Any  # a queue.Queue or a multiprocessing one: both put(), get(timeout)
    if store.kind == POSTGRES:
        barrier = threading.Barrier(WORKERS)
        results = queue.Queue()
        args = (incident, action, arg, barrier, results)
        workers = [threading.Thread(target=_worker, args=args) for _ in range(WORKERS)]
    else:
        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
        args = (incident, action, arg, barrier, results)
        workers = [ctx.Process(target=_worker, args=args) for _ in range(WORKERS)]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    errors = [text for kind, text in outcomes if kind == "error"]
    assert not errors, errors
    return [seq for _, seq in outcomes]


@pytest.fixture
def incident() -> str:
    with opened_store() as store:
        return Workspace(store=store).start("four hooks at once").id


def events_of(incident: str, type_: str) -> list:
    with opened_store() as store:
        return [e for e in store.events(incident) if e.type == type_]


def test_simultaneous_identical_down_marks_record_one_event(incident_store, incident):
    seqs = run_together(incident_store, incident, "down", "central-control-plane")
    assert len(events_of(incident, "down")) == 1
    assert sorted(seqs, key=lambda s: s is None) == [
        2,
        None,
        None,
        None,
    ]  # one recorded it; the others say "already"


def test_simultaneous_identical_up_marks_record_one_event(incident_store, incident):
    with opened_store() as store:
        Workspace(store=store).open(incident).mark_down(["central-control-plane"])
    run_together(incident_store, incident, "up", "central-control-plane")
    assert len(events_of(incident, "up")) == 1


def test_simultaneous_identical_step_actions_record_one_event(incident_store, incident):
    with opened_store() as store:
        Workspace(store=store).open(incident).mark_down(["central-control-plane"])
    run_together(incident_store, incident, "done", STEP)
    steps = events_of(incident, "step")
    assert [(e.data["ref"], e.data["state"]) for e in steps] == [(STEP, "done")]


def test_simultaneous_chat_on_records_one_event(incident_store, incident):
    run_together(incident_store, incident, "chat", "on")
    assert len(events_of(incident, "chat")) == 1


def test_a_repeated_identical_step_state_records_nothing(cli):
    incident = Workspace().start("repeat").id
    assert cli("incident", "down", incident, "central-control-plane").rc == 0
    first = cli("incident", "step", incident, STEP, "done")
    again = cli("incident", "step", incident, STEP, "done")
    assert first.rc == 0 and again.rc == 0
    assert again.out.strip() == f"{incident}: {STEP} is already done (nothing recorded)"
    reset_pending = cli(
        "incident", "step", incident, STEP.replace("check-central-pods", "wait-for-cache"), "reset"
    )
    assert "is already pending (nothing recorded)" in reset_pending.out
    with_a_new_note = cli("incident", "step", incident, STEP, "done", "--note", "pods all Running")
    assert "→ done" in with_a_new_note.out  # a new note on the same state is worth keeping
    with opened_store() as store:
        assert [e.data.get("note") for e in store.events(incident) if e.type == "step"] == [
            "",
            "pods all Running",
        ]


class AlwaysMovedOn:
    """A store on which another writer always got in first: every conditional append conflicts."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store
        self.attempts = 0

    def append(self, incident, type, data, actor="", expect_last=None):
        from tsbrunbook.domain.incident import Conflict

        if expect_last is not None:
            self.attempts += 1
            raise Conflict(incident)
        return self.store.append(incident, type, data, actor)

    def events(self, incident, after=0):
        return self.store.events(incident, after)


def test_a_decision_that_keeps_conflicting_gives_up_with_one_line_and_records_nothing():
    from tsbrunbook.domain.errors import UserError
    from tsbrunbook.domain.incident import DECISION_ATTEMPTS, IncidentSession

    with opened_store() as store:
        started = Workspace(store=store).start("busy")
        sink = AlwaysMovedOn(store)
        session = IncidentSession(sink, started.id, started.engine)
        with pytest.raises(UserError, match="kept changing while this was being recorded") as info:
            session.mark_down(["central-control-plane"])
        assert "nothing was recorded" in str(info.value)
        assert sink.attempts == DECISION_ATTEMPTS
        assert [e.type for e in store.events(started.id)] == ["started"]
