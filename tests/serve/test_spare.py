"""Warm spares (`tsbrunbook serve --warm N`): the handoff that makes a spare a visitor's session,
the pool that hands each spare to one session at most, and the cold start when a spare cannot
take its session. In-process (pipes, stand-in processes) except one test of the real spare
program, where the process boundary is the point."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import pytest

from tsbrunbook.serve.server import USER_ENV, VisitorApp, app_environment, start_spare
from tsbrunbook.serve.spare import Handoff, become, read_handoff
from tsbrunbook.serve.spares import SparePool, hand_over
from tsbrunbook.serve.visitors import Visitor

BOB = Visitor("Bob O'Neil; rm -rf /", True, "d1")  # a read-only viewer with a shell-ish name
ALICE = Visitor("alice", False, "d2")


def pipe_with(data: bytes, close: bool = True) -> int:
    """The read end of a pipe holding `data` (its write end closed when `close`)."""
    read, write = os.pipe()
    os.write(write, data)
    if close:
        os.close(write)
    return read


def test_a_handoff_is_read_whole_and_not_a_byte_more():
    handoff = Handoff(BOB.name, True, "/srv/estate.yaml", 160, 48)
    after = b'M\x00\x00\x00\x10{"type":"focus"}'  # the browser's input, for the app's own reader
    fd = pipe_with(handoff.encode() + after)
    try:
        assert read_handoff(fd) == handoff
        assert os.read(fd, 1024) == after
    finally:
        os.close(fd)


def test_a_pipe_closed_before_any_handoff_is_no_session():
    fd = pipe_with(b"")
    try:
        assert read_handoff(fd) is None
    finally:
        os.close(fd)


def framed(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


GOOD = b'{"user": "a", "read_only": false, "estate": null, "width": 80, "height": 24}'


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x00\x00", "inside its length"),
        (b"\x00\x00\x00\x00", "a handoff of 0 bytes"),
        (b"\x7f\xff\xff\xff", "at most"),
        (framed(GOOD)[:-3], "ended early"),
        (framed(b"\xff\xfe"), "not JSON"),
        (framed(GOOD.replace(b"}", b', "argv": ["--x"]}')), "exactly the expected fields"),
        (framed(GOOD.replace(b'"read_only": false, ', b"")), "exactly the expected fields"),
        (framed(GOOD.replace(b'"a"', b'"  "')), "names nobody"),
        (framed(GOOD.replace(b'"a"', b"7")), "names nobody"),
        (framed(GOOD.replace(b"false", b'"false"')), "read_only"),
        (framed(GOOD.replace(b"null", b'""')), "estate"),
        (framed(GOOD.replace(b"80", b"true")), "width"),
        (framed(GOOD.replace(b"24", b"0")), "height"),
    ],
)
def test_a_malformed_handoff_is_refused(data, says):
    fd = pipe_with(data)
    try:
        with pytest.raises(ValueError, match=says):
            read_handoff(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("visitor", [BOB, ALICE], ids=["read-only", "operator"])
def test_a_spare_becomes_the_visitor_and_runs_the_cold_command(visitor):
    environ = {USER_ENV: "the-servers-operator", "COLUMNS": "80", "ROWS": "24"}
    cold = VisitorApp(visitor, "/srv/estate.yaml", None, **NO_WEBSOCKET)
    args = become(cold.handoff(120, 40), environ)
    assert cold.argv[1:3] == ["-m", "tsbrunbook"]
    assert args == cold.argv[3:]  # the same program and arguments as a cold start
    assert ("--read-only" in args) is visitor.read_only
    assert environ == {USER_ENV: visitor.name, "COLUMNS": "120", "ROWS": "40"}
    assert visitor.name not in " ".join(args)  # the name is never on a command line


def test_a_spares_environment_names_nobody(monkeypatch):
    monkeypatch.setenv(USER_ENV, "the-servers-operator")
    environment = app_environment(debug=False)
    assert USER_ENV not in environment
    assert environment["TEXTUAL_DRIVER"] == "textual.drivers.web_driver:WebDriver"


class Stdin:
    def __init__(self, broken: bool = False) -> None:
        self.written = b""
        self.broken = broken

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        if self.broken:
            raise ConnectionResetError("Connection lost")


class Spare:
    """A stand-in process: alive until killed or told it has exited."""

    def __init__(self, broken: bool = False) -> None:
        self.returncode: int | None = None
        self.stdin = Stdin(broken)
        self.killed = False

    def kill(self) -> None:
        self.killed = True
        self.returncode = -9

    async def wait(self) -> int:
        return self.returncode if self.returncode is not None else 0


class Starter:
    """Starts stand-in spares; `gate` (when set) holds each start until released."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.started: list[Spare] = []
        self.gate = gate

    async def __call__(self) -> Spare:
        if self.gate is not None:
            await self.gate.wait()
        spare = Spare()
        self.started.append(spare)
        return spare


async def test_each_spare_is_handed_to_one_session_at_most():
    starter = Starter()
    pool = SparePool(2, starter)
    await pool.fill()
    assert pool.ready == 2
    first, second = pool.take(), pool.take()
    assert first is not None and second is not None and first is not second
    assert pool.take() is None  # nothing is handed out twice; the next sessions start cold
    await pool.fill()
    assert len(starter.started) == 4 and pool.ready == 2


async def test_a_spare_that_died_is_skipped():
    starter = Starter()
    pool = SparePool(2, starter)
    await pool.fill()
    starter.started[0].returncode = 1
    assert pool.take() is starter.started[1]
    assert pool.take() is None


async def starting(pool: SparePool, count: int, seconds: float = 5.0) -> None:
    """Let the loop run until `count` spares are being started (a deadline, not a sleep)."""
    deadline = time.monotonic() + seconds
    while pool._starting != count:
        assert time.monotonic() < deadline, f"{count} spare(s) never started"
        await asyncio.sleep(0)


async def test_fills_at_once_start_no_more_than_the_pool_holds():
    gate = asyncio.Event()
    starter = Starter(gate)
    pool = SparePool(1, starter)
    fills = [asyncio.create_task(pool.fill()) for _ in range(3)]
    await starting(pool, 1)  # the first fill waits on its start; the others see it
    gate.set()
    await asyncio.gather(*fills)
    assert len(starter.started) == 1 and pool.ready == 1


async def test_no_spares_when_warm_is_zero_and_none_after_close():
    starter = Starter()
    none = SparePool(0, starter)
    await none.fill()
    assert none.take() is None and starter.started == []
    pool = SparePool(1, starter)
    await pool.fill()
    await pool.close()
    assert starter.started[0].killed
    await pool.fill()
    assert pool.take() is None and len(starter.started) == 1


async def test_a_spare_started_while_closing_is_ended():
    gate = asyncio.Event()
    starter = Starter(gate)
    pool = SparePool(1, starter)
    fill = asyncio.create_task(pool.fill())
    await starting(pool, 1)
    await pool.close()
    gate.set()
    await fill
    assert starter.started[0].killed and pool.take() is None


async def test_the_handoff_goes_over_the_spares_stdin_only_while_it_lives():
    handoff = Handoff("alice", False, None, 80, 24)
    live = Spare()
    assert await hand_over(live, handoff)
    assert live.stdin.written == handoff.encode()
    dead = Spare()
    dead.returncode = 0
    assert not await hand_over(dead, handoff)
    assert dead.stdin.written == b""
    assert not await hand_over(Spare(broken=True), handoff)


NO_WEBSOCKET = dict(write_bytes=None, write_str=None, close=None, download_manager=None)


class ColdStarts:
    """Records cold starts (asyncio.create_subprocess_exec) instead of starting processes."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], dict[str, str]]] = []

    async def __call__(self, *argv: str, env: dict[str, str], **_: object) -> Spare:
        self.calls.append((argv, env))
        return Spare()


@pytest.fixture
def cold_starts(monkeypatch):
    starts = ColdStarts()
    monkeypatch.setattr(asyncio, "create_subprocess_exec", starts)
    return starts


async def test_a_session_takes_a_ready_spare_and_tells_it_who_it_is(cold_starts):
    pool: SparePool[Any] = SparePool(1, Starter())
    await pool.fill()
    app = VisitorApp(BOB, "/srv/estate.yaml", pool, **NO_WEBSOCKET)
    process: Any = await app._open_app_process(100, 30)
    assert app.warm and cold_starts.calls == []
    handed = process.stdin.written
    assert read_handoff(pipe_with(handed)) == Handoff(BOB.name, True, "/srv/estate.yaml", 100, 30)
    other = VisitorApp(ALICE, None, pool, **NO_WEBSOCKET)
    await other._open_app_process(80, 24)  # the pool is empty now: a cold start
    assert not other.warm and len(cold_starts.calls) == 1


async def test_a_spare_that_cannot_take_the_session_gives_way_to_a_cold_start(cold_starts):
    broken = Spare(broken=True)

    async def start_broken() -> Spare:
        return broken

    pool: SparePool[Any] = SparePool(1, start_broken)
    await pool.fill()
    app = VisitorApp(BOB, None, pool, **NO_WEBSOCKET)
    process: Any = await app._open_app_process(100, 30)
    assert not app.warm and process is not broken and broken.killed
    [(argv, env)] = cold_starts.calls
    assert list(argv) == app.argv and argv[-2:] == ("tui", "--read-only")
    assert argv[0] == sys.executable  # the program itself, no shell in between
    assert env[USER_ENV] == BOB.name and env["COLUMNS"] == "100"


async def test_the_first_frame_not_the_first_escape_code_lets_the_next_spare_start():
    async def ignore(_: bytes) -> None:
        return None

    app = VisitorApp(ALICE, None, None, **{**NO_WEBSOCKET, "write_bytes": ignore})
    seen = []
    for payload in (b"\x1b[?1049h", b"\x1b[?25l", b"\x1b[1;1H" + b"x" * 200):
        await app.on_data(payload)
        seen.append(app.first_frame.is_set())
    assert seen == [False, False, True]


@pytest.fixture
def app_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TSBRUNBOOK_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("TSBRUNBOOK_RUNBOOKS", raising=False)
    return tmp_path


@pytest.mark.slow
async def test_the_real_spare_program_draws_the_tui_as_the_visitor(app_home):
    """The spare program itself: started naming nobody, handed a visitor over its stdin, it
    draws the TUI for them (their name on the status line)."""
    spare = await start_spare(debug=False)
    try:
        assert await hand_over(spare, Handoff("operator-zoe", False, None, 160, 48))
        assert spare.stdout is not None and spare.stderr is not None
        seen = b""
        async with asyncio.timeout(60):
            while b"operator-zoe" not in seen:
                chunk = await spare.stdout.read(65536)
                assert chunk, f"the spare ended: {await spare.stderr.read()!r}"
                seen += chunk
        assert seen.startswith(b"__GANGLION__\n")
    finally:
        spare.kill()
        await spare.wait()


@pytest.mark.slow
async def test_the_real_spare_program_keeps_read_only(app_home):
    """Handed a read-only viewer on an empty store, the spare refuses to start an incident,
    as `tsbrunbook tui --read-only` does: the flag went over the handoff and was applied."""
    spare = await start_spare(debug=False)
    assert await hand_over(spare, Handoff("viewer-zoe", True, None, 160, 48))
    assert spare.stderr is not None
    async with asyncio.timeout(60):
        error = await spare.stderr.read()
        assert await spare.wait() == 2
    assert b"a read-only session only watches" in error


async def test_the_browsers_first_resize_to_the_size_the_app_started_at_is_not_passed_on():
    """textual.js opens the socket at its terminal's size and then sends that size again: the
    app, starting, would lay out its screen twice."""
    pool: SparePool[Any] = SparePool(1, Starter())
    await pool.fill()
    app = VisitorApp(ALICE, None, pool, **NO_WEBSOCKET)
    process: Any = await app._open_app_process(120, 40)
    handed = process.stdin.written
    await app.set_terminal_size(120, 40)
    assert process.stdin.written == handed
    await app.set_terminal_size(100, 40)
    await app.set_terminal_size(120, 40)  # back to the first size: a real change now
    sent = process.stdin.written[len(handed) :]
    assert sent.count(b'"type": "resize"') == 2 and b'"width": 100' in sent
