"""Hostile clocks: incidents whose stored times are in the future, out of order or at the edge of
the calendar (written through the store API with a FakeClock), and identical marks fired at once.

Each case is one hostile store; every command on it must be accepted cleanly (exit 0, no
traceback), print no negative duration, and say at most once that the system clock is behind.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.hostile.harness import Bounded, accepted, run_bounded
from tsbrunbook.domain.clock import SYSTEM_CLOCK, FakeClock
from tsbrunbook.store import Store
from tsbrunbook.workspace import Workspace

CCP = "central-control-plane"
NEGATIVE = re.compile(r"(?<![\w-])[-−]\d+[dhms]\b|-\d+:\d\d")  # "-1d", "−5m", "-3:05"


def _store(clock: FakeClock) -> Store:
    return Store(os.path.join(os.environ["TSBRUNBOOK_HOME"], "incidents.sqlite3"), clock=clock)


def future_events() -> str:
    """Every event two hours ahead of the system clock (written by a host whose clock ran fast)."""
    clock = FakeClock(SYSTEM_CLOCK.wall() + timedelta(hours=2))
    with _store(clock) as store:
        session = Workspace(store=store).start("written by a fast clock")
        session.mark_down([CCP])
        clock.advance(300)
        session.add_note("five minutes in")
        return session.id


def clock_set_back_mid_incident() -> str:
    """Down, then the clock is set back two hours, then up and closed: times out of order."""
    clock = FakeClock(SYSTEM_CLOCK.wall() - timedelta(days=1))
    with _store(clock) as store:
        session = Workspace(store=store).start("clock set back")
        session.mark_down([CCP])
        clock.advance(600)
        clock.step_wall(-2 * 3600)
        session.mark_up([CCP])
        session.close()
        return session.id


def clock_set_back_still_open() -> str:
    """Down at T, the clock set back two hours, a note: open, with a component still down."""
    clock = FakeClock(SYSTEM_CLOCK.wall() - timedelta(days=1))
    with _store(clock) as store:
        session = Workspace(store=store).start("open across a step back")
        session.mark_down([CCP, "workload-cluster/eu-west"])
        clock.step_wall(-2 * 3600)
        session.add_note("after the step")
        session.mark_up(["workload-cluster/eu-west"])
        return session.id


def end_of_the_calendar() -> str:
    """Started at the last minute of year 9999: a deadline 30 minutes later is not a date."""
    clock = FakeClock(datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    with _store(clock) as store:
        session = Workspace(store=store).start("the end of time")
        session.mark_down([CCP])
        return session.id


def start_of_the_epoch() -> str:
    """Started in 1970 (a host with no RTC), still open with a timer running: decades elapsed."""
    clock = FakeClock(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    with _store(clock) as store:
        session = Workspace(store=store).start("booted without a clock")
        session.mark_down([CCP])
        return session.id


@dataclass(frozen=True)
class Case:
    name: str
    build: object  # () -> incident id
    args: tuple[str, ...]  # the command, with {id} for the incident
    warns: bool  # the system clock is behind the incident's last event


CASES = [
    Case("future-show", future_events, ("incident", "show", "{id}"), True),
    Case("future-export", future_events, ("incident", "export", "{id}"), True),
    Case("future-mark-down", future_events, ("incident", "down", "{id}", "postgres"), True),
    Case("future-close", future_events, ("incident", "close", "{id}"), True),
    Case("back-export", clock_set_back_mid_incident, ("incident", "export", "{id}"), False),
    Case(
        "back-show-json",
        clock_set_back_mid_incident,
        ("incident", "show", "{id}", "--format", "json"),
        False,
    ),
    Case("back-brief", clock_set_back_mid_incident, ("incident", "brief", "{id}"), False),
    Case("back-open-export", clock_set_back_still_open, ("incident", "export", "{id}"), False),
    Case("back-open-brief", clock_set_back_still_open, ("incident", "brief", "{id}"), False),
    Case("back-open-show", clock_set_back_still_open, ("incident", "show", "{id}"), False),
    Case("year-9999-brief", end_of_the_calendar, ("incident", "brief", "{id}"), True),
    Case("year-9999-close", end_of_the_calendar, ("incident", "close", "{id}"), True),
    Case("year-9999-show", end_of_the_calendar, ("incident", "show", "{id}"), True),
    Case("year-9999-export", end_of_the_calendar, ("incident", "export", "{id}"), True),
    Case("year-1970-export", start_of_the_epoch, ("incident", "export", "{id}"), False),
    Case(
        "list-with-all-of-them",
        lambda: [future_events(), clock_set_back_mid_incident(), end_of_the_calendar()][0],
        ("incident", "list", "--all"),
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_times_are_shown_and_exported_cleanly(case):
    incident = case.build()
    result = accepted(run_bounded(*(a.format(id=incident) for a in case.args)))
    assert not NEGATIVE.search(result.out), result.out
    warnings = [line for line in result.err.splitlines() if "system clock is behind" in line]
    assert len(warnings) == (1 if case.warns else 0), result.err
    assert all(line.startswith("tsbrunbook: warning: ") for line in warnings)


def test_out_of_order_times_are_flagged_in_the_export():
    incident = clock_set_back_mid_incident()
    out = accepted(run_bounded("incident", "export", incident)).out
    assert "| 0s ⚠ |" in out and "before the start" in out and "the system clock went back" in out


def test_identical_marks_fired_at_once_record_one_event():
    """Four alert hooks run `incident down ID X` at the same moment (real processes)."""
    with _store(FakeClock(SYSTEM_CLOCK.wall())) as store:
        incident = Workspace(store=store).start("four hooks").id
    results: dict[int, Bounded] = {}

    def hook(i: int) -> None:
        results[i] = run_bounded("incident", "down", incident, CCP)

    threads = [threading.Thread(target=hook, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2, 3]  # every hook ran to the end
    for result in results.values():
        accepted(result)
    with _store(FakeClock(SYSTEM_CLOCK.wall())) as store:
        downs = [e for e in store.events(incident) if e.type == "down"]
    assert len(downs) == 1
    assert sum("marked down" in r.out for r in results.values()) == 1
    assert sum("already down" in r.out for r in results.values()) == 3
