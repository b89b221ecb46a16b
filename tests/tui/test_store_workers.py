"""The store off the UI thread: another process holding the SQLite write lock leaves the app
responsive (it says "saving…"), what the user did is stored once and in order when the lock goes,
a write that times out records nothing and says so, and the exercise tick does not replay the
whole log while nothing changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from textual.widgets import Static

from tests.tui.support import cell_text, select_component, settle, until
from tsbrunbook.domain import exercise_run
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.exercise import find_exercise
from tsbrunbook.store import Store
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.screens.help import HelpScreen
from tsbrunbook.tui.widgets.components import ComponentsPane
from tsbrunbook.tui.widgets.header import IncidentHeader
from tsbrunbook.workspace import Workspace


def app_on(tmp_path, **store_options) -> RunbookApp:
    workspace = Workspace(store=Store(tmp_path / "incidents.sqlite3", **store_options))
    return RunbookApp(workspace, workspace.start("write lock"))


@contextmanager
def write_lock_held(app: RunbookApp) -> Iterator[sqlite3.Connection]:
    """Another process's view: a second connection on the same file holding the write lock."""
    store = app.workspace.store
    assert isinstance(store, Store)  # the SQLite file app_on built: these tests need its path
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def types_in(conn: sqlite3.Connection, incident: str) -> list[str]:
    """The stored event types, read through the other connection (WAL: readers never wait)."""
    rows = conn.execute("SELECT type FROM events WHERE incident = ? ORDER BY seq", (incident,))
    return [row[0] for row in rows]


async def cursor_on(pilot, app: RunbookApp, cid: str) -> None:
    """The components cursor on `cid`, once the first frame has settled (it may move it back)."""
    await settle(pilot)
    select_component(app, cid)
    tree = app.screen.query_one(ComponentsPane).tree_view
    await until(pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == cid)


def header(app: RunbookApp) -> str:
    return str(app.screen_stack[0].query_one(IncidentHeader).content)


def summary(app: RunbookApp) -> str:
    return str(app.screen_stack[0].query_one("#summary-text", Static).content)


async def test_a_held_write_lock_leaves_the_app_responsive_and_the_mark_lands_once(tmp_path):
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await cursor_on(pilot, app, "postgres")
        with write_lock_held(app) as other:
            await pilot.press("space")
            await until(pilot, lambda: "saving…" in header(app))
            # The event loop is free: a key opens help and closes it again.
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
            # Nothing is shown before it is stored.
            assert types_in(other, app.session.id) == ["started"]
            assert not app.session.state.down
            assert "ok" in cell_text(app, "management-operations", "overall")
        await settle(pilot)
        assert [e.type for e in app.workspace.store.events(app.session.id)] == ["started", "down"]
        assert [e.type for e in app.session.state.timeline] == ["started", "down"]
        assert list(app.session.state.down) == ["postgres"]
        assert summary(app).count("marked down: postgres") == 1
        assert "outage" in cell_text(app, "management-operations", "overall")
        assert "saving…" not in header(app)


async def test_a_write_that_stays_busy_records_nothing_and_says_so(tmp_path):
    app = app_on(tmp_path, busy_timeout=0.2)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await cursor_on(pilot, app, "postgres")
        with write_lock_held(app) as other:
            await pilot.press("space")
            await until(pilot, lambda: any("busy" in n.message for n in app._notifications))
            assert types_in(other, app.session.id) == ["started"]
        await settle(pilot)
        failure = next(n for n in app._notifications if "busy" in n.message)
        assert failure.severity == "error" and "nothing was recorded" in failure.message
        assert [e.type for e in app.workspace.store.events(app.session.id)] == ["started"]
        assert not app.session.state.down
        assert "saving…" not in header(app)


async def test_rapid_actions_are_stored_in_the_order_they_were_made(tmp_path):
    app = app_on(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await cursor_on(pilot, app, "postgres")
        with write_lock_held(app):
            # Down, up, down again, then a note: queued behind the lock, none may be dropped.
            await pilot.press("space", "space", "space", "n", *"first", "enter")
            await until(pilot, lambda: len(app.jobs.queued) >= 4)
        await settle(pilot)
        stored = app.workspace.store.events(app.session.id)
        assert [e.type for e in stored] == ["started", "down", "up", "down", "note"]
        assert [e.type for e in app.session.state.timeline] == [e.type for e in stored]
        assert list(app.session.state.down) == ["postgres"]
        assert app.session.state.notes[-1][1] == "first"


async def test_the_exercise_tick_does_not_replay_the_log_while_nothing_changes(pack, monkeypatch):
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    exercise = find_exercise("edge-and-link-drill", pack)
    workspace = Workspace(store=Store(clock=clock), pack=pack)
    session = workspace.start("drill", exercise.estate, kind="exercise")
    run = exercise_run.ExerciseRun(session, exercise, clocks=clock)
    app = RunbookApp(workspace, session, clock=clock, exercise=run)
    replays: list[int] = []
    real = exercise_run.progress

    def counted(*args, **kwargs):
        replays.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(exercise_run, "progress", counted)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        replays.clear()
        for _ in range(8):
            app.exercise_tick()
        assert replays == []  # the progress of an unchanged log is reused
        await pilot.press("p")  # the clock starts: one new event, one replay for the screen
        await settle(pilot)
        replays.clear()
        app.exercise_tick()
        app.exercise_tick()
        assert len(replays) <= 1
