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


def escalate_after(scenario: Scenario, estate: Estate) -> dict[str, Any] | None:
    """`{"seconds", "set_by" (runbook | estate), "label"}` for this scenario in this estate, or
    None when it has no escalation timer."""
    # Imported here: escalation imports the exports, which import this module.
    from .escalation import effective_escalate_after

    seconds, source = effective_escalate_after(scenario, estate)
    if seconds is None:
        return None
    return {
        "seconds": seconds,
        "set_by": "estate" if source == "estate" else "runbook",
        "label": f"escalate after {short_duration(seconds)} ({policy_words(source)})",
    }
