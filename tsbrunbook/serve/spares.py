"""The server's warm spares (`tsbrunbook serve --warm N`): app processes started ahead of the
visitors, each handed to one session at most (the spare program is tsbrunbook/serve/spare.py).

`take` removes the spare it returns from the pool before anything awaits, so two sessions
starting at once can never get the same process; a spare that has died is skipped, and a handoff
that cannot be written (it died since) sends the session down the cold path instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from .spare import Handoff

log = logging.getLogger("textual-serve")


class SpareStdin(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...


class SpareProcess(Protocol):
    """What the pool needs of a process (asyncio's `Process`, or a test's stand-in)."""

    @property
    def returncode(self) -> int | None: ...

    @property
    def stdin(self) -> SpareStdin | None: ...

    def kill(self) -> None: ...

    async def wait(self) -> int: ...


P = TypeVar("P", bound=SpareProcess)


class SparePool(Generic[P]):
    """Up to `size` started spares, ready to be handed over."""

    def __init__(self, size: int, start: Callable[[], Awaitable[P]]) -> None:
        self.size = size
        self._start = start
        self._ready: list[P] = []
        self._starting = 0
        self._closed = False

    @property
    def ready(self) -> int:
        return len(self._ready)

    def closed(self) -> bool:
        return self._closed

    def take(self) -> P | None:
        """A live spare, now no longer the pool's; None when none is ready."""
        while self._ready:
            spare = self._ready.pop(0)
            if spare.returncode is None:
                return spare
            log.warning("a warm spare had exited (status %s): not used", spare.returncode)
        return None

    async def fill(self) -> None:
        """Start spares until `size` are ready or starting (a failure to start one is logged;
        sessions then start cold)."""
        while not self._closed and len(self._ready) + self._starting < self.size:
            self._starting += 1
            try:
                spare = await self._start()
            except OSError as exc:
                log.warning("cannot start a warm spare (%s): sessions start cold", exc)
                return
            finally:
                self._starting -= 1
            if self.closed():  # closed while it started: it is not needed
                await _end(spare)
                return
            self._ready.append(spare)

    async def close(self) -> None:
        """End every spare not handed over; start no more."""
        self._closed = True
        spares, self._ready = self._ready, []
        for spare in spares:
            await _end(spare)


async def _end(spare: SpareProcess) -> None:
    with contextlib.suppress(ProcessLookupError):
        spare.kill()
    await spare.wait()


async def hand_over(spare: SpareProcess, handoff: Handoff) -> bool:
    """Write the handoff to the spare's stdin: False if the spare cannot take it (it has died)."""
    if spare.returncode is not None or spare.stdin is None:
        return False
    try:
        spare.stdin.write(handoff.encode())
        await spare.stdin.drain()
    except (ConnectionError, RuntimeError) as exc:
        log.warning("a warm spare could not take its session (%s): starting cold", exc)
        return False
    return spare.returncode is None


async def end_unused(spare: SpareProcess) -> None:
    """End a spare that was taken but could not be handed over."""
    await _end(spare)
