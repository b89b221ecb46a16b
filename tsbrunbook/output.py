"""Files the user asked for (exports, briefs, reports): where they may go and how they are written.

Shared by the CLI (`-o FILE`) and the TUI (exports into a folder). The rules, each a refusal with
one line and a hint, and the target left exactly as it was:

- symlinks are resolved first, and what the path finally names decides: anything that exists and
  is not a regular file (a device such as /dev/full, a FIFO, a socket, a directory) is refused —
  an atomic rename onto /dev/full as root would replace the device node itself;
- nothing inside the data directory (the incident store lives there) and no SQLite database
  anywhere is ever written: `-o incidents.sqlite3` would otherwise wipe every incident;
- an existing regular file is replaced only with `force` (`--force`);
- writes are atomic (a temporary file in the same directory, fsync, then rename or link), so
  readers never see half a file; without `force` the final step is a hard link, which fails if
  the name was taken meanwhile, so a file that appears between the check and the write is kept.

Exports written without a path of the user's choosing (the TUI's `e`, `B`, `R`) get a fresh name
(`INC-….md`, then `INC-…-2.md`, `-3` …) claimed the same exclusive way: two writers never collide.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile

from .domain.errors import UserError

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_FRESH_NAMES = 1000  # `INC-….md` … `INC-…-1000.md`: beyond that something is wrong
FORCE_HINT = "add --force to replace it"
OUTSIDE_HINT = "pick a path outside the data directory"


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _named(target: str, real: str) -> str:
    """The path as the user gave it, plus where it leads when that differs (a symlink)."""
    shown = target
    if os.path.abspath(target) != real:
        shown += f" (→ {real})"
    return shown


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _data_dir() -> str:
    from .store.paths import data_dir  # lazily: platformdirs is only needed when a file is written

    return os.path.realpath(data_dir())


def is_sqlite(path: str) -> bool:
    """Whether a regular file starts with SQLite's header (an incident store or any database)."""
    with open(path, "rb") as fh:
        return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def check_output(target: str, *, force: bool = False, example_name: str = "export.md") -> str:
    """Refuse a path the rules above forbid; the path to write (symlinks resolved).

    Called before anything is computed, so a typo is reported at once, and again just before the
    write: the file system may have changed in between."""
    if not target or "\x00" in target:
        raise UserError(
            f"{target!r}: not a usable file name", "give a file name, e.g. -o " + example_name
        )
    real = os.path.realpath(target)
    shown = _named(target, real)
    home = _data_dir()
    if _inside(real, home):
        raise UserError(
            f"{shown}: is inside the data directory {home}, where the incident store lives",
            OUTSIDE_HINT,
        )
    try:
        st = os.stat(real)
    except FileNotFoundError:
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise UserError(
                f"{shown}: the directory {folder} does not exist",
                "create it first or write somewhere else",
            ) from None
        return real
    except OSError as exc:
        raise UserError(
            f"{shown}: cannot check the path ({exc.strerror or exc})",
            "check the path and its permissions",
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(
            f"{shown}: is a directory",
            f"give a file name, e.g. -o {os.path.join(target, example_name)}",
        )
    if not stat.S_ISREG(st.st_mode):
        raise UserError(
            f"{shown}: is {_kind(st.st_mode)}, not a regular file", "write to a regular file"
        )
    try:
        database = is_sqlite(real)
    except OSError as exc:
        raise UserError(
            f"{shown}: cannot read it to check what it is ({exc.strerror or exc})",
            "write somewhere else",
        ) from None
    if database:
        raise UserError(
            f"{shown}: is an SQLite database; it is never replaced by an export",
            "write to another file name",
        )
    if not force:
        raise UserError(f"{shown}: already exists", FORCE_HINT)
    return real


def _temporary(folder: str, text: str) -> str:
    """A fully written, fsync'd temporary file in `folder` (same file system as the target)."""
    fd, tmp = tempfile.mkstemp(prefix=".tsbrunbook-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _sync_folder(folder: str) -> None:
    """Make the new directory entry durable too (best effort: not every system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _claim(tmp: str, path: str) -> None:
    """Give the finished temporary file the name `path` only if that name is free (else
    FileExistsError). A hard link is atomic and exclusive; a file system without hard links gets
    an O_EXCL create and a copy."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
        ):
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(tmp, "rb") as src, os.fdopen(fd, "wb") as dst:
            dst.write(src.read())
            dst.flush()
            os.fsync(dst.fileno())
    except BaseException:
        os.unlink(path)
        raise


def write_atomically(path: str, text: str, *, force: bool = False) -> str:
    """Write `text` to `path` under the rules above; the path written (symlinks resolved).

    Without `force` the name must be free when the file lands (a file that appeared since the
    check is kept and the write refused); with `force` an existing regular file is replaced."""
    real = check_output(path, force=force)
    folder = os.path.dirname(real)
    try:
        tmp = _temporary(folder, text)
    except OSError as exc:
        raise UserError(
            f"{path}: cannot write the file ({exc.strerror or exc})",
            "check the path and its permissions",
        ) from None
    try:
        if force:
            # Again, as late as possible: nothing became a device or a database, no link moved.
            if check_output(path, force=True) != real:
                raise UserError(f"{path}: changed while it was being written", "try again")
            os.replace(tmp, real)
        else:
            _claim(tmp, real)
    except FileExistsError:
        raise UserError(f"{path}: already exists", FORCE_HINT) from None
    except OSError as exc:
        raise UserError(
            f"{path}: cannot write the file ({exc.strerror or exc})",
            "check the path and its permissions",
        ) from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    _sync_folder(folder)
    return real


def fresh_name(name: str, n: int) -> str:
    """`INC-1.md` for n = 1, `INC-1-2.md` for 2 …"""
    if n == 1:
        return name
    stem, ext = os.path.splitext(name)
    return f"{stem}-{n}{ext}"


def write_fresh(folder: str, name: str, text: str) -> str:
    """Write `text` into `folder` under `name`, or the first free `name-2`, `name-3` …; the path.

    Never replaces anything: each candidate name is claimed exclusively (see `_claim`)."""
    folder = os.path.abspath(folder)
    home = _data_dir()
    if _inside(os.path.realpath(folder), home):
        raise UserError(
            f"{folder}: is inside the data directory {home}, where the incident store lives",
            "set TSBRUNBOOK_EXPORT_DIR to another folder",
        )
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = _temporary(folder, text)
    except OSError as exc:
        raise UserError(
            f"{folder}: cannot write the export there ({exc.strerror or exc})",
            "check the folder and its permissions",
        ) from None
    try:
        for n in range(1, MAX_FRESH_NAMES + 1):
            path = os.path.join(folder, fresh_name(name, n))
            try:
                _claim(tmp, path)
            except FileExistsError:
                continue  # taken (by a file, a FIFO, anything): the next name
            except OSError as exc:
                raise UserError(
                    f"{path}: cannot write the export ({exc.strerror or exc})",
                    "check the folder and its permissions",
                ) from None
            _sync_folder(folder)
            return path
        raise UserError(
            f"{folder}: {MAX_FRESH_NAMES} exports named {name} already", "move old exports away"
        )
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
