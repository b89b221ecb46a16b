"""Reading one YAML file from disk: regular files only, size-capped, UTF-8, one clear problem.

What can go wrong before YAML parsing starts (a missing file, a directory, a FIFO or device, a
file too large, bytes that are not UTF-8) becomes a `LoadError` naming the file.
"""

from __future__ import annotations

import errno
import os
import stat

from ..errors import LoadError, Problem

MAX_FILE_BYTES = 8 * 1024 * 1024  # larger than any estate or runbook file by far
_NOT_A_FILE_HINT = (
    "give the path of a regular file; to read a pipe, save its output to a file first"
)


def read_text(path: str) -> str:
    """Read a runbook or estate file, turning OS trouble into one clear problem.

    Only regular files are read: a device (`/dev/zero`), a FIFO (`/dev/stdin` on a pipe) or a
    socket is refused before anything is read, so nothing blocks or grows without end. A pipe
    is refused rather than read because an estate path is read again later (reloads, `validate`)
    and a pipe's content is gone after the first read. A file redirected to stdin is a regular
    file and is read. At most MAX_FILE_BYTES + 1 bytes are read whatever the size said.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _problem_error(path, 0, _os_reason(exc)) from None
    _check_regular(path, info.st_mode)
    try:
        # O_NONBLOCK: if a FIFO took the file's place since the stat, opening it must not wait
        # for a writer; fstat below then refuses it.
        fd = os.open(
            path,
            os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0),
        )
    except OSError as exc:
        raise _problem_error(path, 0, _os_reason(exc)) from None
    with os.fdopen(fd, "rb") as fh:
        _check_regular(path, os.fstat(fd).st_mode)
        try:
            data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise _problem_error(path, 0, f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _problem_error(
            path,
            0,
            f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB (tsbrunbook reads YAML files up to that size; is it the right file?)",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _problem_error(
            path, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text  # a byte-order mark is not content


def _check_regular(path: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise _problem_error(path, 0, "is a directory, expected a YAML file")
    if not stat.S_ISREG(mode):
        kind = (
            "FIFO (pipe)" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
        )
        raise _problem_error(path, 0, f"is a {kind}, not a YAML file ({_NOT_A_FILE_HINT})")


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symbolic link loop?)"
    if exc.errno == errno.ENOTDIR:
        return "no such file (a part of the path is not a directory)"
    return f"cannot read: {exc.strerror or exc}"


def _problem_error(file: str, line: int, message: str) -> Exception:
    return LoadError([Problem(file, line, message)])
