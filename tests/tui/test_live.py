"""The open incident is live: another process's mark shows without a key pressed (PostgreSQL by
NOTIFY, SQLite by its polling, the app the same for both), the header lists who else has the
incident open, and an unreachable store is shown, refused and waited out without losing or
doubling a write."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.pg_server import (
    PgServer,
    wait_until,
)
from tests.tui.support import select_component, settle, until
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.incident import current_actor
from tsbrunbook.store import Store
from tsbrunbook.store.protocol import HEARTBEAT_S, PRESENT_FOR_S, IncidentStore
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.live import FIRST_RETRY_S
from tsbrunbook.tui.widgets.components import ComponentsPane
from tsbrunbook.tui.widgets.header import IncidentHeader
from tsbrunbook.workspace import Workspace

UNREACHABLE = "not recorded — store unreachable"


def app_on(store: IncidentStore, clock: FakeClock | None = None) -> RunbookApp:
    workspace = Workspace(store=store)
    return RunbookApp(workspace, workspace.start("checkout errors"), clock=clock)


def now_clock() -> FakeClock:
    """A fake clock starting at the real time (the server stamps events with its own)."""
    return FakeClock(datetime.now(UTC))


def header(app: RunbookApp) -> str:
    return str(app.screen_stack[0].query_one(IncidentHeader).content)


def types_of(store: IncidentStore, incident: str) -> list[str]:
    return [e.type for e in store.events(incident)]


def listeners(server: PgServer, database: str) -> int:
    with server.admin() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'LISTEN%%'",
            (database,),
        ).fetchone()
    return int(row[0]) if row else 0


async def cursor_on(pilot, app: RunbookApp, cid: str) -> None:
    await settle(pilot)
    select_component(app, cid)
    tree = app.screen.query_one(ComponentsPane).tree_view
    await until(pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == cid)


async def test_a_colleagues_mark_on_postgres_shows_without_polling(pg_server, pg_store_factory):
    store = pg_store_factory()
    database = store.location.rsplit("/", 1)[1]
    app = app_on(store)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        # No interval polls the store: the watch's LISTEN is what brings changes in.
        await until(pilot, lambda: listeners(pg_server, database) == 1)
        other = type(store)(store.location)
        other.append(app.session.id, "down", {"components": ["postgres"]}, actor="bob")
        await until(pilot, lambda: "postgres" in app.session.state.down, seconds=5)
        assert "down 1" in header(app)
        other.close()
    # Quitting ends the watch (within its tick) and closes its connection.
    wait_until(lambda: listeners(pg_server, database) == 0, 10, "the LISTEN connection to close")


async def test_a_mark_from_another_process_on_sqlite_shows_through_the_polling(tmp_path):
    path = tmp_path / "incidents.sqlite3"
    app = app_on(Store(path, poll_interval=0.05))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        other = Store(path)
        other.append(app.session.id, "down", {"components": ["postgres"]}, actor="bob")
        await until(pilot, lambda: "postgres" in app.session.state.down)
        other.close()


async def test_the_header_lists_who_else_has_the_incident_open_until_they_go(tmp_path):
    path = tmp_path / "incidents.sqlite3"
    clock = FakeClock(datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    store = Store(path, clock=clock, poll_interval=0.05)
    app = app_on(store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        me = app.presence_session
        # The app said at once that it has the incident open; alone, the header says nothing.
        assert [p.session for p in store.present(app.session.id, clock.wall())] == [me]
        assert "here:" not in header(app)
        # Bob opens it on the same machine: his arrival shows without waiting for a heartbeat.
        other = Store(path)
        other.heartbeat(app.session.id, "bob", "s-bob", clock.wall())
        await until(
            pilot, lambda: f"here: {', '.join(sorted([current_actor(), 'bob']))}" in header(app)
        )
        # Ten seconds on, the app beats again (its own row moves on), and bob is still there.
        clock.advance(HEARTBEAT_S)
        app.keep_live()
        await settle(pilot)
        (mine,) = [p for p in store.present(app.session.id, clock.wall()) if p.session == me]
        assert mine.seen == clock.wall()
        assert "bob" in header(app)
        # Bob's app died without leaving: once his heartbeat is older than the window, he is gone.
        clock.advance(PRESENT_FOR_S)
        app.keep_live()
        await until(pilot, lambda: "here:" not in header(app))
        other.heartbeat(app.session.id, "bob", "s-bob", clock.wall())
        await until(pilot, lambda: "bob" in header(app))
        other.close()
        await pilot.press("q")
    # Quitting leaves at once: the others do not wait for the heartbeat to expire.
    assert [p.who for p in store.present(app.session.id, clock.wall())] == ["bob"]


async def test_a_server_restart_is_shown_refused_waited_out_and_loses_nothing(
    pg_server,
    pg_store_factory,
):
    from tsbrunbook.store.postgres import PostgresStore

    setup = pg_store_factory()
    # A short retry, so the write in flight when the server goes is left in doubt quickly.
    store = PostgresStore(setup.location, retry_for=0.3)
    clock = now_clock()
    app = app_on(store, clock)
    try:
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            await cursor_on(pilot, app, "postgres")
            incident = app.session.id
            pg_server.stop("fast")
            # A mark made as the server goes: it cannot be stored, so it waits (in doubt).
            app.toggle_component("postgres")
            await until(pilot, lambda: UNREACHABLE in header(app))
            await settle(pilot)
            assert app.link.in_doubt and not app.session.state.down
            # New actions are refused, with a toast, while the header is red.
            await pilot.press("n")
            await until(pilot, lambda: any("unreachable" in n.message for n in app._notifications))
            refused = [n for n in app._notifications if "Not recorded" in n.message]
            assert refused and all(n.severity == "error" for n in refused)
            # Tries again with backoff on the injected clock: not before it is due.
            app.keep_live()
            assert not app.jobs.pending["reconnect"]
            clock.advance(FIRST_RETRY_S)
            app.keep_live()
            await settle(pilot)
            assert UNREACHABLE in header(app)  # the server is still down: the next try waits longer
            assert app.link.delay == 2 * FIRST_RETRY_S
            pg_server.start()
            clock.advance(app.link.delay)
            app.keep_live()
            await until(pilot, lambda: UNREACHABLE not in header(app), seconds=20)
            await settle(pilot)
            # The mark made as it went is recorded once, and shown.
            assert types_of(setup, incident) == ["started", "down"]
            assert "postgres" in app.session.state.down
            # Live again: a colleague's note comes in without a key pressed.
            setup.append(incident, "note", {"text": "back"}, actor="bob")
            await until(pilot, lambda: app.session.state.last_seq == 3, seconds=10)
            # And actions work again.
            app.toggle_component("postgres")
            await settle(pilot)
            assert types_of(setup, incident) == ["started", "down", "note", "up"]
    finally:
        if not pg_server.running():
            pg_server.start()
        store.close()
