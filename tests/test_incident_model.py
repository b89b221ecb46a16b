"""The incident as events: a deterministic fold, checklists that stay, and the session's checks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.conftest import ROOT
from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.incident import IncidentSession, checklists, fold
from tsbrunbook.domain.incident_json import incident_dict
from tsbrunbook.store import Store

WC = "workload-cluster-failure@eu-west/recovery"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def store():
    s = Store()
    yield s
    s.close()


@pytest.fixture
def session(store, engine):
    incident = store.create(
        "Checkout errors in eu-west",
        meta={"estate_file": None, "estate_name": "Demo retail estate"},
    )
    return IncidentSession(store, incident, engine)


def work(session: IncidentSession) -> None:
    """A short but varied incident."""
    session.mark_down(["workload-cluster/eu-west"])
    session.set_step(f"{WC}/confirm-cluster-back", "done")
    session.set_step(f"{WC}/check-tsb-pods", "skip", "checked by the SRE bot")
    session.add_note("restarted edge on eu-west, no effect", f"{WC}/restart-edge-if-stuck")
    session.mark_down(["management-plane"])
    session.raise_escalation("management-plane-failure/restoration/engage-tetrate-support", "12345")
    session.mark_up(["management-plane"])
    session.add_note("management plane back")


def test_fold_is_deterministic(session, store, engine):
    work(session)
    events = store.events(session.id)
    first = fold(session.id, events, engine)
    second = fold(session.id, list(reversed(events)), engine)  # fold orders by seq itself
    assert first == second == session.state
    assert json.dumps(incident_dict(first, engine, NOW), sort_keys=True) == json.dumps(
        incident_dict(second, engine, NOW), sort_keys=True
    )


FRESH = """
import json, sys
from datetime import UTC, datetime
from tsbrunbook.domain.impact import ImpactEngine
from tsbrunbook.domain.incident import fold
from tsbrunbook.domain.incident_json import incident_dict
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.domain.runbooks.pack import load_pack
from tsbrunbook.store import Store
engine = ImpactEngine(load_pack(), load_estate())
with Store() as store:
    state = fold(sys.argv[1], store.events(sys.argv[1]), engine)
print(json.dumps(incident_dict(state, engine, datetime(2030, 1, 1, tzinfo=UTC)), sort_keys=True))
print(repr(state))
"""


def test_fold_in_a_fresh_process_gives_the_same_state(session, store, engine):
    work(session)
    out = subprocess.run(
        [sys.executable, "-c", FRESH, session.id],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    as_json, as_repr = out.rstrip("\n").split("\n", 1)
    state = fold(session.id, store.events(session.id), engine)
    assert as_json == json.dumps(incident_dict(state, engine, NOW), sort_keys=True)
    assert as_repr == repr(state)


def test_state_folded_from_events(session):
    work(session)
    state = session.state
    assert list(state.down) == ["workload-cluster/eu-west"]
    assert list(state.instances) == ["workload-cluster-failure@eu-west", "management-plane-failure"]
    skipped = state.steps[f"{WC}/check-tsb-pods"]
    assert (skipped.state, skipped.note) == ("skipped", "checked by the SRE bot")
    assert [n.text for n in state.steps[f"{WC}/restart-edge-if-stuck"].notes] == [
        "restarted edge on eu-west, no effect"
    ]
    escalated = state.steps["management-plane-failure/restoration/engage-tetrate-support"]
    assert escalated.escalated is not None and escalated.case == "12345"
    assert [e.type for e in state.timeline] == [
        "started",
        "down",
        "step",
        "step",
        "note",
        "down",
        "escalation",
        "up",
        "note",
    ]


def test_checklists_stay_and_steps_keep_their_state(session, engine):
    session.mark_down(["management-plane"])
    ref = "management-plane-failure/recovery/check-mp-pods"
    session.set_step(ref, "done")
    session.mark_up(["management-plane"])
    views = checklists(session.state, engine)
    assert [(v.instance, v.phase, v.active) for v in views] == [
        ("management-plane-failure", "recovery", False),
        ("management-plane-failure", "restoration", False),
    ]

    def step(view):
        return next(s for s in view.steps if s.ref == ref)

    assert step(views[0]).state.state == "done"  # still there after the scenario stopped matching
    session.mark_down(["management-plane"])
    again = checklists(session.state, engine)
    assert again[0].active and step(again[0]).state.state == "done"


def test_another_process_sees_every_action(session, store, engine):
    other = IncidentSession(store, session.id, engine)
    session.mark_down(["postgres"])
    session.set_step(
        "postgres-failure/recovery/" + checklists(session.state, engine)[0].steps[0].step.id,
        "fail",
        "no answer",
    )
    other.refresh()
    assert other.state == session.state


def test_session_refuses_bad_actions(session):
    with pytest.raises(UserError, match="no checklist has appeared yet"):
        session.set_step(f"{WC}/confirm-cluster-back", "done")
    session.mark_down(["workload-cluster/eu-west"])
    with pytest.raises(UserError) as info:
        session.set_step(f"{WC}/confirm-clster-back", "done")
    assert f"did you mean {WC}/confirm-cluster-back" in str(info.value)
    with pytest.raises(UserError, match="needs a reason"):
        session.set_step(f"{WC}/confirm-cluster-back", "skip", "  ")
    with pytest.raises(UserError, match="unknown component"):
        session.mark_down(["workload-cluster/nowhere"])
    with pytest.raises(UserError, match="the note is empty"):
        session.add_note(" ")
    session.close()
    for action in (
        lambda: session.mark_down(["workload-cluster/eu-west"]),  # already down: still refused
        lambda: session.mark_up(["postgres"]),
        lambda: session.set_step(f"{WC}/confirm-cluster-back", "done"),
        lambda: session.add_note("late"),
        lambda: session.close(),
    ):
        with pytest.raises(UserError, match="is closed"):
            action()
    assert [e.type for e in session.state.timeline] == ["started", "down", "closed"]


def test_components_the_estate_no_longer_has_do_not_break_the_fold(session, store, engine):
    store.append(session.id, "down", {"components": ["workload-cluster/retired", "postgres"]})
    state = fold(session.id, store.events(session.id), engine)
    assert list(state.down) == ["workload-cluster/retired", "postgres"]
    assert [v.instance for v in checklists(state, engine)] == [
        "postgres-failure",
        "postgres-failure",
    ]
