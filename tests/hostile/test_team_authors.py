"""Hostile authors and claims through the real CLI in a subprocess: TSBRUNBOOK_USER values that
could drive a terminal, disguise a name or flood a line, and step refs given to `incident claim`
and `incident release`. Each case is one hostile input; a refusal is one clean line (exit 2)
and nothing is recorded."""

from __future__ import annotations

import os

import pytest

from tests.hostile.harness import accepted, refused, run_bounded
from tsbrunbook.store import Store
from tsbrunbook.workspace import Workspace

STEP = "workload-cluster-failure@eu-west/recovery/confirm-cluster-back"

USERS = [
    ("an OSC 52 clipboard write", "al\x1b]52;c;aGk=\x07ice", "an escape character"),
    ("a screen clear", "\x1b[2Jalice", "an escape character"),
    ("a bare C1 CSI", "al\x9b2Jice", "a control character"),
    ("a newline forging a second line", "alice\nINC-1: closed by root", "a line break"),
    ("a carriage return", "alice\rmallory", "a line break"),
    ("a bidi override", "\u202eecila", "a bidirectional-text control"),
    ("a bidi isolate", "alice\u2066root", "a bidirectional-text control"),
    ("a zero-width space", "al\u200bice", "a zero-width character"),
    ("a NUL", "al\x00ice", None),  # the OS refuses NUL in the environment: tested in-process
    ("10 kB", "a" * 10_240, "characters"),
]


@pytest.fixture(scope="module")
def incident(tmp_path_factory) -> tuple[str, str]:
    """(home, incident id): one incident with a checklist, shared by every case of this file."""
    home = str(tmp_path_factory.mktemp("authors-home"))
    with Store(os.path.join(home, "incidents.sqlite3")) as store:
        session = Workspace(store=store).start("hostile authors")
        session.mark_down(["workload-cluster/eu-west"])
        return home, session.id


def events(home: str, incident: str) -> int:
    with Store(os.path.join(home, "incidents.sqlite3")) as store:
        return len(store.events(incident))


@pytest.mark.parametrize(("what", "value", "says"), USERS, ids=[u[0] for u in USERS])
def test_a_hostile_tsbrunbook_user_is_refused_before_anything_is_recorded(
    incident, what, value, says
):
    home, incident_id = incident
    if says is None:
        from tsbrunbook.domain.author import current_actor
        from tsbrunbook.domain.errors import UserError

        with pytest.raises(UserError, match="TSBRUNBOOK_USER"):
            current_actor({"TSBRUNBOOK_USER": value})
        return
    before = events(home, incident_id)
    env = {"TSBRUNBOOK_HOME": home, "TSBRUNBOOK_USER": value}
    line = refused(run_bounded("incident", "claim", incident_id, STEP, env=env), "TSBRUNBOOK_USER")
    assert says in line and len(line) < 400
    assert events(home, incident_id) == before


def test_a_hostile_tsbrunbook_user_is_refused_before_the_tui_opens(incident):
    home, incident_id = incident
    env = {"TSBRUNBOOK_HOME": home, "TSBRUNBOOK_USER": "\x1b]52;c;aGk=\x07"}
    refused(run_bounded("tui", "--incident", incident_id, env=env), "TSBRUNBOOK_USER")


def test_a_plain_unicode_name_is_accepted_and_shown(incident):
    home, incident_id = incident
    env = {"TSBRUNBOOK_HOME": home, "TSBRUNBOOK_USER": "Zoë Müller-Łukasz"}
    accepted(run_bounded("incident", "claim", incident_id, STEP, env=env))
    shown = accepted(run_bounded("incident", "show", incident_id, env=env)).out
    assert "in progress — Zoë Müller-Łukasz" in shown
    accepted(run_bounded("incident", "release", incident_id, STEP, env=env))


REFS = [
    ("claim", "empty", ""),
    ("claim", "escape sequences", "\x1b]52;c;aGk=\x07" + STEP),
    ("claim", "a newline", STEP + "\nrelease"),
    ("claim", "bidi", "\u202e" + STEP),
    ("claim", "path traversal", "../../etc/passwd"),
    ("claim", "10 kB", "r" * 10_240),
    ("claim", "an option-like ref", "--take=1"),
    ("release", "escape sequences", "\x1b[2J" + STEP),
    ("release", "10 kB", "r" * 10_240),
]


@pytest.mark.parametrize(("action", "what", "ref"), REFS, ids=[f"{r[0]}: {r[1]}" for r in REFS])
def test_a_hostile_step_ref_is_refused(incident, action, what, ref):
    home, incident_id = incident
    before = events(home, incident_id)
    env = {"TSBRUNBOOK_HOME": home, "TSBRUNBOOK_USER": "alice"}
    # `--` so an option-like ref reaches the command as a ref, as a script would pass it.
    line = refused(run_bounded("incident", action, incident_id, "--", ref, env=env))
    assert "step ref" in line and len(line) < 400
    assert events(home, incident_id) == before
