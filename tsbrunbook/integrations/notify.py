"""Delivery of incident updates to chat: short messages POSTed to a Slack / Mattermost incoming
webhook. What is posted, and its words, is domain.chat's; this is the I/O.

- **Never blocks, never loses the event.** `Notifier.submit()` only builds strings (through
  domain.chat) and appends them to a queue; one background thread POSTs `{"text": …}` with a
  total deadline per request and retries with exponential backoff (bounded attempts, capped
  delay, `Retry-After` honoured). A stall is never silent: the status line says what the last
  attempt got and when the next one is due, or how long the current one has waited. The event
  itself is already durable in the store before any message exists; a message that still fails
  after its last attempt is counted in `failed` and the error stays in `last_error`.
- **Cursor, in memory.** On `start()` the notifier takes the incident's last event as its
  cursor: nothing older is sent (a TUI reopened tomorrow does not replay yesterday's updates).
  Events appended later — by this process or another one the TUI polls — are sent once each.
  Messages still queued when the process exits are not persisted; the incident record is.
- **The URL is a secret.** It is read from the keyring for each attempt, never stored, logged or
  shown: errors are built from the kind of failure and masked (see integrations.http).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain.chat import MessageBuilder, slack_text
from ..domain.errors import UserError
from ..domain.impact import ImpactEngine
from ..domain.incident import Event, IncidentState
from ..domain.timefmt import seconds
from .http import HttpFailure, mask, request

STALL_AFTER = 2.0  # seconds an attempt may go unanswered before the status line says so


@dataclass(frozen=True)
class NotifierStatus:
    """What the TUI shows in its status line."""

    enabled: bool  # chat updates on for this incident (as of the last submit)
    pending: int  # queued or being retried
    delivered: int
    failed: int  # given up on (after the last attempt, or a permanent error)
    last_error: str  # "" once a message got through; never contains the URL
    last_delivered: datetime | None
    attempts_made: int = 0  # failed attempts on the head message so far
    max_attempts: int = 0
    last_failure: str = ""  # what the last failed attempt got, e.g. "timed out after 10 s"
    retry_in: float | None = None  # seconds until the next attempt (waiting to retry)
    in_flight_for: float | None = None  # seconds the current attempt has been waiting
    timeout: float = 0.0  # each attempt's deadline

    @property
    def line(self) -> str:
        """`chat: 3 pending — last attempt timed out after 10 s; retrying in 20 s (2 of 5 attempts
        made)`, `chat: 1 pending — attempt 1 of 5: no answer for 7 s yet (deadline 10 s)`,
        `chat: 2 failed — webhook: HTTP 500 (gave up after 3 attempts)` — or "" when updates are
        off and nothing happened. A stall is always said: never a silent "pending"."""
        if not self.enabled and not (self.pending or self.delivered or self.failed):
            return ""
        parts = (
            [f"{self.delivered} sent"]
            if self.delivered or not (self.pending or self.failed)
            else []
        )
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.failed:
            parts.append(f"{self.failed} failed")
        text = "chat: " + ", ".join(parts) + ("" if self.enabled else " (updates off)")
        if self.in_flight_for is not None:
            if self.in_flight_for >= STALL_AFTER:
                attempt = f"attempt {self.attempts_made + 1} of {self.max_attempts}"
                return (
                    text
                    + f" — {attempt}: no answer for {seconds(self.in_flight_for)} s yet (deadline {seconds(self.timeout)} s)"
                )
            return text
        if self.retry_in is not None:
            what = (
                self.last_failure
                if self.last_failure.startswith("timed out")
                else f"failed: {self.last_failure}"
            )
            made = f"{self.attempts_made} of {self.max_attempts} attempts made"
            return text + f" — last attempt {what}; retrying in {seconds(self.retry_in)} s ({made})"
        return text + (f" — {self.last_error}" if self.last_error else "")


def webhook_url_from_keyring() -> str | None:
    from .secrets import WEBHOOK_URL, get_secret

    return get_secret(WEBHOOK_URL)


def post_text(url: str, text: str, timeout: float) -> None:
    """POST `{"text": …}` to the webhook; HttpFailure (safe message) on any failure."""
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    request("POST", url, body=body, headers={"Content-Type": "application/json"}, timeout=timeout)


class Notifier:
    """Posts an incident's status changes to the chat webhook from a background thread.

    Use from the UI thread: `start(state)` once, then `submit(state)` after every action and
    every poll that brought new events; `status` any time; `close()` on exit. The TUI reads
    `status` on its timer.

    Each POST has a total deadline (`timeout`: connect, TLS, headers and body). A failed attempt
    is retried after `backoff`, doubling each time up to `max_backoff` (or what Retry-After says,
    within the cap); `status` says what the last attempt got and when the next one is due, and
    an attempt that waits longer than STALL_AFTER seconds is shown while it waits. `clock` (a
    monotonic clock), `sleep` (the wait between attempts, returning early only if it likes) and
    `post` are injectable so that tests need no real waiting; by default the wait ends early
    on `close()`.
    """

    def __init__(
        self,
        engine: ImpactEngine,
        incident_id: str,
        *,
        url: Callable[[], str | None] = webhook_url_from_keyring,
        timeout: float = 5.0,
        max_attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        post: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self._builder = MessageBuilder(engine, incident_id)
        self._url = url
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._cursor = 0
        self._queue: deque[tuple[int, str]] = deque()
        self._cond = threading.Condition()
        self._stop = False
        self._busy = False
        self._delivered = 0
        self._failed = 0
        self._last_error = ""
        self._last_delivered: datetime | None = None
        self._attempt = 0  # failed attempts on the head message (written under the lock)
        self._last_failure = ""
        self._in_flight_since: float | None = None  # clock() when the current attempt began
        self._retry_at: float | None = None  # clock() when the next attempt is due
        self._clock = clock
        self._sleep = sleep
        self._post = post or post_text
        self._thread: threading.Thread | None = None

    # -- the caller's side (UI thread) -------------------------------------------------------

    def start(self, state: IncidentState) -> None:
        """Take the incident as it is now: nothing up to its last event will be sent."""
        if self._thread is not None:
            raise RuntimeError("Notifier already started")
        for event in state.timeline:
            self._builder.apply(event)
        self._cursor = state.last_seq
        self._thread = threading.Thread(
            target=self._run, name=f"tsbrunbook-notify-{state.id}", daemon=True
        )
        self._thread.start()

    def submit(self, state: IncidentState) -> int:
        """Queue the messages for events after the cursor; returns how many. Never blocks on I/O."""
        if self._thread is None:
            raise RuntimeError("Notifier.start() first")
        new = self._new_messages(state.timeline)
        if new:
            with self._cond:
                self._queue.extend(new)
                self._cond.notify()
        return len(new)

    def _new_messages(self, events: Iterable[Event]) -> list[tuple[int, str]]:
        out = []
        for event in events:
            if event.seq <= self._cursor:
                continue
            self._cursor = event.seq
            text = self._builder.apply(event)
            if text is not None:
                out.append((event.seq, slack_text(text)))
        return out

    @property
    def enabled(self) -> bool:
        return self._builder.enabled

    @property
    def status(self) -> NotifierStatus:
        now = self._clock()
        with self._cond:
            return NotifierStatus(
                self._builder.enabled,
                len(self._queue),
                self._delivered,
                self._failed,
                self._last_error,
                self._last_delivered,
                attempts_made=self._attempt,
                max_attempts=self.max_attempts,
                last_failure=self._last_failure,
                retry_in=None if self._retry_at is None else max(0.0, self._retry_at - now),
                in_flight_for=None
                if self._in_flight_since is None
                else max(0.0, now - self._in_flight_since),
                timeout=self.timeout,
            )

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight (for tests and a graceful exit)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Give queued messages up to `timeout` seconds to go out, then stop the worker."""
        if self._thread is None:
            return
        self.wait_idle(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(0.2)  # a POST in flight ends by its own timeout; the thread is a daemon

    # -- the worker -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stop)
                if self._stop:
                    return
                _, text = self._queue[0]
                self._busy = True
                self._retry_at = None
                self._in_flight_since = self._clock()
            delay = self._deliver(text)
            with self._cond:
                self._busy = False
                self._cond.notify_all()
            if delay and self._wait(delay):
                return

    def _wait(self, delay: float) -> bool:
        """Wait `delay` seconds before the next attempt; True if the notifier was closed."""
        if self._sleep is not None:
            self._sleep(delay)
            with self._cond:
                return self._stop
        with self._cond:
            return self._cond.wait_for(lambda: self._stop, delay)

    def _deliver(self, text: str) -> float:
        """Try the head message once per call; returns the delay before the next try (0: go on)."""
        attempt = self._attempt + 1
        url = None
        try:
            url = self._url()
            if not url:
                raise UserError("no webhook URL", "run `tsbrunbook secret set webhook-url`")
            self._post(url, text, self.timeout)
        except HttpFailure as exc:
            message, permanent, retry_after = exc.message, exc.permanent, exc.retry_after
        except UserError as exc:  # no URL, no usable keyring: retrying cannot help
            message, permanent, retry_after = str(exc), True, None
        except Exception as exc:  # noqa: BLE001 — the worker must survive anything
            message, permanent, retry_after = (
                f"webhook call failed ({type(exc).__name__})",
                False,
                None,
            )
        else:
            with self._cond:
                self._queue.popleft()
                self._delivered += 1
                self._last_error = self._last_failure = ""
                self._last_delivered = datetime.now(UTC)
                self._attempt = 0
                self._in_flight_since = None
            return 0.0
        message = mask(message, url)
        if permanent or attempt >= self.max_attempts:
            with self._cond:
                self._queue.popleft()
                self._failed += 1
                self._last_error = f"webhook: {message} (gave up after {attempt} attempt{'s' if attempt > 1 else ''})"
                self._last_failure = ""
                self._attempt = 0
                self._in_flight_since = None
            return 0.0
        delay = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        if retry_after is not None:
            delay = min(self.max_backoff, max(delay, retry_after))
        with self._cond:
            self._last_error = f"webhook: {message} (attempt {attempt} of {self.max_attempts})"
            self._last_failure = message
            self._attempt = attempt
            self._in_flight_since = None
            self._retry_at = self._clock() + delay
        return delay
