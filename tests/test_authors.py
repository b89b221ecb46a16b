"""Who did what: every event carries its author (TSBRUNBOOK_USER, else login@host), and every
place that shows events or steps shows it: `incident show` (text and JSON), the export, the brief."""

from __future__ import annotations

import getpass
import json
import socket

import pytest

from tests.test_incident_cli import WC, ok, start
from tsbrunbook.domain.author import USER_ENV, current_actor
from tsbrunbook.domain.errors import UserError

STEP = f"{WC}/confirm-cluster-back"


def test_tsbrunbook_user_is_the_author():
    assert current_actor({USER_ENV: "alice"}) == "alice"
    assert current_actor({USER_ENV: "  Alice Smith  "}) == "Alice Smith"


def test_without_it_the_login_name_at_the_host():
    login, host = getpass.getuser(), socket.gethostname().split(".")[0]
    assert current_actor({}) == f"{login}@{host}"
    assert current_actor({USER_ENV: "   "}) == f"{login}@{host}"  # blank: as if unset


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("al\x1b]52;c;aGk=\x07ice", "an escape character"),
        ("alice\nroot", "a line break"),
        ("\u202eecila", "a bidirectional-text control"),
        ("al\u200bice", "a zero-width character"),
        ("a" * 10_000, "10000 characters"),
    ],
)
def test_a_hostile_tsbrunbook_user_is_refused(value, says):
    with pytest.raises(UserError) as raised:
        current_actor({USER_ENV: value})
    message = str(raised.value)
    assert USER_ENV in message and says in message
    assert "\x1b" not in message and "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in message


def test_a_hostile_login_name_is_cleaned_not_refused(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "ev\x1b[2Jil\u202e")
    author = current_actor({})
    assert author.startswith("evil@") and "\x1b" not in author and "\u202e" not in author


def test_each_event_records_its_author_and_show_says_who(cli, monkeypatch):
    monkeypatch.setenv(USER_ENV, "alice")
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west"))
    monkeypatch.setenv(USER_ENV, "bob")
    ok(cli("incident", "step", incident, STEP, "done"))
    shown = ok(cli("incident", "show", incident)).out
    timeline = shown.split("Timeline")[1]
    assert "marked down: workload-cluster/eu-west (by alice)" in timeline
    assert f"step done: {STEP} (by bob)" in timeline
    row = next(line for line in shown.splitlines() if "confirm-cluster-back" in line)
    assert "done" in row and "bob" in row  # who recorded the step's state

    data = json.loads(ok(cli("incident", "show", incident, "--format", "json")).out)
    assert [e["actor"] for e in data["timeline"]] == ["alice", "alice", "bob"]
    step = next(s for c in data["checklists"] for s in c["steps"] if s["ref"] == STEP)
    assert step["actor"] == "bob"


def test_the_brief_says_who_worked_each_step(cli, monkeypatch):
    monkeypatch.setenv(USER_ENV, "carol")
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west"))
    ok(cli("incident", "step", incident, STEP, "done"))
    brief = ok(cli("incident", "brief", incident)).out
    worked = brief.split("## Steps worked")[1].split("##")[0]
    assert "by carol" in worked
