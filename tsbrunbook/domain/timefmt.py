"""Every way tsbrunbook writes or reads a time: the store's timestamps, the stamps and clock times
shown to people, durations, and the offsets of an exercise clock. One definition of each.

Times are timezone-aware UTC everywhere; what is shown says "UTC" where a reader could wonder.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# The store's format: ISO-8601 in UTC with microseconds. Sorts as text, parses back exactly.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Writers' clocks differ a little; a time this much earlier than an event before it is not
# worth a word (nor a ⚠ on a duration).
BEHIND_TOLERANCE_S = 2.0

CLOCK_FLAG = "⚠"  # marks a time or a duration the system clock made untrustworthy

OFFSET_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")


def format_time(at: datetime) -> str:
    """A stored timestamp: ISO-8601 in UTC with microseconds (another zone is converted)."""
    return at.astimezone(UTC).strftime(TIME_FORMAT)


# What format_time writes, exactly; read with fromisoformat (strptime imports and compiles its
# locale machinery on first use, and is ten times slower per call).
_STORED_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", re.ASCII)


def parse_time(text: str) -> datetime:
    """A stored timestamp back as an aware UTC datetime; ValueError if it is not one."""
    if _STORED_RE.fullmatch(text):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    # Anything else TIME_FORMAT accepts (strptime is lenient about digits) reads as it always did.
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def iso(at: datetime | None) -> str | None:
    """A time in the store's format for JSON output, None for no time."""
    return format_time(at) if at else None


def stamp(at: datetime | None) -> str:
    """`2026-11-27 03:04:05 UTC`, or `—` for no time: a date and time for people."""
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else "—"


def clock(at: datetime) -> str:
    """`03:04:05`: the time of day (UTC), where the date goes without saying."""
    return f"{at:%H:%M:%S}"


def duration(seconds: float) -> str:
    """`45s`, `12m 05s`, `1h 02m 03s`, `2d 03h 04m`. Never negative: a span that ends before
    it starts (a clock set back) is `0s`; callers flag it with `span`."""
    s = max(0, int(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {s:02d}s"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{s}s"


def span(start: datetime, end: datetime) -> str:
    """The duration from start to end, `0s ⚠` when the end was recorded before the start."""
    seconds = (end - start).total_seconds()
    return f"{duration(0)} {CLOCK_FLAG}" if seconds < -BEHIND_TOLERANCE_S else duration(seconds)


def short_span(seconds: float) -> str:
    """`2h 0m`, `5m 12s`, `40s`: a gap between clocks, said briefly (its sign is dropped)."""
    s = int(abs(seconds))
    if s >= 86400:
        return f"{s // 86400}d {s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60}m"
    if s >= 60:
        return f"{s // 60}m {s % 60}s"
    return f"{s}s"


def seconds(value: float) -> str:
    """`20`, `1.5`, `0.3`: a few seconds for a status line, whole from 10 up, tenths below."""
    return f"{value:.0f}" if value >= 10 else f"{round(value, 1):g}"


def parse_offset(text: str) -> int | None:
    """An exercise clock offset: `05:00` → 300, `1:02:03` → 3723; None if malformed."""
    m = OFFSET_RE.match(text.strip())
    if not m:
        return None
    hours, minutes, secs = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
    if secs >= 60 or (m.group(1) and minutes >= 60):
        return None
    return hours * 3600 + minutes * 60 + secs


def offset(value: float) -> str:
    """An exercise clock offset: `05:00`, `1:02:03` (whole seconds, rounded down)."""
    whole = int(value)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
