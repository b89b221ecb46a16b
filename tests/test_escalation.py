"""Escalation points, escalation timers and the estate's per-severity override."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tsbrunbook.domain.errors import LoadError
from tsbrunbook.domain.escalation import (
    due_timers,
    escalation_timers,
    incident_escalation_points,
    match_periods,
    record_expired_timers,
)
from tsbrunbook.domain.event_text import describe
from tsbrunbook.domain.incident_json import incident_dict
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.domain.runbooks.paths import demo_estate_path
from tsbrunbook.domain.site_policy import effective_escalate_after
from tsbrunbook.workspace import Workspace

MP = "management-plane-failure"
ENGAGE = f"{MP}/restoration/engage-tetrate-support"


def estate_file(tmp_path: Path, extra: str) -> str:
    path = tmp_path / "estate.yaml"
    path.write_text(Path(demo_estate_path()).read_text() + extra)
    return str(path)


@pytest.fixture
def session():
    return Workspace().start("Management plane down")


def test_effective_escalate_after_with_and_without_the_estate_override(pack, estate, tmp_path):
    mp, wc, cc = (
        pack.scenario(MP),
        pack.scenario("workload-cluster-failure"),
        pack.scenario("central-control-plane-failure"),
    )
    assert (mp.severity.id, cc.severity.id) == ("outage", "limited")
    assert effective_escalate_after(mp, estate) == (1800, "scenario")
    assert effective_escalate_after(wc, estate) == (None, "")
    custom = load_estate(
        estate_file(tmp_path, "  escalation:\n    after:\n      outage: 15m\n      limited: 2h\n")
    )
    assert custom.escalate_after == {"outage": 900, "limited": 7200}
    assert effective_escalate_after(mp, custom) == (900, "estate")
    assert effective_escalate_after(cc, custom) == (7200, "estate")
    assert effective_escalate_after(wc, custom) == (None, "")  # no timer in the runbook: none added


def test_estate_escalation_and_status_url_errors_have_file_and_line(tmp_path):
    path = estate_file(tmp_path, "  escalation:\n    after: 15m\n")
    with pytest.raises(LoadError, match=r"estate.yaml:\d+: escalation after must be a mapping"):
        load_estate(path)
    text = (
        Path(demo_estate_path())
        .read_text()
        .replace(
            "    namespace: tsb\n",
            "    namespace: tsb\n    status_url: https://admin:hunter2@tsb.example.com/status\n",
        )
    )
    (tmp_path / "creds.yaml").write_text(text)
    with pytest.raises(LoadError) as info:
        load_estate(str(tmp_path / "creds.yaml"))
    assert "creds.yaml:13: management: 'status_url' must not carry user:password@" in str(
        info.value
    )
    assert "hunter2" not in str(info.value)


def test_timer_runs_from_the_match_and_expires_once(session):
    session.mark_down(["management-plane"])
    matched = session.state.instances[MP]
    (timer,) = escalation_timers(session.state, session.engine, now=matched + timedelta(minutes=10))
    assert (timer.instance, timer.matched, timer.after_seconds, timer.source) == (
        MP,
        matched,
        1800,
        "scenario",
    )
    assert timer.deadline == matched + timedelta(minutes=30)
    assert timer.remaining_seconds == pytest.approx(20 * 60)
    assert not timer.expired and not timer.due
    assert record_expired_timers(session, matched + timedelta(minutes=10)) == []

    later = matched + timedelta(minutes=31)
    (due,) = due_timers(session.state, session.engine, now=later)
    assert due.remaining_seconds == pytest.approx(-60)
    (event,) = record_expired_timers(session, later)
    assert event.type == "timer-expired"
    assert event.data == {
        "instance": MP,
        "deadline": timer.deadline.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "matched": matched.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "after_seconds": 1800,
    }
    assert describe(event) == f"escalation timer expired: {MP}"
    # Recorded: still expired, no longer due; a second call (or a second process) records nothing.
    (timer,) = escalation_timers(session.state, session.engine, now=later)
    assert timer.expired and timer.recorded and not timer.due
    assert record_expired_timers(session, later + timedelta(hours=1)) == []
    assert Workspace().open(session.id).state.timeline[-1].type == "timer-expired"


def test_recovery_stops_the_timer_and_a_new_match_starts_a_fresh_one(session):
    session.mark_down(["management-plane"])
    first = session.state.instances[MP]
    record_expired_timers(session, first + timedelta(minutes=40))
    session.mark_up(["management-plane"])
    assert (
        escalation_timers(session.state, session.engine, now=first + timedelta(hours=2)) == []
    )  # recovered
    session.mark_down(["management-plane"])
    again = session.state.timeline[-1].at
    (timer,) = escalation_timers(session.state, session.engine, now=again + timedelta(minutes=1))
    assert (
        timer.matched == again and not timer.expired and not timer.recorded
    )  # the old record was for the old match
    assert (
        session.state.instances[MP] == first
    )  # the first match is still when the checklist appeared
    periods = [p for p in match_periods(session.state, session.engine) if p.instance == MP]
    assert [(p.since, p.until is None) for p in periods] == [(first, False), (again, True)]
    (event,) = record_expired_timers(session, again + timedelta(minutes=31))
    assert event.data["matched"].startswith(again.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_scenario_subsumed_by_a_broader_one_stops_its_timer(session):
    session.mark_down(["management-plane"])
    session.mark_down(["management-cluster"])  # hosts the management plane: its scenario takes over
    now = session.state.timeline[-1].at + timedelta(minutes=5)
    assert [t.instance for t in escalation_timers(session.state, session.engine, now=now)] == [
        "management-cluster-failure"
    ]


def test_the_estate_override_sets_the_deadline(tmp_path):
    session = Workspace().start(
        "Postgres gone", estate_file(tmp_path, "  escalation:\n    after:\n      outage: 10m\n")
    )
    session.mark_down(["postgres"])
    (timer,) = escalation_timers(
        session.state, session.engine, now=session.state.instances["postgres-failure"]
    )
    assert (timer.after_seconds, timer.source) == (600, "estate")


def test_a_closed_incident_has_no_running_timers(session):
    session.mark_down(["management-plane"])
    session.close()
    assert (
        escalation_timers(
            session.state, session.engine, now=session.state.closed_at + timedelta(hours=3)
        )
        == []
    )
    assert record_expired_timers(session) == []


def test_timer_expiry_and_escalations_in_the_export(session):
    session.mark_down(["management-plane"])
    matched = session.state.instances[MP]
    record_expired_timers(session, matched + timedelta(minutes=30, seconds=1))
    session.raise_escalation(ENGAGE, "TS-4711")
    text = incident_markdown(session.state, session.engine)
    deadline = (matched + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    assert (
        f"| timer expired | {MP}: escalate\\_after (site policy) passed at {deadline} UTC without recovery |"
        in text
    )
    points = incident_escalation_points(session.state, session.engine)
    raised = [p for p in points if p.raised]
    assert [(p.ref, p.case) for p in raised] == [(ENGAGE, "TS-4711")]
    assert len(points) > 1 and all(
        p.reason for p in points
    )  # every other escalation step: not raised
    assert [e["ref"] for e in incident_dict(session.state, session.engine)["escalations"]] == [
        p.ref for p in points
    ]


def test_two_processes_record_a_timer_expiry_once(tmp_path):
    """Two open TUIs (two store connections) decide on the same state: one expiry is recorded."""
    from datetime import timedelta

    from tsbrunbook.domain.escalation import record_expired_timers
    from tsbrunbook.domain.incident import Conflict, IncidentSession, utcnow
    from tsbrunbook.store import Store
    from tsbrunbook.workspace import Workspace

    path = tmp_path / "shared.sqlite3"
    first = Workspace(store=Store(path)).start("two screens")
    first.mark_down(["central-control-plane"])
    second = IncidentSession(Store(path), first.id, first.engine)
    later = utcnow() + timedelta(hours=2)
    stale = second.state.last_seq
    assert [e.data["instance"] for e in record_expired_timers(first, later)] == [
        "central-control-plane-failure"
    ]
    # The second screen decided on the same state: its append is refused, and on a fresh read
    # nothing is due any more.
    with pytest.raises(Conflict):
        second.sink.append(
            second.id,
            "timer-expired",
            {"instance": "central-control-plane-failure"},
            expect_last=stale,
        )
    assert record_expired_timers(second, later) == []
    expired = [e for e in Store(path).events(first.id) if e.type == "timer-expired"]
    assert len(expired) == 1


def test_a_second_escalation_keeps_both_case_numbers(session):
    session.mark_down(["management-plane"])
    session.raise_escalation(ENGAGE, "TS-1")
    session.raise_escalation(ENGAGE, "TS-2")
    session.raise_escalation(ENGAGE, "TS-1")  # the same case again adds no case number
    step = session.state.steps[ENGAGE]
    assert step.cases == ("TS-1", "TS-2")
    assert [r.case for r in step.escalations] == ["TS-1", "TS-2", "TS-1"]
    assert step.escalated == step.escalations[0].at  # first raised
    point = next(
        p for p in incident_escalation_points(session.state, session.engine) if p.ref == ENGAGE
    )
    assert point.cases == ("TS-1", "TS-2") and point.raised == step.escalated
    data = incident_dict(session.state, session.engine)
    listed = next(e for e in data["escalations"] if e["ref"] == ENGAGE)
    assert listed["cases"] == ["TS-1", "TS-2"] and listed["case"] == "TS-1"  # the latest
    restoration = next(
        c for c in data["checklists"] if c["instance"] == MP and c["phase"] == "restoration"
    )
    shown = next(s for s in restoration["steps"] if s["ref"] == ENGAGE)
    actor = session.state.timeline[-1].actor
    assert [(e["ref"], e["case"], e["actor"]) for e in shown["escalations"]] == [
        (ENGAGE, "TS-1", actor),
        (ENGAGE, "TS-2", actor),
        (ENGAGE, "TS-1", actor),
    ]
    assert all(e["at"].endswith("Z") for e in shown["escalations"])
    untouched = next(s for s in restoration["steps"] if s["ref"] != ENGAGE)
    assert untouched["escalations"] == []
