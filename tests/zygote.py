"""A fork server ("zygote") that starts `python -m tsbrunbook` processes without paying for an
interpreter start-up and tsbrunbook's imports each time.

Most of a hostile-corpus case's cost is not the command: it is starting Python and importing
tsbrunbook, yaml and the standard library (~0.15 CPU-s of ~0.2). The zygote is one small,
single-threaded helper process per test process: it imports the command line once (and calls
nothing, so no cache is warm) and then, for each request, forks a child that becomes
`python -m MODULE ARGS` — a real process with its own pid, file descriptors, environment,
working directory, address-space limit, exit status and peak RSS. The child applies what a fresh
interpreter would have from its parent (the environment wholly replaced, cwd, umask, RLIMIT_AS,
stdin/stdout/stderr rebuilt on the passed descriptors the way the interpreter builds them,
`sys.argv`, `sys.path[0]`, a fresh `__main__`) and then runs the module through
`runpy._run_module_as_main`, exactly as `-m` does, at the zygote script's top level: an uncaught
exception, `SystemExit`, non-daemon threads, atexit handlers and the final flush are then handled
by the interpreter itself, as in a process of its own.

What the fork cannot copy is what the interpreter decides before running any code: its command-
line flags and the environment it reads at start-up (`PYTHON*`, the locale). A request whose
start-up environment differs from the zygote's is run by `execve` of a real
`python -m MODULE` instead (`exec_only`), as is every request when TSBRUNBOOK_TEST_SPAWN=1.
Either way the zygote waits for the child (`wait4`: its own rusage) and ends it at the deadline.

Known differences from a fresh interpreter, none visible to the corpus: the hash seed is the
zygote's (shared by its children), a traceback has one more frame (this script's `<module>`),
and `sys.modules` holds the pre-imported modules before the command asks for them.

The client side (`Zygote`) lives in the test process; the server side is this file run as a
script (not as `tests.zygote`: the children must not have the `tests` package imported).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Variables the interpreter reads before it runs any code (flags, paths, stdio, locale). A
# request that sets any of them differently from the zygote is exec'd, not forked.
STARTUP_PREFIXES = ("PYTHON", "LC_")
STARTUP_NAMES = frozenset({"LANG"})
# ... except these, read by libraries when they are used, like any other variable.
RUNTIME_NAMES = frozenset({"PYTHON_KEYRING_BACKEND"})

# The modules every command imports: the command line, the workspace and what they pull in.
PREIMPORT = ("tsbrunbook.entry", "tsbrunbook.cli", "tsbrunbook.workspace", "yaml", "rich.cells")

_LENGTH = struct.Struct("!I")


def startup_environment(env: dict[str, str]) -> dict[str, str]:
    """The part of `env` that the interpreter itself reads at start-up."""
    return {
        name: value
        for name, value in env.items()
        if (name.startswith(STARTUP_PREFIXES) or name in STARTUP_NAMES)
        and name not in RUNTIME_NAMES
    }


# --------------------------------------------------------------------------- client side


@dataclass(frozen=True)
class Exit:
    """How one child ended."""

    rc: int  # as Popen.returncode: the exit status, or -N when signal N ended it
    seconds: float  # from fork to exit
    peak_kb: int  # the child's own peak resident set (wait4's ru_maxrss, KiB)
    killed: bool  # the deadline ended it
    cpu_seconds: float  # its own user + system time (wait4)
    forked: bool  # run in the forked interpreter (False: a fresh exec'd one)


class ZygoteDied(RuntimeError):
    """The zygote went away; `started` says whether the child had been started by then."""

    def __init__(self, message: str, *, started: bool) -> None:
        super().__init__(message)
        self.started = started


def _send(conn: socket.socket, obj: object) -> None:
    data = json.dumps(obj).encode()
    conn.sendall(_LENGTH.pack(len(data)) + data)


def _receive(conn: socket.socket) -> Any:
    """The next message on `conn`; None at end of file."""
    head = _read_exactly(conn, _LENGTH.size)
    if head is None:
        return None
    data = _read_exactly(conn, _LENGTH.unpack(head)[0])
    return None if data is None else json.loads(data)


def _read_exactly(conn: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = conn.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _umask() -> int:
    """This process's umask, read without changing it (os.umask would, for every thread)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise RuntimeError("no Umask in /proc/self/status")


class Zygote:
    """The client's handle on one zygote process; `run` may be called from several threads (each
    request is one message on the control socket, with a connection of its own for the answer)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.startup_env = startup_environment(env)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, __file__, str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                cwd=Path(__file__).resolve().parent.parent,
                pass_fds=[theirs.fileno()],
            )
        self.control = ours
        ours.settimeout(120)  # a bound for the imports on a loaded machine, not a wait
        hello = ours.recv(4096)  # sent once the imports are done (or the zygote died: b"")
        ours.settimeout(None)
        if not hello:
            self.process.wait()
            raise ZygoteDied(
                f"the zygote exited with {self.process.returncode} on start-up", started=False
            )
        self.can_fork = json.loads(hello)["fork"]

    @property
    def pid(self) -> int:
        return self.process.pid

    def forks(self, env: dict[str, str]) -> bool:
        """True when a child with `env` can be forked rather than exec'd."""
        return self.can_fork and startup_environment(env) == self.startup_env

    def run(
        self,
        module: str,
        args: list[str],
        *,
        env: dict[str, str],
        cwd: str,
        stdin: int,
        stdout: int,
        stderr: int,
        seconds: float,
        address_space: int | None,
        exec_only: bool,
        write_stdin: bytes | None = None,
        stdin_writer: int | None = None,
    ) -> Exit:
        """Run `python -m MODULE ARGS` as a child of the zygote; how it ended.

        `stdin` is taken over (closed here once the zygote holds it). When `stdin_writer` is
        given, `write_stdin` is written to it once the child exists, then it is closed: the other
        end of a pipe that is the child's stdin (a child that does not read it all breaks it)."""
        request = {
            "module": module,
            "args": args,
            "env": env,
            "cwd": cwd,
            "umask": _umask(),
            "seconds": seconds,
            "address_space": address_space,
            "exec": exec_only or not self.forks(env),
            "executable": sys.executable,
        }
        ours, theirs = socket.socketpair()
        with ours:
            with theirs:
                fds = [theirs.fileno(), stdin, stdout, stderr]
                try:
                    socket.send_fds(self.control, [b"run"], fds)
                except OSError as error:  # EPIPE, ECONNRESET: the zygote is gone
                    raise ZygoteDied(f"the zygote is gone: {error}", started=False) from None
                finally:
                    os.close(stdin)  # the child's copy is the only reader left
            _send(ours, request)
            started = _receive(ours)
            if started is None:
                raise ZygoteDied("the zygote went away before it started the child", started=False)
            if stdin_writer is not None:
                try:
                    _write_all(stdin_writer, write_stdin or b"")
                except BrokenPipeError:
                    pass  # the child ended, or closed its stdin, without reading it all
                finally:
                    os.close(stdin_writer)
            ended = _receive(ours)
        if not isinstance(ended, dict):
            raise ZygoteDied(f"the zygote went away while child {started} ran", started=True)
        return Exit(
            rc=os.waitstatus_to_exitcode(ended["status"]),
            seconds=ended["seconds"],
            peak_kb=ended["peak_kb"],
            killed=ended["killed"],
            cpu_seconds=ended["cpu_seconds"],
            forked=not request["exec"],
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """End the zygote: it kills the children still running and exits at end of file."""
        self.control.close()
        self.process.wait()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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


@dataclass(frozen=True)
class Ran:
    """A child that ended, and what it wrote."""

    exit: Exit
    out: bytes
    err: bytes


def run_child(
    args: tuple[str | bytes, ...],
    *,
    module: str = "tsbrunbook",
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    seconds: float,
    address_space: int | None = None,
    fresh: bool | None = None,
    zygote: Callable[[], Zygote] = this_process_zygote,
) -> Ran:
    """Run `python -m MODULE ARGS` as a child of `zygote`, with this process's environment updated
    by `env`, in `cwd` (default: this process's), stdout and stderr captured, `stdin` on a pipe
    (none: /dev/null), killed after `seconds`, and at most `address_space` bytes of it.

    Forked unless `fresh`, or `env` changes how the interpreter starts; `fresh` defaults to
    TSBRUNBOOK_TEST_SPAWN=1, the switch that runs every such child in a fresh interpreter."""
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
                    address_space=address_space,
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
        return Ran(ended, out.read(), err.read())


# --------------------------------------------------------------------------- server side


@dataclass
class _Child:
    pid: int
    pidfd: int
    conn: socket.socket
    started: float
    deadline: float
    killed: bool = False


def _serve(control: socket.socket) -> dict[str, Any]:
    """The zygote's loop: returns only in a forked child, with the request it is to run."""
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    children: dict[int, _Child] = {}  # by pidfd
    while True:
        now = time.monotonic()
        soonest = min((c.deadline for c in children.values() if not c.killed), default=None)
        for key, _ in selector.select(None if soonest is None else max(0.0, soonest - now)):
            if key.fileobj is control:
                message, fds, _, _ = socket.recv_fds(control, 16, 4)
                if not message:  # the test process closed its end, or exited
                    for child in children.values():
                        signal.pidfd_send_signal(child.pidfd, signal.SIGKILL)
                        os.waitpid(child.pid, 0)
                    raise SystemExit(0)
                conn = socket.socket(fileno=fds[0])
                request = _receive(conn)
                started = time.monotonic()
                pid = os.fork()
                if pid == 0:
                    # The child: nothing of the zygote's stays open (as close_fds would do).
                    selector.close()
                    control.close()
                    conn.close()
                    for other in children.values():
                        other.conn.close()
                        os.close(other.pidfd)
                    assert isinstance(request, dict)
                    request["fds"] = fds[1:]
                    return request
                for fd in fds[1:]:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = _Child(pid, pidfd, conn, started, started + request["seconds"])
                selector.register(pidfd, selectors.EVENT_READ)
                _send(conn, pid)
            else:
                child = children.pop(key.fd)
                selector.unregister(key.fd)
                _, status, usage = os.wait4(child.pid, 0)
                os.close(child.pidfd)
                with contextlib.suppress(OSError):  # the test process gave up on it
                    _send(
                        child.conn,
                        {
                            "status": status,
                            "seconds": time.monotonic() - child.started,
                            "peak_kb": usage.ru_maxrss,
                            "killed": child.killed,
                            "cpu_seconds": usage.ru_utime + usage.ru_stime,
                        },
                    )
                child.conn.close()
        now = time.monotonic()
        for child in children.values():
            if not child.killed and child.deadline <= now:
                child.killed = True
                signal.pidfd_send_signal(child.pidfd, signal.SIGKILL)


def _enter(request: dict[str, Any]) -> None:
    """In the forked child: become the process `python -m MODULE ARGS` would have started."""
    stdin, stdout, stderr = request["fds"]
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    limit = request["address_space"]
    if limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    argv = [request["executable"], "-m", request["module"], *request["args"]]
    if request["exec"]:
        try:
            os.execve(argv[0], argv, request["env"])
        finally:
            os.write(2, f"zygote: cannot exec {argv[0]}\n".encode())
            os._exit(127)
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()  # the C library's time zone, read at start-up from TZ
    _rebuild_stdio()
    sys.argv = ["-m", *request["args"]]  # -m's argv[0] until runpy finds the module
    sys.orig_argv = argv
    sys.path[0] = os.getcwd()  # -m puts the working directory first
    import importlib
    import types

    importlib.invalidate_caches()
    main = types.ModuleType("__main__")
    main.__dict__.update(__builtins__=__builtins__, __annotations__={})
    sys.modules["__main__"] = main


def _rebuild_stdio() -> None:
    """sys.stdin/stdout/stderr on fds 0-2 as the interpreter's create_stdio builds them, with the
    encoding and error handlers it chose for the zygote (same flags, same start-up environment)."""
    import io

    template = {0: sys.__stdin__, 1: sys.__stdout__, 2: sys.__stderr__}
    assert sys.__stdout__ is not None
    buffered = not sys.__stdout__.write_through  # -u / PYTHONUNBUFFERED: write-through, raw
    names = {0: "<stdin>", 1: "<stdout>", 2: "<stderr>"}
    streams = {}
    for fd, like in template.items():
        assert like is not None
        writing = fd != 0
        # Kept open as sys.std*, on a descriptor the interpreter does not close either.
        buffer: Any = open(  # noqa: SIM115
            fd, "wb" if writing else "rb", -1 if buffered or not writing else 0, closefd=False
        )
        raw = buffer.raw if hasattr(buffer, "raw") else buffer
        raw.name = names[fd]
        stream = io.TextIOWrapper(
            buffer,
            encoding=like.encoding,
            errors=like.errors,
            newline="\n",
            line_buffering=buffered and (raw.isatty() or fd == 2),
            write_through=not buffered,
        )
        stream.mode = "w" if writing else "r"  # type: ignore[misc]  # as create_stdio sets it
        streams[fd] = stream
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        setattr(sys, name, streams[fd])
        setattr(sys, f"__{name}__", streams[fd])


def _fork_safe() -> bool:
    """Forking is faithful only from one thread, and only if importing printed nothing (a
    warning shown at import would be shown by every real process, but by no forked child)."""
    return threading.active_count() == 1 and len(os.listdir("/proc/self/task")) == 1


if __name__ == "__main__":
    _control = socket.socket(fileno=int(sys.argv[1]))
    sys.path[0] = os.getcwd()  # the project, not tests/: tsbrunbook is imported as -m would
    import importlib as _importlib
    import warnings as _warnings

    with _warnings.catch_warnings(record=True) as _shown:  # the filters as they are
        for _name in PREIMPORT:
            _importlib.import_module(_name)
    del _importlib, _warnings, _name
    _control.send(json.dumps({"fork": _fork_safe() and not _shown}).encode())
    del _shown
    _request = _serve(_control)
    del _control
    _enter(_request)
    del _request
    import runpy as _runpy

    # What `python -m` calls; uncaught exceptions and the exit are the interpreter's own.
    getattr(_runpy, "_run_module_as_main")(sys.orig_argv[2], True)  # noqa: B009 — private
