"""A stand-in command for the harness's own tests: `python -m tests.hostile.harness_probe WHAT`.

`state` prints, as JSON, what a process inherits and what the interpreter sets up before the
first line of a module runs; the other verbs end the process in each of the ways the interpreter
handles (an exception, SystemExit of each kind, a thread still running, atexit, an unflushed
write, Ctrl+C), or use what the harness bounds (time, memory)."""

from __future__ import annotations

import atexit
import json
import os
import resource
import signal
import sys
import threading
import time
from typing import Any


def _stream(stream: Any) -> dict[str, object]:
    buffer = getattr(stream, "buffer", None)
    return {
        "name": stream.name,
        "mode": stream.mode,
        "encoding": stream.encoding,
        "errors": stream.errors,
        "line_buffering": stream.line_buffering,
        "write_through": stream.write_through,
        "newlines": stream.newlines,
        "buffer": type(buffer).__name__,
        "raw_name": getattr(getattr(buffer, "raw", buffer), "name", None),
        "fileno": stream.fileno(),
        "isatty": stream.isatty(),
        "dunder": stream is getattr(sys, f"__{stream.name.strip('<>')}__"),
    }


def state() -> dict[str, object]:
    main = sys.modules["__main__"]
    cli = sys.modules.get("tsbrunbook.cli")
    return {
        "argv": sys.argv,
        "orig_argv": sys.orig_argv,
        "path0": sys.path[0],
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "umask": os.umask(0o022),
        "address_space": resource.getrlimit(resource.RLIMIT_AS),
        "stdio": [_stream(s) for s in (sys.stdin, sys.stdout, sys.stderr)],
        "open_fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "main": {
            "name": main.__name__,
            "file": main.__file__,
            "spec": main.__spec__.name if main.__spec__ else None,
            "package": main.__package__,
            "names": sorted(vars(main)),
        },
        "flags": list(sys.flags),
        "time_zone": [time.tzname, time.timezone],
        "signals": {
            sig.name: repr(signal.getsignal(sig))
            for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGTERM, signal.SIGCHLD)
        },
        "threads": threading.active_count(),
        # A forked child starts with nothing computed: the parser cache is empty.
        "parser_cache": cli.build_parser.cache_info().currsize if cli else None,
    }


def main(what: str, *rest: str) -> int | None:
    if what == "state":
        print(json.dumps(state()))
    elif what == "crash":
        raise RuntimeError("boom")
    elif what == "exit":
        given = rest[0]
        raise SystemExit(None if given == "none" else int(given) if given.isdigit() else given)
    elif what == "interrupt":
        raise KeyboardInterrupt
    elif what == "thread":
        threading.Thread(target=lambda: print("the thread ran to its end")).start()
    elif what == "atexit":
        atexit.register(print, "atexit ran")
    elif what == "unflushed":
        sys.stdout.buffer.write(b"no newline, never flushed")
    elif what == "hang":
        signal.pause()
    elif what == "allocate":
        block = bytearray(int(rest[0]) * 1024 * 1024)
        for at in range(0, len(block), 4096):
            block[at] = 1
    elif what == "mutate":
        os.environ["LEFT_BEHIND"] = "1"
        os.chdir("/")
        sys.path.insert(0, "/left/behind")
    else:
        raise SystemExit(f"unknown probe {what!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
