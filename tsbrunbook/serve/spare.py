"""A warm spare: the `tsbrunbook` program started before anyone asked for it.

A cold browser session spends most of its wait starting Python and importing Textual and the TUI.
A spare does that ahead of time, with nobody's identity and no store opened, then waits on its
stdin for the one handoff that makes it a session: the visitor's name, read-only or not, the
estate and the terminal size. It then runs exactly what the cold path runs (`python -m tsbrunbook
tui [--estate FILE] [--read-only]`, as `TSBRUNBOOK_USER`), once, and ends with that session.

The handoff travels over the spare's stdin (a pipe only the server holds), never its argv, which
every local user can read in /proc. It is a 4-byte big-endian length and that many bytes of JSON,
read with os.read so that not one byte of what follows (the browser's input, for the app's input
thread) is taken from the pipe.

Run as `python -m tsbrunbook.serve.spare` by the war-room server (tsbrunbook/serve/server.py).
The spare imports the program's own modules by name and runs it with runpy, the way `python -m`
does: it is the whole program started early, above the layers, not serve code calling the TUI.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass

from ..domain.author import USER_ENV

SPARE_MODULE = "tsbrunbook.serve.spare"
# What the cold path imports before its first frame, the visitor-independent part: Textual with
# textual-serve's driver, the command line, the service layer and the TUI's screens.
PRELOAD = (
    "textual.drivers.web_driver",
    "tsbrunbook.entry",
    "tsbrunbook.cli",
    "tsbrunbook.workspace",
    "tsbrunbook.tui.app",
    "textual.pilot",
    "textual.layouts.factory",
    "textual.layouts.horizontal",
    "concurrent.futures.thread",  # asyncio.to_thread's pool: the store's worker
    "_strptime",
)
MAX_HANDOFF = 16 * 1024  # bytes: a name, a path and four small values
LENGTH_BYTES = 4


@dataclass(frozen=True)
class Handoff:
    """Who a spare becomes: the visitor and the app they get."""

    user: str  # TSBRUNBOOK_USER of the session: the author of everything it records
    read_only: bool
    estate: str | None  # the server's --estate (an absolute path), or None for the default
    width: int
    height: int

    def encode(self) -> bytes:
        payload = json.dumps(asdict(self), ensure_ascii=True).encode("ascii")
        return len(payload).to_bytes(LENGTH_BYTES, "big") + payload

    @classmethod
    def decode(cls, payload: bytes) -> Handoff:
        """The handoff in `payload` (ValueError, saying what is wrong, for anything else)."""
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"the handoff is not JSON ({exc})") from None
        if not isinstance(data, dict) or set(data) != {f for f in cls.__dataclass_fields__}:
            raise ValueError("the handoff does not have exactly the expected fields")
        user, read_only, estate = data["user"], data["read_only"], data["estate"]
        if not isinstance(user, str) or not user.strip():
            raise ValueError("the handoff names nobody")
        if not isinstance(read_only, bool):
            raise ValueError("the handoff's read_only is not true or false")
        if estate is not None and (not isinstance(estate, str) or not estate):
            raise ValueError("the handoff's estate is not a path")
        for name in ("width", "height"):
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10_000:
                raise ValueError(f"the handoff's {name} is not a terminal size")
        return cls(user, read_only, estate, data["width"], data["height"])

    def tui_args(self) -> list[str]:
        return tui_args(self.estate, self.read_only)


def tui_args(estate: str | None, read_only: bool) -> list[str]:
    """The `tsbrunbook` arguments of a browser session's app: one list for the cold start and
    the spare, so both run the same app and neither can drop `--read-only`."""
    args = ["tui"]
    if estate:
        args += ["--estate", estate]
    if read_only:
        args.append("--read-only")
    return args


def _read_exactly(fd: int, size: int) -> bytes:
    """`size` bytes from `fd`, or fewer if it ends first (only ever what was asked for)."""
    chunks: list[bytes] = []
    wanted = size
    while wanted:
        chunk = os.read(fd, wanted)
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def read_handoff(fd: int) -> Handoff | None:
    """The handoff from `fd`; None if it ends before one starts (the server retired the spare
    or went away); ValueError for a truncated, oversized or malformed one."""
    header = _read_exactly(fd, LENGTH_BYTES)
    if not header:
        return None
    if len(header) < LENGTH_BYTES:
        raise ValueError("the handoff ended inside its length")
    size = int.from_bytes(header, "big")
    if not 0 < size <= MAX_HANDOFF:
        raise ValueError(f"a handoff of {size} bytes (at most {MAX_HANDOFF})")
    payload = _read_exactly(fd, size)
    if len(payload) < size:
        raise ValueError("the handoff ended early")
    return Handoff.decode(payload)


def become(handoff: Handoff, environ: MutableMapping[str, str]) -> list[str]:
    """Make this process the visitor's session: their name and terminal size in `environ`; the
    program's arguments (after `tsbrunbook`) returned."""
    environ[USER_ENV] = handoff.user
    environ["COLUMNS"] = str(handoff.width)  # textual-serve's WebDriver reads its size here
    environ["ROWS"] = str(handoff.height)
    return handoff.tui_args()


def warm_up() -> None:
    """Do now, for nobody in particular, what the app's start would do first."""
    for module in PRELOAD:
        importlib.import_module(module)
    # The parser imports every command's module: visitor-independent, and tens of ms at start.
    importlib.import_module("tsbrunbook.cli").build_parser()


def main() -> int:
    """Warm up, wait for the handoff, then run the session (never returns after a handoff)."""
    warm_up()
    try:
        handoff = read_handoff(sys.stdin.fileno())
    except ValueError as exc:
        sys.stderr.write(f"tsbrunbook: error: spare refused its handoff: {exc}\n")
        return 2
    if handoff is None:
        return 0
    sys.argv = ["tsbrunbook", *become(handoff, os.environ)]
    runpy.run_module("tsbrunbook", run_name="__main__", alter_sys=True)
    return 0  # tsbrunbook's __main__ ends with SystemExit: not reached


if __name__ == "__main__":
    raise SystemExit(main())
