"""The one time module: stored timestamps, durations, clock display and exercise offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tsbrunbook.domain import timefmt

AT = datetime(2026, 11, 27, 3, 4, 5, 123456, tzinfo=UTC)


def test_stored_time_round_trips_exactly_and_sorts_as_text():
    text = timefmt.format_time(AT)
    assert text == "2026-11-27T03:04:05.123456Z"
    assert timefmt.parse_time(text) == AT
    later = timefmt.format_time(AT + timedelta(microseconds=1))
    assert later > text
    # another zone is converted to UTC, not relabelled
    assert timefmt.format_time(AT.astimezone(timezone(timedelta(hours=2)))) == text
    assert timefmt.iso(AT) == text and timefmt.iso(None) is None


@pytest.mark.parametrize("bad", ["yesterday at noon", "2026-13-45T99:00:00.000000Z", ""])
def test_a_stored_time_that_is_not_one_is_refused(bad):
    with pytest.raises(ValueError):
        timefmt.parse_time(bad)


def test_stamps_and_clock():
    assert timefmt.stamp(AT) == "2026-11-27 03:04:05 UTC"
    assert timefmt.stamp(None) == "—"
    assert timefmt.clock(AT) == "03:04:05"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45.9, "45s"),
        (725, "12m 05s"),
        (3723, "1h 02m 03s"),
        (2 * 86400 + 3 * 3600 + 4 * 60 + 5, "2d 03h 04m"),
        (-30, "0s"),
    ],
)
def test_duration(seconds, text):
    assert timefmt.duration(seconds) == text


def test_span_flags_an_end_before_its_start():
    assert timefmt.span(AT, AT + timedelta(minutes=2)) == "2m 00s"
    assert timefmt.span(AT, AT - timedelta(seconds=1)) == "0s"  # within the writers' tolerance
    assert timefmt.span(AT, AT - timedelta(hours=1)) == "0s ⚠"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(40, "40s"), (312, "5m 12s"), (7200, "2h 0m"), (-7200, "2h 0m"), (90000, "1d 1h")],
)
def test_short_span(seconds, text):
    assert timefmt.short_span(seconds) == text


def test_exercise_offsets():
    assert timefmt.parse_offset("05:00") == 300 and timefmt.parse_offset("1:02:03") == 3723
    assert timefmt.parse_offset("5 min") is None and timefmt.parse_offset("00:75") is None
    assert timefmt.parse_offset("1:60:00") is None
    assert timefmt.offset(3723) == "1:02:03" and timefmt.offset(59.9) == "00:59"


@pytest.mark.parametrize(
    ("seconds", "text"), [(20, "20"), (10.4, "10"), (1.5, "1.5"), (0.3, "0.3")]
)
def test_seconds(seconds, text):
    assert timefmt.seconds(seconds) == text
