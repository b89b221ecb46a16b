"""Team mode end to end: two real TUIs under tmux, as two people (TSBRUNBOOK_USER), on one
incident in the throwaway PostgreSQL server. A mark in one shows in the other within a second
(NOTIFY, no polling), with its author, and each header lists both responders."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import run_process
from tests.test_e2e_tmux import Terminal, tmux_or_skip

pytestmark = pytest.mark.slow  # two real terminals and a database server

REPAINT_WITHIN_S = 1.0  # the promise: a colleague's mark shows within a second


def header_line(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def test_a_mark_in_one_tui_shows_in_the_other_within_a_second(pg_server, tmp_path):
    tmux = tmux_or_skip()
    database = pg_server.new_database()
    url = pg_server.url(database)
    base = {"TSBRUNBOOK_DATABASE_URL": url, "TSBRUNBOOK_EXPORT_DIR": str(tmp_path / "exports")}
    # Two laptops: each its own home; the incident is in the shared database.
    env = {
        who: {**base, "TSBRUNBOOK_USER": who, "TSBRUNBOOK_HOME": str(tmp_path / who)}
        for who in ("alice", "bob")
    }
    started = run_process("incident", "start", "checkout errors in eu-west", env=env["alice"])
    assert started.rc == 0, started.err
    incident = started.out.split()[-1]
    alice = Terminal(tmux, env["alice"])
    bob = None
    try:
        alice.wait_for(incident)
        bob = Terminal(tmux, env["bob"])
        bob.wait_for(incident)
        # Presence: each header lists both, whoever came first.
        for term in (alice, bob):
            term.wait_until(
                lambda s: "here: alice, bob" in header_line(s), "presence never listed both"
            )
        alice.wait_for("Mark down/up")  # the components tree has the focus
        assert "down 0 ·" in header_line(bob.screen())
        alice.keys("Space")
        # Both screens are watched together; each time is when that screen first showed it.
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 20.0
        while len(seen) < 2 and time.monotonic() < deadline:
            for name, term in (("alice", alice), ("bob", bob)):
                if name not in seen and "down 1 ·" in header_line(term.screen()):
                    seen[name] = time.monotonic()
            time.sleep(0.02)  # a poll interval, not a synchronisation: the deadline bounds it
        assert set(seen) == {"alice", "bob"}, (
            f"the mark never showed on {set(seen) ^ {'alice', 'bob'}}"
        )
        lag = seen["bob"] - seen["alice"]
        assert lag <= REPAINT_WITHIN_S, f"bob saw alice's mark {lag:.2f} s after she did"
        # With its author: bob's latest events say who marked it.
        bob.wait_until(
            lambda s: "management-cluster (by alice)" in s,
            "bob's screen never said alice marked it",
        )
        alice.keys("q")
        alice.wait_for("EXITED-0")
        # Alice left: bob's header drops her at once (no 30 s wait for her heartbeat to expire).
        bob.wait_until(lambda s: "here:" not in header_line(s), "alice never left bob's header")
        bob.keys("q")
        bob.wait_for("EXITED-0")
        # Stored once, as alice's (the author bob's screens show it with).
        shown = run_process("incident", "show", incident, "--format", "json", env=env["bob"])
        assert shown.rc == 0, shown.err
        marks = [e for e in json.loads(shown.out)["timeline"] if e["type"] == "down"]
        assert len(marks) == 1 and marks[0]["actor"] == "alice"
    finally:
        alice.close()
        if bob is not None:
            bob.close()
        pg_server.drop_database(database)
