"""Hostile titles for `incident rename`: refused with one line, or stored as given."""

from __future__ import annotations

import pytest

from tests.hostile.harness import accepted, refused, run_bounded


def started() -> str:
    result = accepted(run_bounded("incident", "start", "checkout slow"))
    return result.out.strip()


@pytest.mark.parametrize("title", ["", "   ", "\t\n"])
def test_blank_titles_are_refused(title):
    refused(run_bounded("incident", "rename", started(), title), "title is empty")


@pytest.mark.parametrize(
    "title", ["\x1b]52;c;aGk=\x07 pwned", "[bold]x[/]", "é" * 5000], ids=["osc52", "markup", "long"]
)
def test_odd_titles_are_stored_and_echoed_cleanly(title):
    accepted(run_bounded("incident", "rename", started(), title))


def test_an_unknown_incident_is_refused():
    refused(run_bounded("incident", "rename", "INC-19990101-999", "x"), "INC-19990101-999")
