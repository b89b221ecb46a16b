"""The hostile-input harness: run the real CLI under a time and memory bound, then judge it.

Every entry of the hostile corpus (the `test_*.py` files beside this one) ends in one of two
verdicts:
- `refused(result, *names)`: exit 2, exactly one line on stderr that starts with `tsbrunbook`,
  names the file/line or id (each of `names` appears in it), carries no control character and no
  traceback;
- `accepted(result)`: exit 0, no traceback — the input was legal and is handled as such.
Both also check the bounds: the process finished within `SECONDS` and its peak resident memory
stayed under `MEMORY_MB`. The deadline is a bound, not a synchronisation: nothing waits for it
unless the process hangs.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tests.zygote import Exit, Zygote, ZygoteDied

SECONDS = 30.0  # generous under a loaded 2-core CI machine; a hang is minutes, not seconds
MEMORY_MB = 400  # peak RSS a bounded read may reach
ADDRESS_SPACE_MB = 2048  # hard guard so a runaway cannot take the machine down


@dataclass
class Bounded:
    rc: int
    out: str
    err: str
    seconds: float
    peak_mb: float
    killed: bool
    forked: bool  # run by a fork of the zygote (False: a fresh interpreter)

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return f"rc={self.rc} {self.seconds:.1f}s {self.peak_mb:.0f}MB killed={self.killed} forked={self.forked}\nstdout: {self.out[:2000]!r}\nstderr: {self.err[:2000]!r}"


_ZYGOTES: dict[int, Zygote] = {}  # by the pid of the test process that started it
_ZYGOTE_LOCK = threading.Lock()


def this_process_zygote() -> Zygote:
    """This test process's zygote, started on first use and again if it died."""
    with _ZYGOTE_LOCK:
        current = _ZYGOTES.get(os.getpid())
        if current is not None and current.alive():
            return current
        if current is not None:
            current.close()  # reaps the dead one
        else:
            atexit.register(_close_zygote)
        current = _ZYGOTES[os.getpid()] = Zygote(dict(os.environ))
        return current


def _close_zygote() -> None:
    zygote = _ZYGOTES.pop(os.getpid(), None)  # a forked test process leaves its parent's alone
    if zygote is not None:
        zygote.close()


def run_bounded(
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    seconds: float = SECONDS,
    module: str = "tsbrunbook",
    fresh: bool | None = None,
    zygote: Callable[[], Zygote] = this_process_zygote,
) -> Bounded:
    """Run `python -m tsbrunbook ARGS` and measure this one child's wall time and peak RSS.

    The child is started by this test process's zygote (tests/zygote.py): forked from an
    interpreter that has imported the command line, or a fresh interpreter exec'd from it when
    `fresh` is true, when `env` changes how the interpreter starts (PYTHON*, LANG, LC_*), or, by
    default, when TSBRUNBOOK_TEST_SPAWN=1. Either way it is a process of its own, bounded by
    `seconds` and ADDRESS_SPACE_MB. The harness's own tests run another `module`, and a zygote
    of their own."""
    if fresh is None:
        fresh = os.environ.get("TSBRUNBOOK_TEST_SPAWN") == "1"
    child_env = {**os.environ, **(env or {})}
    argv = [os.fsdecode(arg) for arg in args]  # bytes as the child's argv decodes them
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:

        def attempt() -> Exit:
            if stdin is not None:
                reader, writer = os.pipe()
            else:
                reader, writer = os.open(os.devnull, os.O_RDONLY), None
            try:
                return zygote().run(
                    module,
                    argv,
                    env=child_env,
                    cwd=os.path.abspath(cwd if cwd is not None else os.getcwd()),
                    stdin=reader,
                    stdout=out.fileno(),
                    stderr=err.fileno(),
                    seconds=seconds,
                    address_space=ADDRESS_SPACE_MB * 1024 * 1024,
                    exec_only=fresh,
                    write_stdin=stdin,
                    stdin_writer=writer,
                )
            except ZygoteDied as died:
                if writer is not None and not died.started:
                    os.close(writer)
                raise

        try:
            ended = attempt()
        except ZygoteDied as died:
            if died.started:
                raise
            ended = attempt()  # it died between runs: this_process_zygote starts another
        out.seek(0)
        err.seek(0)
        return Bounded(
            rc=ended.rc,
            out=out.read().decode("utf-8", "replace"),
            err=err.read().decode("utf-8", "replace"),
            seconds=ended.seconds,
            peak_mb=ended.peak_kb / 1024,  # Linux reports KiB
            killed=ended.killed,
            forked=ended.forked,
        )


def _bounded(result: Bounded) -> None:
    assert not result.killed, f"still running after {SECONDS}s\n{result}"
    assert result.peak_mb < MEMORY_MB, (
        f"peak RSS {result.peak_mb:.0f} MB ≥ {MEMORY_MB} MB\n{result}"
    )
    assert "Traceback" not in result.err, str(result)


def _clean(text: str) -> bool:
    return not any((ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) < 0xA0 for ch in text)


def refused(result: Bounded, *names: str) -> str:
    """Exit 2 with one clean line naming each of `names`; the line."""
    _bounded(result)
    assert result.rc == 2, str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, str(result)
    line = lines[0]
    assert line.startswith("tsbrunbook"), str(result)
    assert _clean(line), f"control character in {line!r}"
    for name in names:
        assert name in line, f"{name!r} not in {line!r}"
    return line


def accepted(result: Bounded) -> Bounded:
    """Exit 0 within the bounds, nothing on stdout or stderr that could drive the terminal."""
    _bounded(result)
    assert result.rc == 0, str(result)
    assert _clean(result.out.replace("\r", "")), "control character on stdout"
    return result
