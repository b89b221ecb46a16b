"""One event that cannot be decoded makes only its own incident unreadable: `incident list` still
shows the others (marking the damaged one), commands on it refuse in one line naming the store, the
incident and the event number, and the TUI opens and resumes around it."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.test_bad_input import one_error_line
from tests.test_incident_cli import ID_RE, start, store_bytes
from tsbrunbook.domain.errors import UserError
from tsbrunbook.store import Store
from tsbrunbook.workspace import Workspace

# (what is wrong, column, stored value) — each damages event 3 of an incident.
DAMAGE = [
    ("bad JSON", "data", '{"components": ["postgres"'),
    ("a JSON list", "data", '["postgres"]'),
    ("JSON text", "data", '"postgres"'),
    ("a bad timestamp", "at", "yesterday at noon"),
    ("an impossible date", "at", "2026-13-45T99:00:00.000000Z"),
    ("components not a list", "data", '{"components": "postgres"}'),
    ("a component not a string", "data", '{"components": [7]}'),
    ("data as a blob", "data", b'{"components": []}'),
]
# (what is wrong, event type, data): valid JSON objects without what the fold needs.
SHAPE_DAMAGE = [
    ("a step without its ref", "step", '{"state": "done", "note": ""}'),
    ("a step with an unknown state", "step", '{"ref": "x/recovery/y", "state": "exploded"}'),
    ("a note whose text is a number", "note", '{"text": 42}'),
    ("an escalation whose ref is a list", "escalation", '{"ref": ["a"], "case": ""}'),
    ("a chat switch that is not a boolean", "chat", '{"enabled": "yes"}'),
    ("a clock without its offset", "exercise-clock", '{"action": "start", "running": true}'),
]


def damage(home, incident: str, seq: int, column: str, value) -> None:
    conn = sqlite3.connect(home / "incidents.sqlite3")
    with conn:
        changed = conn.execute(
            f"UPDATE events SET {column} = ? WHERE incident = ? AND seq = ?", (value, incident, seq)
        ).rowcount
    conn.close()
    assert changed == 1


@pytest.fixture
def three(cli) -> tuple[str, str, str]:
    """Three open incidents; the middle one has events 1 (started), 2 (down) and 3 (up)."""
    first = start(cli, "first")
    middle = start(cli, "middle")
    last = start(cli, "last")
    for iid in (first, middle, last):
        assert cli("incident", "down", iid, "postgres").rc == 0
    assert cli("incident", "up", middle, "postgres").rc == 0
    return first, middle, last


def assert_refused_naming_the_event(line: str, home, incident: str, seq: int) -> None:
    assert str(home / "incidents.sqlite3") in line, line
    assert f"incident {incident}, event {seq} cannot be read" in line, line
    assert "the other incidents are unaffected" in line, line


@pytest.mark.parametrize(("what", "column", "value"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_one_damaged_event_leaves_the_other_incidents_listed(
    cli, isolated_home, three, what, column, value
):
    first, middle, last = three
    damage(isolated_home, middle, 3, column, value)
    listed = cli("incident", "list")
    assert listed.rc == 0, listed.err
    rows = {
        line.split()[0]: line
        for line in listed.out.splitlines()
        if ID_RE.fullmatch(line.split(" ")[0])
    }
    assert set(rows) == {first, middle, last}
    assert "DAMAGED" in rows[middle] and "DAMAGED" not in rows[first] + rows[last]
    assert f"{middle}: damaged: event 3 cannot be read" in listed.out
    data = {i["id"]: i for i in json.loads(cli("incident", "list", "--format", "json").out)}
    assert data[first]["damaged"] is None and data[first]["down"] == ["postgres"]
    assert "event 3" in data[middle]["damaged"]


@pytest.mark.parametrize(("what", "column", "value"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_commands_on_the_damaged_incident_refuse_in_one_line(
    cli, isolated_home, three, what, column, value
):
    first, middle, _ = three
    damage(isolated_home, middle, 3, column, value)
    before = store_bytes(isolated_home)
    for argv in (
        ("show", middle),
        ("export", middle),
        ("down", middle, "postgres"),
        ("brief", middle),
    ):
        line = one_error_line(cli("incident", *argv))
        assert_refused_naming_the_event(line, isolated_home, middle, 3)
    assert store_bytes(isolated_home) == before
    assert cli("incident", "show", first).rc == 0
    assert cli("incident", "down", first, "elasticsearch").rc == 0


@pytest.mark.parametrize(("what", "type_", "data"), SHAPE_DAMAGE, ids=[d[0] for d in SHAPE_DAMAGE])
def test_an_event_missing_what_the_fold_needs_is_refused_not_a_crash(
    cli, isolated_home, three, what, type_, data
):
    _, middle, _ = three
    damage(isolated_home, middle, 3, "type", type_)
    damage(isolated_home, middle, 3, "data", data)
    line = one_error_line(cli("incident", "show", middle))
    assert_refused_naming_the_event(line, isolated_home, middle, 3)


def test_a_damaged_start_time_in_the_index_does_not_hide_the_others(cli, isolated_home, three):
    first, middle, last = three
    conn = sqlite3.connect(isolated_home / "incidents.sqlite3")
    with conn:
        conn.execute("UPDATE incidents SET started = 'never' WHERE id = ?", (middle,))
    conn.close()
    listed = cli("incident", "list")
    assert listed.rc == 0, listed.err
    assert first in listed.out and last in listed.out and middle in listed.out


def test_store_events_names_store_incident_and_event(isolated_home, three):
    _, middle, _ = three
    damage(isolated_home, middle, 2, "data", "[]")
    store = Store()
    try:
        with pytest.raises(UserError) as raised:
            store.events(middle)
        assert_refused_naming_the_event(str(raised.value), isolated_home, middle, 2)
        assert [s.damaged for s in store.summaries()].count(None) == 2
    finally:
        store.close()


def test_resuming_skips_a_damaged_incident(isolated_home, three):
    first, middle, last = three
    damage(isolated_home, last, 2, "data", "{oops")  # the newest open one: the one resumed
    session = Workspace().resume_or_start()
    assert session.id == middle


def test_resuming_skips_an_incident_whose_damage_only_opening_finds(isolated_home, three):
    _, middle, last = three
    damage(isolated_home, last, 2, "type", "step")  # valid JSON, but not a step: found when folded
    assert Workspace().resume_or_start().id == middle


async def test_tui_switcher_lists_the_damaged_incident_as_damaged(isolated_home, three):
    from textual.widgets import OptionList

    from tsbrunbook.tui.app import RunbookApp

    first, middle, last = three
    damage(isolated_home, middle, 3, "data", "[1]")
    workspace = Workspace()
    app = RunbookApp(workspace, workspace.resume_or_start())
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.session.id == last
        await pilot.press("i")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        labels = {
            options.get_option_at_index(n).id: str(options.get_option_at_index(n).prompt)
            for n in range(options.option_count)
        }
        assert "damaged" in labels[middle] and "damaged" not in labels[first]
    assert app.return_code in (None, 0)
