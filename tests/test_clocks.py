"""Wall-clock trust: the system clock stepping back or forward must not make durations negative,
extend an escalation timer, or record a timer expiry that has not really happened.

Every test drives a FakeClock (wall and monotonic readings moved separately) through the real
store; nothing here reads the system clock or sleeps.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tsbrunbook.domain.clock import FakeClock, behind_warning
from tsbrunbook.domain.escalation import (
    CONFIRM_SECONDS,
    TimerWatch,
    escalation_timers,
    record_expired_timers,
)
from tsbrunbook.domain.incident_json import incident_dict
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.domain.timefmt import duration
from tsbrunbook.store import Store
from tsbrunbook.workspace import Workspace

T0 = datetime(2026, 11, 30, 19, 41, 7, tzinfo=UTC)
CCP = "central-control-plane"
TIMER = "central-control-plane-failure"
LENGTH = 30 * 60
HOURS_2 = 2 * 3600


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def workspace(tmp_path, clock):
    store = Store(tmp_path / "incidents.sqlite3", clock=clock)
    yield Workspace(store=store)
    store.close()


def timer_of(timers):
    (timer,) = [t for t in timers if t.instance == TIMER]
    return timer


def test_durations_are_never_negative():
    assert duration(-1) == "0s"
    assert duration(-(86400 + 2 * 3600)) == "0s"


def test_clock_back_two_hours_export_has_no_negative_duration_and_flags_it(workspace, clock):
    session = workspace.start("clock goes back")
    session.mark_down([CCP])
    clock.advance(300)
    clock.step_wall(-HOURS_2)  # NTP steps the clock back two hours
    session.mark_up([CCP])
    session.close()
    text = incident_markdown(session.state, session.engine, now=clock.wall())
    assert "-1d" not in text and "−" not in text
    row = next(line for line in text.splitlines() if line.startswith(f"| `{CCP}`"))
    assert row.endswith("| 0s ⚠ |"), row
    assert "- **Duration:** 0s ⚠" in text
    assert "the system clock went back" in text
    # the close is not shown as if it made sense: it is flagged as before the start
    assert re.search(r"- \*\*Closed:\*\* 2026-11-30 17:4\d:\d\d UTC ⚠ before the start", text), text
    data = incident_dict(session.state, session.engine, now=clock.wall())
    assert data["elapsed_seconds"] == 0
    assert [a["seq"] for a in data["clock_anomalies"]] == [3, 4]


def test_elapsed_never_counts_back_from_the_last_event(workspace, clock):
    session = workspace.start("elapsed")
    clock.advance(600)
    session.add_note("ten minutes in")
    clock.step_wall(-HOURS_2)
    assert session.state.elapsed(clock.wall()) == pytest.approx(600)


def test_clock_back_two_hours_leaves_the_timer_where_it_was(workspace, clock):
    session = workspace.start("timer, clock back")
    session.mark_down([CCP])
    watch = TimerWatch(clock)
    watch.timers(session.state, session.engine)  # the TUI's first tick
    clock.advance(600)
    assert timer_of(watch.timers(session.state, session.engine)).remaining_seconds == pytest.approx(
        LENGTH - 600
    )
    clock.step_wall(-HOURS_2)
    assert timer_of(watch.timers(session.state, session.engine)).remaining_seconds == pytest.approx(
        LENGTH - 600
    )
    # A fresh process (no monotonic history) floors "now" at the last event: not +2h either.
    fresh = timer_of(escalation_timers(session.state, session.engine, now=clock.wall()))
    assert fresh.remaining_seconds <= LENGTH
    # and the timer still expires when its length has really passed
    clock.advance(LENGTH - 600)
    assert [e.data["instance"] for e in record_expired_timers(session, watch=watch)] == [TIMER]


def test_clock_forward_two_hours_records_no_expiry_until_the_timer_has_run(workspace, clock):
    session = workspace.start("timer, clock forward")
    session.mark_down([CCP])
    watch = TimerWatch(clock)
    watch.timers(session.state, session.engine)  # the TUI's first tick
    clock.advance(60)
    clock.step_wall(HOURS_2)
    assert record_expired_timers(session, watch=watch) == []
    timer = timer_of(watch.timers(session.state, session.engine))
    assert not timer.expired and timer.remaining_seconds == pytest.approx(LENGTH - 60)
    clock.advance(LENGTH - 61)
    assert record_expired_timers(session, watch=watch) == []
    clock.advance(1)
    assert [e.data["instance"] for e in record_expired_timers(session, watch=watch)] == [TIMER]
    assert record_expired_timers(session, watch=watch) == []  # once
    assert [e.type for e in session.state.timeline].count("timer-expired") == 1


def test_after_a_restart_wall_time_counts_once_the_clock_is_seen_steady(workspace, clock):
    """A process that opens an incident whose timer ran out while nobody watched records the
    expiry, but only after the wall clock has kept pace with the monotonic one for a while."""
    session = workspace.start("restart")
    session.mark_down([CCP])
    clock.advance(LENGTH + 120)  # nobody had the incident open
    watch = TimerWatch(clock)
    timer = timer_of(watch.timers(session.state, session.engine))
    assert timer.expired and not timer.due  # overdue on the wall clock, not yet confirmed
    assert record_expired_timers(session, watch=watch) == []
    clock.advance(CONFIRM_SECONDS)  # the wall clock kept pace with the monotonic one meanwhile
    assert [e.data["instance"] for e in record_expired_timers(session, watch=watch)] == [TIMER]


def test_after_a_restart_a_clock_set_back_withdraws_the_trust_in_wall_time(workspace, clock):
    session = workspace.start("restart, then a step back")
    session.mark_down([CCP])
    clock.advance(LENGTH - 300)
    watch = TimerWatch(clock)  # a new process sees 5 minutes left
    assert timer_of(watch.timers(session.state, session.engine)).remaining_seconds == pytest.approx(
        300
    )
    clock.step_wall(-HOURS_2)  # the clock was two hours ahead when this process first looked?
    clock.advance(300)
    timer = timer_of(watch.timers(session.state, session.engine))
    assert timer.expired and not timer.due  # the countdown did not move; the record waits
    assert record_expired_timers(session, watch=watch) == []
    clock.advance(LENGTH - 300)  # the whole length on this process's monotonic clock
    assert [e.data["instance"] for e in record_expired_timers(session, watch=watch)] == [TIMER]


def test_after_a_restart_a_clock_set_forward_adds_nothing(workspace, clock):
    session = workspace.start("restart, then a step forward")
    session.mark_down([CCP])
    clock.advance(LENGTH - 300)
    watch = TimerWatch(clock)
    watch.timers(session.state, session.engine)
    clock.step_wall(HOURS_2)
    clock.advance(299)
    assert record_expired_timers(session, watch=watch) == []
    assert timer_of(watch.timers(session.state, session.engine)).remaining_seconds == pytest.approx(
        1
    )
    clock.advance(1)
    assert [e.data["instance"] for e in record_expired_timers(session, watch=watch)] == [TIMER]


def test_the_warning_names_the_gap():
    later = T0 + timedelta(hours=2)
    assert (
        behind_warning(later, T0)
        == "the system clock is behind the incident's last event by 2h 0m; times shown may be off"
    )
    assert behind_warning(T0, T0) is None
    assert behind_warning(T0 + timedelta(seconds=1), T0) is None  # writers' clocks differ a little


def test_default_title_is_in_utc_and_says_so(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+5:30: local time would read 01:11 the next day
    time.tzset()
    try:
        clock = FakeClock(T0)
        with Store(tmp_path / "s.sqlite3", clock=clock) as store:
            session = Workspace(store=store, clock=clock).resume_or_start()
        assert session.state.title == "Incident 2026-11-30 19:41 UTC"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
