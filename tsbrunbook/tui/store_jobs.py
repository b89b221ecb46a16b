"""The TUI's store calls, one at a time and in the order they were made, off the UI thread.

Every store call of the app (a mark, a step, a note, a timer expiry, an inject, a poll for other
processes' events, switching incidents, an export) is a `Job`. Jobs run in a Textual thread
worker, in order, on a session of their own (the *writer*: the one the UI shows is only ever
changed on the UI thread). When a job is done, a `Finished` message carries the events stored
since then back to the app, which folds them into the session on screen and redraws: the screen
changes only once the event is durable, and another process holding the write lock (up to the
store's busy timeout) leaves the app responsive instead of frozen.

Each job runs in an idempotency scope of its own (`IncidentStore.idempotent(job.key)`): a write
left in doubt by an unreachable store is run again, once it is back, as the same job, and what
its first try had stored is not stored again (see tui/live.py).

Why not `@work(exclusive=True)`: an exclusive worker cancels the one before it, and a thread
worker starts at once; queued writes would be dropped or reordered. One worker drains the queue
and ends when it is empty, so `app.workers.wait_for_complete()` still means "all stored".
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message

from ..domain.errors import UserError
from ..domain.impact import ImpactEngine
from ..domain.incident import Event, IncidentSession

if TYPE_CHECKING:
    from ..store.protocol import IncidentStore

# The kinds of job that record something the user (or a timer, or an inject) did: while one of
# them waits, the header says "saving…". Reads (polls, listings, exports) never do.
WRITES = frozenset({"write", "timers", "inject"})
# The app's own upkeep (reading what changed, presence, trying an unreachable store again): run
# whether or not the store can be reached, never refused, and their failures never toast.
UPKEEP = frozenset({"poll", "presence", "reconnect"})


def not_recorded(exc: Exception) -> str:
    """The toast for a write that failed: the store's own words say nothing was recorded."""
    if isinstance(exc, UserError):
        return str(exc)
    return f"Not recorded — the incident store failed: {exc}"


@dataclass(eq=False)
class Job:
    """One store call. `run` gets the writer session of `incident` in the worker thread and
    decides there, on the freshest state (two presses of space are a down and an up, whatever
    the screen showed in between); `done` gets its result on the UI thread, once the events it
    stored are folded into the session on screen."""

    incident: str
    engine: ImpactEngine
    run: Callable[[IncidentSession], Any] | None = None  # on the writer session of `incident`
    call: Callable[[], Any] | None = None  # or with no session (list, open or start incidents)
    done: Callable[[Any], None] | None = None
    kind: str = "write"
    failed: Callable[[Exception], str] = not_recorded
    since: int = 0  # the last seq the screen had when the job was made
    key: uuid.UUID = field(default_factory=uuid.uuid4)  # its idempotency scope (kept on a retry)


class Finished(Message):
    """A job ran (or failed): the events stored up to then, its result or its error."""

    def __init__(
        self, job: Job, events: list[Event], result: Any = None, error: Exception | None = None
    ) -> None:
        super().__init__()
        self.job = job
        self.events = events
        self.result = result
        self.error = error


@dataclass
class StoreJobs:
    """The queue of store jobs and the one worker that drains it."""

    app: App
    store: IncidentStore
    queued: deque[Job] = field(default_factory=deque)  # not started yet (under `_lock`)
    pending: Counter[str] = field(default_factory=Counter)  # kind → not finished (UI thread)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _draining: bool = False
    _writer: IncidentSession | None = None  # the worker's own session (worker thread only)

    @property
    def idle(self) -> bool:
        """Every job given is finished and its message handled."""
        return not +self.pending

    @property
    def saving(self) -> bool:
        return any(self.pending[kind] for kind in WRITES)

    def submit(self, job: Job) -> None:
        """Queue a job behind the others (UI thread)."""
        self.pending[job.kind] += 1
        with self._lock:
            self.queued.append(job)
            if self._draining:
                return  # the running worker takes it next
            self._draining = True
        self.app.run_worker(self._drain, name="store jobs", group="store", thread=True)

    def finished(self, job: Job) -> None:
        """The job's message was handled (UI thread)."""
        self.pending[job.kind] -= 1

    def _drain(self) -> None:
        """The worker: run the jobs in order until none is left (worker thread)."""
        while True:
            with self._lock:
                if not self.queued:
                    self._draining = False
                    return
                job = self.queued.popleft()
            try:
                message = self._run(job)
            except BaseException:
                with self._lock:
                    self._draining = False  # the worker fails (and with it the app), as before
                raise
            self.app.post_message(message)

    def _run(self, job: Job) -> Finished:
        writer: IncidentSession | None = None
        try:
            with self.store.idempotent(job.key):
                if job.run is None:
                    result = job.call() if job.call is not None else None
                else:
                    writer = self._writer_of(job)
                    result = job.run(writer)
                    writer.refresh()  # what other processes stored meanwhile comes with it
        except (UserError, OSError) as exc:
            return Finished(job, self._since(writer, job.since), error=exc)
        return Finished(job, self._since(writer, job.since), result)

    def _writer_of(self, job: Job) -> IncidentSession:
        writer = self._writer
        if writer is None or writer.id != job.incident or writer.engine is not job.engine:
            writer = self._writer = IncidentSession(self.store, job.incident, job.engine)
        return writer

    @staticmethod
    def _since(writer: IncidentSession | None, seq: int) -> list[Event]:
        """The writer's events after `seq`, oldest first (a copy: the UI folds them)."""
        if writer is None:
            return []
        newer: list[Event] = []
        for event in reversed(writer.state.timeline):
            if event.seq <= seq:
                break
            newer.append(event)
        return newer[::-1]
