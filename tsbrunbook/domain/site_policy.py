"""What the runbooks decide for a site rather than take from the guide, labelled as such.

`escalate_after` is one: the guide gives no figure for when to call Tetrate support, so a
scenario's value (or the estate's override) is site policy, and every place that shows it says so.
"""

from __future__ import annotations

from typing import Any

from .model import Estate, Scenario


def short_duration(seconds: int) -> str:
    """`30m`, `2h`, `90s`: the form the YAML uses."""
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def policy_words(source: str) -> str:
    """Where an escalate_after comes from, in words: both are site policy."""
    return (
        "site policy set in the estate, not from the guide"
        if source == "estate"
        else "site policy, not from the guide"
    )


def effective_escalate_after(scenario: Scenario, estate: Estate) -> tuple[int | None, str]:
    """(seconds, where from: "scenario" or "estate"), or (None, "") when the scenario has no timer.

    The estate overrides only scenarios that have a timer: a scenario without `escalate_after`
    has no point at which the runbook says to call support."""
    if scenario.escalate_after is None:
        return None, ""
    override = estate.escalate_after.get(scenario.severity.id)
    if override is not None:
        return override, "estate"
    return scenario.escalate_after, "scenario"


def escalate_after(scenario: Scenario, estate: Estate) -> dict[str, Any] | None:
    """`{"seconds", "set_by" (runbook | estate), "label"}` for this scenario in this estate, or
    None when it has no escalation timer."""
    seconds, source = effective_escalate_after(scenario, estate)
    if seconds is None:
        return None
    return {
        "seconds": seconds,
        "set_by": "estate" if source == "estate" else "runbook",
        "label": f"escalate after {short_duration(seconds)} ({policy_words(source)})",
    }
