"""A bytecode cache for the methods `@dataclass` writes, so a start does not compile them again.

Python caches the bytecode of every module (`__pycache__`), but not of the methods `dataclasses`
generates while it creates each class: it writes their source (`__init__`, `__eq__`, `__hash__`,
`__repr__`, and a frozen class's `__setattr__`/`__delattr__`) and compiles it, about 80 µs a
method, on every start. tsbrunbook's domain is ~80 frozen dataclasses and Textual has ~40 more:
~580 methods, 45–75 ms of a ~360 ms start-up. This keeps the compiled code of that generated
source, keyed by the source text itself: the same text always compiles to the same code, so a
hit changes nothing but the time.

The cache is one file beside Python's own bytecode of this package (`tsbrunbook/__pycache__`,
or under `sys.pycache_prefix`), named for the interpreter, and it is trusted as much as the
`.pyc` files there and on the same terms: nothing is written under PYTHONDONTWRITEBYTECODE
(`sys.dont_write_bytecode`); a file that is not a regular file owned by this user, that others
may write, that is too large or was written by another Python is ignored (and replaced when
something new is compiled). Writing happens once, at exit, only when something was compiled,
atomically (a temporary file renamed over the old one).

`install()` is called by `tsbrunbook/__init__.py`, before anything creates a dataclass.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import importlib.util
import marshal
import os
import sys
from types import CodeType

from .domain.own_files import read_own, write_private

MAX_BYTES = 8 * 1024 * 1024  # ~600 methods take ~400 KB
MAX_ENTRIES = 5000  # beyond this (many versions' worth), keep only what this process used
_HEADER = importlib.util.MAGIC_NUMBER + b"tsbrunbook-dataclass-methods-1\n"

_codes: dict[str, CodeType] = {}  # generated source → its code
_used: set[str] = set()
_compiled = False  # something was compiled that the file did not have


def cache_path() -> str:
    """Where the cache lives: beside the package's own `.pyc` files, named for this Python."""
    pyc = importlib.util.cache_from_source(os.path.join(os.path.dirname(__file__), "__init__.py"))
    return os.path.join(
        os.path.dirname(pyc), f"dataclass-methods.{sys.implementation.cache_tag}.marshal"
    )


def _exec(source, globals=None, locals=None, /):  # noqa: A002 — exec's own parameter names
    """`exec` as `dataclasses` calls it (source text, globals, a namespace), with the compiled
    source taken from the cache."""
    global _compiled
    if isinstance(source, str):
        code = _codes.get(source)
        if code is None:
            code = compile(source, "<string>", "exec")  # what exec(str) does
            _codes[source] = code
            _compiled = True
        _used.add(source)
        source = code
    builtins.exec(source, globals, locals)


def _load(path: str) -> dict[str, CodeType]:
    data = read_own(path, MAX_BYTES)  # as Python trusts its `.pyc` files: ours alone
    if data is None:
        return {}
    if not data.startswith(_HEADER):
        return {}
    try:
        codes = marshal.loads(data[len(_HEADER) :])
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict) or not all(
        isinstance(k, str) and isinstance(v, CodeType) for k, v in codes.items()
    ):
        return {}
    return codes


def _save(path: str) -> None:
    """Write the cache if this process compiled anything new (at exit)."""
    if not _compiled or sys.dont_write_bytecode:
        return
    codes = _codes if len(_codes) <= MAX_ENTRIES else {s: _codes[s] for s in _used}
    # Best effort, like Python's own bytecode cache: an unwritable place just means no cache.
    with contextlib.suppress(OSError, ValueError):
        write_private(path, _HEADER + marshal.dumps(codes), prefix=".dataclass-methods-")


def install() -> None:
    """Serve `dataclasses`' compiles from the cache from now on (once per process)."""
    if getattr(dataclasses, "exec", None) is _exec:
        return
    path = cache_path()
    _codes.update(_load(path))
    # A module-level name shadows the builtin for that module's code: dataclasses' one call of
    # exec() (Python 3.11–3.13) now goes through _exec.
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    atexit.register(_save, path)
