"""Keeping the open incident live: what the others do, who else has it open, and whether the
store can be reached at all.

- **Changes.** A thread worker follows the store's `watch()` (PostgreSQL: LISTEN, so a
  colleague's mark shows within a second; SQLite: polling) and posts a `StoreChanged` for each
  change; the app then reads the new events through the store worker, like every other call.
  The worker ends on its own within `WATCH_TICK_S` of being cancelled (a quit, a restart).
- **Presence.** The app says it has the incident open every HEARTBEAT_S seconds (on the
  injected clock) and reads who else has; the header lists them.
- **Reachability.** When a store call or the watch finds the store unreachable, the app is
  `Link`ed down: the header says so in red, new actions are refused, and it tries again with
  backoff on the injected clock until a read goes through. The write that was in flight when
  the store went is kept and run again once it is back, with the same idempotency keys, so it is
  stored once whether or not its first try had committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import get_current_worker

from ..domain.clock import Clock
from ..domain.errors import UserError
from ..store.protocol import HEARTBEAT_S, Change, Presence

if TYPE_CHECKING:
    from ..store.protocol import IncidentStore
    from .store_jobs import Job

WATCH_TICK_S = 0.2  # how soon the watch worker notices it was cancelled
FIRST_RETRY_S = 1.0  # the first reconnect attempt comes this long after the store was lost
MAX_RETRY_S = 30.0  # backoff doubles up to this


class StoreChanged(Message):
    """The store says something changed (see store.protocol.Change)."""

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change


class WatchEnded(Message):
    """The watch stopped on an error (the store went away): the app is linked down."""

    def __init__(self, error: UserError) -> None:
        super().__init__()
        self.error = error


def follow_store(store: IncidentStore, post: Callable[[Message], object]) -> None:
    """The watch worker's body (in its thread): post each change until cancelled or failed.

    Closing the generator (always, on the way out) releases its connection."""
    worker = get_current_worker()
    changes = store.watch(timeout=WATCH_TICK_S)
    try:
        for change in changes:
            if worker.is_cancelled:
                return
            if change is not None:
                post(StoreChanged(change))
    except UserError as exc:  # StoreUnreachable, or a local file that can no longer be read
        if not worker.is_cancelled:
            post(WatchEnded(exc))
    finally:
        changes.close()


@dataclass
class Link:
    """Whether the store can be reached, and when to try again: FIRST_RETRY_S after it was
    lost, then twice as long after each failed try, up to MAX_RETRY_S (on the injected
    monotonic clock, so tests move it)."""

    clock: Clock
    reachable: bool = True
    delay: float = 0.0
    next_try: float = 0.0
    in_doubt: list[Job] = field(default_factory=list)  # writes to run again once it is back

    def lost(self) -> None:
        """The store could not be reached (again)."""
        self.delay = FIRST_RETRY_S if self.reachable else min(self.delay * 2, MAX_RETRY_S)
        self.reachable = False
        self.next_try = self.clock.monotonic() + self.delay

    def due(self) -> bool:
        """Time to try again."""
        return not self.reachable and self.clock.monotonic() >= self.next_try

    def back(self) -> list[Job]:
        """The store answered: the writes in doubt, to run again (in order)."""
        self.reachable, self.delay = True, 0.0
        jobs, self.in_doubt = self.in_doubt, []
        return jobs

    def retry_in(self) -> int:
        """Whole seconds until the next try (for the toast)."""
        return max(0, round(self.next_try - self.clock.monotonic()))


@dataclass
class Heartbeat:
    """When this app next says it has the incident open: at once, then every HEARTBEAT_S."""

    clock: Clock
    last: float | None = None

    def due(self) -> bool:
        return self.last is None or self.clock.monotonic() - self.last >= HEARTBEAT_S

    def beat(self) -> None:
        self.last = self.clock.monotonic()

    def reset(self) -> None:
        """Beat at the next chance (another incident was opened, the store is back)."""
        self.last = None


def present_names(present: list[Presence], session: str) -> tuple[str, ...]:
    """Who to list in the header: everyone with the incident open (each name once, in order),
    or nobody when this app is alone on it (the header need not say that you are you)."""
    if all(p.session == session for p in present):
        return ()
    return tuple(dict.fromkeys(p.who for p in present))
