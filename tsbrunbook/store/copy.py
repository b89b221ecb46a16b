"""Copy incidents between stores verbatim (SQLite ⇄ PostgreSQL): moving into team mode and back.

Same ids, seqs, times, types, data and actors. Idempotent: an incident already in the target with
the same events is left alone, one whose events there are a beginning of the source's gets the
rest, and one whose events differ stops the copy before anything is written, naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..domain.errors import UserError
from ..domain.incident import Event
from .protocol import IncidentStore


class ImportingStore(IncidentStore, Protocol):
    def import_events(self, events: Sequence[Event]) -> int: ...


@dataclass(frozen=True)
class CopiedIncident:
    id: str
    events: int  # in the source
    copied: int  # added to the target now (0: it was already there)


def _first_difference(a: list[Event], b: list[Event]) -> int:
    for x, y in zip(a, b, strict=False):  # one log may be longer
        if x != y:
            return x.seq
    return min(len(a), len(b)) + 1


def copy_incidents(source: IncidentStore, target: ImportingStore) -> list[CopiedIncident]:
    """Copy every incident of `source` into `target` (oldest first); check the result."""
    if source.location == target.location:
        raise UserError(
            f"the source and the target are the same store ({source.location})",
            "name two different stores",
        )
    plan: list[tuple[str, list[Event], list[Event]]] = []
    for incident in reversed(source.ids()):
        events = source.events(incident)  # a damaged event stops here, naming it
        there = target.events(incident)
        if there[: len(events)] == events:
            missing: list[Event] = []
        elif events[: len(there)] == there:
            missing = events[len(there) :]
        else:
            raise UserError(
                f"incident {incident} is in {target.location} with different content "
                f"(event {_first_difference(events, there)} differs)",
                "nothing was copied; move one of them aside or copy into another store",
            )
        plan.append((incident, events, missing))
    done = []
    for incident, events, missing in plan:
        done.append(CopiedIncident(incident, len(events), target.import_events(missing)))
    for incident, events, _ in plan:
        there = target.events(incident)
        if there[: len(events)] != events:
            raise UserError(
                f"incident {incident}: the target holds {len(there)} events after the copy, "
                f"the source {len(events)}; they differ",
                f"check {target.location}",
            )
    return done
