"""The harness itself tells a refusal from a crash, and measures the child it ran."""

from __future__ import annotations

import pytest

from tests.hostile.harness import accepted, refused, run_bounded


def test_a_clean_refusal_and_a_clean_acceptance():
    line = refused(run_bounded("impact", "--down", "no-such-component"), "no-such-component")
    assert "unknown component" in line
    result = accepted(run_bounded("impact", "--down", "postgres", "--format", "json"))
    assert result.peak_mb > 5 and result.seconds > 0


def test_a_traceback_is_never_a_refusal():
    result = run_bounded("impact", "--down", "postgres")
    result.rc, result.err = 2, "Traceback (most recent call last):\n  boom\n"
    with pytest.raises(AssertionError):
        refused(result)
