"""Cache files only this user may have written: read one only if it is so, write one privately
and atomically. The runbook cache and the dataclass bytecode cache both keep theirs this way."""

from __future__ import annotations

import contextlib
import os
import stat


def read_own(path: str, max_bytes: int) -> bytes | None:
    """The file's bytes if it may be trusted, else None: a regular file (not a symlink), owned
    by this user, writable by no one else, at most `max_bytes` long, and readable."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            or (hasattr(os, "getuid") and st.st_uid != os.getuid())
            or st.st_size > max_bytes
        ):
            return None
        try:
            return fh.read(max_bytes + 1)
        except OSError:
            return None


def write_private(path: str, data: bytes, prefix: str) -> None:
    """Replace `path` with `data` atomically: a temporary file of mode 0600 beside it (its
    directory made 0700 if missing), renamed over it. Raises OSError."""
    import tempfile  # only when writing: its imports are not needed to start

    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
