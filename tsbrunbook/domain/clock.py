"""Where "now" comes from: the wall clock for timestamps, a monotonic clock for what is measured.

The wall clock (UTC) says *when* something happened and is what the store records. It can jump:
NTP steps it, someone sets it by hand, a VM resumes with a stale one. Anything *measured* — an
escalation countdown, how long a timer has run — is counted on a monotonic clock, which only
moves forward. Code that needs either takes a `Clock`, so tests inject a `FakeClock` and move
each clock on its own (the wall clock back two hours, the monotonic one not at all).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .timefmt import BEHIND_TOLERANCE_S, short_span


class Clock(Protocol):
    def wall(self) -> datetime:
        """Now, on the wall clock, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (only differences mean anything)."""
        ...


class SystemClock:
    """The real clocks. On Linux the monotonic one is CLOCK_BOOTTIME: it never goes back either,
    but unlike CLOCK_MONOTONIC it keeps counting while the laptop is suspended, so an incident's
    escalation timer still runs while the lid is closed."""

    def __init__(self) -> None:
        boottime = getattr(time, "CLOCK_BOOTTIME", None)
        self._mono: Callable[[], float] = (
            (lambda: time.clock_gettime(boottime)) if boottime is not None else time.monotonic
        )

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return self._mono()


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock for tests: both readings move only when told to."""

    def __init__(self, wall: datetime, monotonic: float = 1000.0) -> None:
        self._wall = wall
        self._mono = monotonic

    def wall(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Time passes: both clocks move on together."""
        self._wall += timedelta(seconds=seconds)
        self._mono += seconds

    def step_wall(self, seconds: float) -> None:
        """The wall clock is set (forward if positive, back if negative); no time passes."""
        self._wall += timedelta(seconds=seconds)


class WallOnlyClock:
    """A plain `() -> datetime` (a fixed time in a snapshot test) taken as both clocks: what it
    says is trusted, so its seconds count as monotonic seconds too."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def wall(self) -> datetime:
        return self._now()

    def monotonic(self) -> float:
        return self._now().timestamp()


class SteadyNow:
    """ "Now" for what one process measures and shows (an incident's T+): the wall clock is read
    once, then time moves on the monotonic clock, so a clock stepped back or forward while the
    process runs does not make the elapsed time jump."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._anchor: tuple[datetime, float] | None = None

    def __call__(self) -> datetime:
        mono = self.clock.monotonic()
        if self._anchor is None:
            self._anchor = (self.clock.wall(), mono)
        wall, since = self._anchor
        return wall + timedelta(seconds=mono - since)


def as_clock(clock: Clock | Callable[[], datetime] | None) -> Clock:
    """A Clock from a Clock, a `() -> datetime`, or None (the system's)."""
    if clock is None:
        return SYSTEM_CLOCK
    if hasattr(clock, "wall") and hasattr(clock, "monotonic"):
        return clock
    return WallOnlyClock(clock)


def behind_by(last_event_at: datetime | None, now: datetime) -> float:
    """How many seconds the wall clock is behind the last recorded event (0 when it is not,
    or by less than the tolerance between writers)."""
    if last_event_at is None:
        return 0.0
    gap = (last_event_at - now).total_seconds()
    return gap if gap > BEHIND_TOLERANCE_S else 0.0


def behind_warning(last_event_at: datetime | None, now: datetime) -> str | None:
    """The one line to say when the system clock is behind the incident's last event, or None."""
    gap = behind_by(last_event_at, now)
    if not gap:
        return None
    return f"the system clock is behind the incident's last event by {short_span(gap)}; times shown may be off"
