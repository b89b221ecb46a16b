"""The TUI under a wall clock that jumps: escalation countdowns keep their time, no expiry is
recorded early, and a clock behind the incident's last event is said once (a toast)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.tui.support import settle
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.store import Store
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.widgets.header import IncidentHeader
from tsbrunbook.workspace import Workspace

T0 = datetime(2026, 11, 30, 19, 41, 0, tzinfo=UTC)
HOURS_2 = 2 * 3600


def app_on(tmp_path, clock: FakeClock) -> RunbookApp:
    workspace = Workspace(store=Store(tmp_path / "incidents.sqlite3", clock=clock))
    session = workspace.start("clock jumps")
    session.mark_down(["central-control-plane"])
    return RunbookApp(workspace, session, clock=clock)


def header(app: RunbookApp) -> str:
    return str(app.screen.query_one(IncidentHeader).content)


def expiries(app: RunbookApp) -> int:
    return [e.type for e in app.workspace.store.events(app.session.id)].count("timer-expired")


def clock_toasts(app: RunbookApp) -> list[str]:
    return [n.message for n in app._notifications if "system clock" in n.message]


async def test_clock_back_two_hours_keeps_the_countdown_and_says_so_once(tmp_path):
    clock = FakeClock(T0)
    app = app_on(tmp_path, clock)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        app.every_second()
        clock.advance(600)
        app.every_second()
        assert "⏰ 20:00 left" in header(app)
        clock.step_wall(-HOURS_2)
        app.every_second()
        app.every_second()
        await settle(pilot)
        assert "⏰ 20:00 left" in header(app)
        assert "T+0:10:00" in header(app)  # the elapsed time did not go back either
        assert clock_toasts(app) == [
            "the system clock is behind the incident's last event by 1h 50m; times shown may be off"
        ]
        clock.advance(1200)
        app.every_second()
        await settle(pilot)
        assert expiries(app) == 1


async def test_clock_forward_two_hours_records_no_expiry(tmp_path):
    clock = FakeClock(T0)
    app = app_on(tmp_path, clock)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        app.every_second()
        clock.advance(60)
        clock.step_wall(HOURS_2)
        app.every_second()
        await settle(pilot)
        assert expiries(app) == 0
        assert "⏰ 29:00 left" in header(app)
        assert not any("Escalate now" in (n.title or "") for n in app._notifications)
        clock.advance(1740)
        app.every_second()
        app.every_second()
        await settle(pilot)
        assert expiries(app) == 1
        assert any("Escalate now" in (n.title or "") for n in app._notifications)
        assert clock_toasts(app) == []  # ahead is not behind: nothing to say
