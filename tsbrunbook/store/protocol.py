"""What every incident store provides: the interface the workspace, CLI and TUI are written against.

An incident is an append-only list of events numbered 1, 2, 3 … per incident. A store keeps them
durably (an append that returned is never lost), lets several processes append at once without
gaps or duplicates, and refuses an append made on a stale view (`expect_last`), so decisions that
depend on the current state ("already down?") can be taken inside the write.

Besides the events, a store keeps who has an incident open (*presence*: heartbeats that expire)
and tells a reader when an incident may have new events (`watch`): PostgreSQL as the server
NOTIFYs, SQLite by polling. A write retried after its answer was lost is stored once
(`idempotent`).

Implementations: `store.sqlite.Store` (one file on this machine, the default); a PostgreSQL store
for team mode implements the same protocol and runs the same contract tests
(`tests/store_contract/`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
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


class StoreUnreachable(UserError):
    """The store cannot be reached (a server down, restarting, or across a broken network).

    Whether the last write was recorded may be unknown: retried inside the same `idempotent`
    scope once the store is back, it is stored exactly once."""


# Presence: a reader that has an incident open says so every HEARTBEAT_S seconds; one not heard
# from for PRESENT_FOR_S is gone (three beats missed: a busy laptop is not taken for a departure).
HEARTBEAT_S = 10.0
PRESENT_FOR_S = 30.0


@dataclass(frozen=True)
class Presence:
    """Someone with the incident open: who, in which session (one per open app), seen when."""

    who: str
    session: str
    seen: datetime


@dataclass(frozen=True)
class Change:
    """What `watch` reports: `incident` may have events after `seq`. `incident` None: anything
    may have changed (the watch has just started, or restarted, and cannot know what it
    missed): read again. `presence`: who has `incident` open changed, not its events."""

    incident: str | None
    seq: int = 0
    presence: bool = False


def present_since(now: datetime) -> datetime:
    """The oldest heartbeat that still counts as present at `now`."""
    return now - timedelta(seconds=PRESENT_FOR_S)


class IdempotencyKeys:
    """The idempotency keys of one store's writes, per thread.

    Outside a scope every write gets a fresh random key. Inside `scope(key)` the n-th write
    *that went through* gets uuid5(key, n): running the same work again in a scope with the same
    key (after its answer was lost) asks for the same keys in the same order, so the store finds
    the writes that did commit and returns them instead of storing them again. A write refused
    (a Conflict, a closed incident) does not use up its key: the next one asks for it again."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def scope(self, key: uuid.UUID) -> Iterator[None]:
        outer = getattr(self._local, "scope", None)
        self._local.scope = [key, 0]
        try:
            yield
        finally:
            self._local.scope = outer

    def next(self) -> uuid.UUID:
        """The key for the next write (not used up until `used()`)."""
        scope = getattr(self._local, "scope", None)
        return uuid.uuid4() if scope is None else uuid.uuid5(scope[0], str(scope[1]))

    def used(self) -> None:
        """The write with the key `next()` gave went through (stored now or before)."""
        scope = getattr(self._local, "scope", None)
        if scope is not None:
            scope[1] += 1


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

    def idempotent(self, key: uuid.UUID) -> AbstractContextManager[None]:
        """Writes this thread makes inside carry idempotency keys made from `key` (see
        IdempotencyKeys): the same work run again with the same key, after a StoreUnreachable
        left it in doubt, stores what had not been stored and nothing twice."""
        ...

    # -- presence ----------------------------------------------------------------------------

    def heartbeat(self, incident: str, who: str, session: str, at: datetime) -> None:
        """`who` has `incident` open in `session` (one per open app), as of `at`."""
        ...

    def leave(self, incident: str, session: str) -> None:
        """`session` closed `incident`: it is no longer present (before its heartbeat expires)."""
        ...

    def present(self, incident: str, now: datetime) -> list[Presence]:
        """Sessions heard from within PRESENT_FOR_S of `now`, by who then session."""
        ...

    # -- live updates ------------------------------------------------------------------------

    def watch(self, timeout: float = 1.0) -> Generator[Change | None, None, None]:
        """Changes to any incident as other writers (and this one) make them, for a reader
        thread. First a Change(None) once watching (read again: what came before is not
        reported), then a Change per change, and None after each `timeout` seconds without one
        so the caller can check whether to stop. Closing the generator releases what it holds.
        A store that cannot tell raises StoreUnreachable; the caller watches again later."""
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
