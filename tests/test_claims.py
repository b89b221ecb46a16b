"""Claiming a step ("in progress — alice") so two responders do not run the same step: the fold,
the CLI, every rendering, the stores' damaged-row checks, and two processes claiming at once."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os

import pytest

from tests.test_incident_cli import WC, ok, start
from tsbrunbook.domain.author import USER_ENV
from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.incident import ClaimedByOther, in_progress
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.store import Store
from tsbrunbook.store.protocol import DamagedEvent
from tsbrunbook.workspace import Workspace

STEP = f"{WC}/confirm-cluster-back"
OTHER = f"{WC}/check-tsb-pods"


@pytest.fixture
def session(monkeypatch):
    monkeypatch.setenv(USER_ENV, "alice")
    workspace = Workspace()
    sess = workspace.start("claims")
    sess.mark_down(["workload-cluster/eu-west"])
    yield sess
    workspace.close()


def as_user(monkeypatch, name: str) -> None:
    monkeypatch.setenv(USER_ENV, name)


def claim_of(sess, ref: str = STEP):
    return sess.state.steps[ref].claim if ref in sess.state.steps else None


# ---------------------------------------------------------------------------------------------
# The fold and the session


def test_a_claim_shows_who_is_on_the_step(session):
    event = session.claim(STEP)
    assert event is not None and event.type == "claimed" and event.actor == "alice"
    claim = claim_of(session)
    assert claim is not None and claim.by == "alice" and claim.at == event.at
    assert in_progress(session.state.steps[STEP]) == "in progress — alice"
    assert session.claim(STEP) is None  # already yours: nothing recorded


def test_release_gives_it_back(session):
    session.claim(STEP)
    event = session.release(STEP)
    assert event is not None and event.type == "released"
    assert claim_of(session) is None
    assert session.release(STEP) is None  # not claimed: nothing recorded


@pytest.mark.parametrize(("action", "note"), [("done", ""), ("skip", "not needed"), ("fail", "")])
def test_an_outcome_releases_the_claim_without_a_second_event(session, action, note):
    session.claim(STEP)
    session.set_step(STEP, action, note)
    assert claim_of(session) is None
    assert [e.type for e in session.state.timeline][-2:] == ["claimed", "step"]


def test_blocked_keeps_the_claim(session):
    session.claim(STEP)
    session.set_step(STEP, "block", "waiting for the network team")
    assert claim_of(session).by == "alice"


def test_someone_elses_claim_is_refused_naming_the_holder(session, monkeypatch):
    session.claim(STEP)
    as_user(monkeypatch, "bob")
    with pytest.raises(ClaimedByOther) as raised:
        session.claim(STEP)
    assert raised.value.holder == "alice"
    assert "in progress — alice" in str(raised.value) and "--take" in str(raised.value)
    with pytest.raises(ClaimedByOther):
        session.release(STEP)  # only the holder releases; --take takes it over
    assert claim_of(session).by == "alice"


def test_take_takes_it_over_and_says_from_whom(session, monkeypatch):
    session.claim(STEP)
    as_user(monkeypatch, "bob")
    event = session.claim(STEP, take=True)
    assert event is not None and event.data == {"ref": STEP, "taken_from": "alice"}
    assert claim_of(session).by == "bob"


def test_a_done_step_cannot_be_claimed(session):
    session.set_step(STEP, "done")
    with pytest.raises(UserError, match="already done"):
        session.claim(STEP)


def test_an_unknown_ref_or_a_closed_incident_is_refused(session):
    with pytest.raises(UserError, match="unknown step ref"):
        session.claim(f"{WC}/no-such-step")
    session.close()
    with pytest.raises(UserError, match="is closed"):
        session.claim(STEP)


def test_the_claim_is_in_the_json_the_export_and_the_brief(session):
    session.claim(STEP)
    from tsbrunbook.domain.brief import support_brief
    from tsbrunbook.domain.incident_json import incident_dict

    data = incident_dict(session.state, session.engine)
    step = next(s for c in data["checklists"] for s in c["steps"] if s["ref"] == STEP)
    assert step["claimed_by"] == "alice" and step["claimed_at"]
    untouched = next(s for c in data["checklists"] for s in c["steps"] if s["ref"] == OTHER)
    assert untouched["claimed_by"] is None
    export = incident_markdown(session.state, session.engine)
    assert "in progress — alice" in export.split("## Worked steps")[1].split("## Notes")[0]
    timeline = export.split("## Timeline")[1]
    assert "step claimed" in timeline and "alice" in timeline
    brief = support_brief(session.state, session.engine)
    assert "in progress — alice" in brief.split("## Steps worked")[1]


# ---------------------------------------------------------------------------------------------
# The command line


def test_claim_and_release_from_the_command_line(cli, monkeypatch):
    as_user(monkeypatch, "alice")
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west"))
    claimed = ok(cli("incident", "claim", incident, STEP))
    assert f"claimed {STEP}" in claimed.out
    again = ok(cli("incident", "claim", incident, STEP))
    assert "already yours (nothing recorded)" in again.out
    shown = ok(cli("incident", "show", incident)).out
    row = next(line for line in shown.splitlines() if "confirm-cluster-back" in line)
    assert "in progress — alice" in row

    as_user(monkeypatch, "bob")
    refused = cli("incident", "claim", incident, STEP)
    assert refused.rc == 2 and refused.out == ""
    assert refused.err.count("\n") == 1 and "in progress — alice" in refused.err
    assert "--take" in refused.err
    taken = ok(cli("incident", "claim", incident, STEP, "--take"))
    assert "taken over from alice" in taken.out
    released = ok(cli("incident", "release", incident, STEP))
    assert f"released {STEP}" in released.out
    assert "not claimed (nothing recorded)" in ok(cli("incident", "release", incident, STEP)).out
    data = json.loads(ok(cli("incident", "show", incident, "--format", "json")).out)
    assert [(e["type"], e["actor"]) for e in data["timeline"][-3:]] == [
        ("claimed", "alice"),
        ("claimed", "bob"),
        ("released", "bob"),
    ]


# ---------------------------------------------------------------------------------------------
# Two processes claiming the same step at the same moment: exactly one wins


def _claimer(opener, incident: str, user: str, barrier, results) -> None:
    os.environ[USER_ENV] = user
    store = opener()
    try:
        session = Workspace(store=store).open(incident)  # both read the unclaimed step
        barrier.wait(timeout=60)
        try:
            event = session.claim(STEP)
            results.put((user, "claimed" if event is not None else "nothing"))
        except ClaimedByOther as exc:
            results.put((user, f"refused: {exc.holder}"))
    except BaseException as exc:  # noqa: BLE001 — reported to the parent, which fails the test
        results.put((user, f"error: {type(exc).__name__}: {exc}"))
    finally:
        store.close()


def _open_sqlite(path: str):
    return Store(path)


def _open_postgres(url: str):
    from tsbrunbook.store.postgres import PostgresStore

    return PostgresStore(url)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request, tmp_path):
    """(opener, store): a picklable opener for the worker processes, and this test's store."""
    from functools import partial

    if request.param == "sqlite":
        path = str(tmp_path / "incidents.sqlite3")
        opener = partial(_open_sqlite, path)
        store = opener()
    else:
        store = request.getfixturevalue("pg_store_factory")()
        opener = partial(_open_postgres, store.location)
    yield opener, store
    store.close()


def test_two_processes_claiming_at_once_cannot_both_win(shared_store):
    opener, store = shared_store
    session = Workspace(store=store).start("two responders")
    session.mark_down(["workload-cluster/eu-west"])
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_claimer, args=(opener, session.id, user, barrier, results))
        for user in ("alice", "bob")
    ]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    winners = [user for user, outcome in outcomes.items() if outcome == "claimed"]
    assert len(winners) == 1, outcomes
    loser = "bob" if winners == ["alice"] else "alice"
    assert outcomes[loser] == f"refused: {winners[0]}", outcomes
    claims = [e for e in store.events(session.id) if e.type == "claimed"]
    assert [e.actor for e in claims] == winners


# ---------------------------------------------------------------------------------------------
# The stores' damaged-row checks know the new shapes


@pytest.mark.parametrize(
    ("type_", "data"),
    [("claimed", {"ref": 7}), ("claimed", {}), ("released", {"ref": None})],
)
def test_a_damaged_claim_marks_its_incident_damaged(shared_store, type_, data):
    _, store = shared_store
    incident = store.create("damaged claim", meta={})
    with contextlib.suppress(DamagedEvent):  # stored as given; PostgreSQL reads it back
        store.append(incident, type_, data)
    summary = next(s for s in store.summaries() if s.id == incident)
    assert summary.damaged and f"{type_} event" in summary.damaged
    good = store.create("good claim", meta={})
    store.append(good, "claimed", {"ref": "a/recovery/b", "taken_from": "bob"})
    store.append(good, "released", {"ref": "a/recovery/b"})
    assert next(s for s in store.summaries() if s.id == good).damaged is None
