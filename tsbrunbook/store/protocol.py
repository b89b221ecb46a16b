"""What every incident store provides: the interface the workspace, CLI and TUI are written against.

An incident is an append-only list of events numbered 1, 2, 3 … per incident. A store keeps them
durably (an append that returned is never lost), lets several processes append at once without
gaps or duplicates, and refuses an append made on a stale view (`expect_last`), so decisions that
depend on the current state ("already down?") can be taken inside the write.

Implementations: `store.sqlite.Store` (one file on this machine, the default); a PostgreSQL store
for team mode implements the same protocol and runs the same contract tests
(`tests/store_contract/`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..domain.errors import UserError
from ..domain.incident import Event
from ..domain.timefmt import format_time


class DamagedEvent(UserError):
    """A stored event that cannot be decoded: its incident (and only that one) is unreadable.

    Raised by every store's `events()` (and `start_event()`), so callers can pass over a damaged
    incident (resuming the next one) whatever the backend."""

    def __init__(self, store: str, incident: str, seq: int, problem: str) -> None:
        self.incident, self.seq, self.problem = incident, seq, problem
        super().__init__(
            f"{store}: incident {incident}, event {seq} cannot be read ({problem}); the other incidents are unaffected"
        )


@dataclass(frozen=True)
class IncidentSummary:
    """One row of `incident list`."""

    id: str
    title: str
    kind: str
    started: datetime | None  # None only when the incident is damaged
    closed: datetime | None
    events: int
    down: tuple[str, ...]
    # Why the incident cannot be opened ("event 7 cannot be read (…)"), or None. A damaged
    # incident is still listed so nobody thinks it vanished; its other fields are best effort.
    damaged: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "started": format_time(self.started) if self.started else None,
            "closed": format_time(self.closed) if self.closed else None,
            "events": self.events,
            "down": list(self.down),
            "damaged": self.damaged,
        }


def fold_down_marks(
    marks: Iterable[tuple[str, int, Callable[[], Event]]],
    damaged: dict[str, tuple[int, str]],
) -> dict[str, dict[str, None]]:
    """What is down in each incident, from its `down`/`up` events in order: (incident, seq,
    decode) each. A mark that cannot be decoded damages its incident (recorded in `damaged`,
    incident → (first bad seq, why)); nothing after an incident's first damaged event is folded.
    Shared by the stores' `summaries`, which read the marks each their own way."""
    down: dict[str, dict[str, None]] = {}
    for incident, seq, decode in marks:
        if incident in damaged and damaged[incident][0] <= seq:
            continue  # nothing after the first damaged event is worth folding
        try:
            event = decode()
        except ValueError as exc:
            damaged[incident] = (seq, str(exc))
            continue
        now = down.setdefault(incident, {})
        for cid in event.data["components"]:
            if event.type == "down":
                now[cid] = None
            else:
                now.pop(cid, None)
    return down


ROLES = ("operator", "read-only")


@dataclass(frozen=True)
class AccessGrant:
    """Who may open the war-room view (`tsbrunbook serve`): a person's name, their role, and
    the SHA-256 (hex) of their token. The token itself is never stored: it is shown once, when
    made, and a stolen store gives no way in."""

    name: str
    role: str  # one of ROLES
    token_sha256: str
    created: datetime

    @property
    def read_only(self) -> bool:
        return self.role == "read-only"


@runtime_checkable
class IncidentStore(Protocol):
    """The incident store interface. Every method raises `UserError` (one line, with a hint) for
    anything the user can act on: an unreachable or refused store, a damaged event."""

    @property
    def location(self) -> str:
        """Where the store is, for messages: a file path, or a URL without its password."""
        ...

    @property
    def schema_version(self) -> int: ...

    def create(
        self,
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> str:
        """A new incident (its `started` event is event 1); its id, unique across processes."""
        ...

    def exists(self, incident: str) -> bool: ...

    def ids(self) -> list[str]:
        """Every incident id, any kind, open or closed."""
        ...

    def summaries(
        self, include_closed: bool = False, kind: str | None = None
    ) -> list[IncidentSummary]:
        """Incidents newest first; a damaged incident is listed with `damaged` set."""
        ...

    def latest_open(self, kind: str = "incident") -> str | None: ...

    def events(self, incident: str, after: int = 0) -> list[Event]:
        """The incident's events with seq > `after`, in order ([] for an unknown incident)."""
        ...

    def start_event(self, incident: str) -> Event | None:
        """Event 1 (`started`: title, kind, the estate …) alone, None for an unknown incident.
        Decodes nothing else, so finding an incident's estate costs one event, not all of them."""
        ...

    def append(
        self,
        incident: str,
        type: str,
        data: dict[str, Any],
        actor: str = "",
        expect_last: int | None = None,
    ) -> Event:
        """Append durably. With `expect_last`, append only if the incident's last seq is still that
        number, else raise `domain.incident.Conflict` and append nothing."""
        ...

    def resume_or_create(
        self,
        wanted: Callable[[dict[str, Any]], bool],
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> tuple[str, bool]:
        """The most recently started open incident of `kind`, undamaged, whose `started` data
        `wanted` accepts; else a new one as `create` makes it. (id, True when created.) One
        decision across processes: several at once on an empty store make one incident."""
        ...

    # -- who may open the war-room view (`tsbrunbook access`, `tsbrunbook serve`) ------------

    def add_access(self, name: str, role: str, token_sha256: str) -> AccessGrant:
        """Record a grant; UserError if `name` already has one (revoke it first)."""
        ...

    def access_grants(self) -> list[AccessGrant]:
        """The grants in force (not revoked), by name."""
        ...

    def revoke_access(self, name: str) -> bool:
        """Revoke `name`'s grant; False if there was none. Revocations are kept (append-only)."""
        ...

    def close(self) -> None: ...
