"""A cache of the validated runbook pack and estates, so a start parses no YAML at all.

Each entry holds a `Pack` or an `Estate` as JSON, keyed by a sha256 over what it was read from
(every pack file's path and bytes; the estate's text), where it was read from, the tsbrunbook
and Python versions and the stamps (size, mtime) of the modules that read runbooks: change any
of them and the key no longer matches, so the YAML is read and validated again and the entry
rewritten. Only what validated is ever written.

It is never trusted blindly. It is read only when it is a regular file (not a symlink) owned by
this user and writable by no one else; anything else — stale, unreadable, damaged, a shape the
current code does not know — is ignored and rebuilt without a word. JSON, not pickle: decoding
can only build the model's own dataclasses (a fixed list, by name), never run code, so even a
cache file planted by someone else could at worst describe a wrong pack — and that is what the
owner and mode checks refuse.

Where: `$TSBRUNBOOK_HOME/cache` when that is set (tests, portable setups), else the platform's
user cache directory (platformdirs)."""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import sys
from typing import Any

from ... import __version__
from ..model import (
    Checklist,
    Contact,
    Datastore,
    Dependency,
    Estate,
    GraphSpec,
    HostRule,
    Kind,
    Level,
    ManagementSide,
    Operation,
    OperationImpact,
    Pack,
    Readiness,
    Scenario,
    Service,
    Source,
    Step,
    Support,
    WorkloadCluster,
)
from ..own_files import read_own, write_private

FORMAT = 1  # the layout of the cache files themselves
MAX_BYTES = 64 * 1024 * 1024  # a pack is ~150 KB, a 1,000-cluster estate ~1 MB
# The only types a cache can contain; decoding builds nothing else.
CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Pack,
        GraphSpec,
        Operation,
        Kind,
        HostRule,
        Dependency,
        Source,
        Scenario,
        OperationImpact,
        Checklist,
        Step,
        Readiness,
        Estate,
        ManagementSide,
        Datastore,
        WorkloadCluster,
        Service,
        Contact,
        Support,
    )
}


def pack_files(root: str) -> list[str]:
    """Every file of a pack, in reading order (the pack, the graph, readiness, the scenarios)."""
    scenarios = sorted(glob.glob(os.path.join(root, "scenarios", "*.yaml")))
    return [os.path.join(root, name) for name in ("pack.yaml", "graph.yaml", "readiness.yaml")] + (
        scenarios
    )


def cache_dir() -> str:
    """$TSBRUNBOOK_CACHE_DIR, else $TSBRUNBOOK_HOME/cache, else the user cache directory."""
    chosen = os.environ.get("TSBRUNBOOK_CACHE_DIR")
    if chosen:
        return chosen
    home = os.environ.get("TSBRUNBOOK_HOME")
    if home:
        return os.path.join(home, "cache")
    import platformdirs  # only here: most commands never read a pack twice

    return platformdirs.user_cache_dir("tsbrunbook", appauthor=False)


def _stamps(digest: Any) -> None:
    """The versions and the code that turns YAML into the model: a changed reader may read the
    same bytes otherwise (an editable install keeps its version number through every change)."""
    for part in (f"format {FORMAT}", __version__, sys.version):
        digest.update(part.encode() + b"\0")
    here = os.path.dirname(os.path.abspath(__file__))
    readers = sorted(glob.glob(os.path.join(here, "*.py")))
    for path in [*readers, os.path.join(os.path.dirname(here), "model.py")]:
        try:
            st = os.stat(path)
        except OSError:
            continue
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())


def pack_key(root: str) -> str | None:
    """The key of the pack in `root` as its files are now; None when a file cannot be read
    (then there is nothing to cache: loading reports the problem)."""
    digest = hashlib.sha256()
    _stamps(digest)
    digest.update(os.path.abspath(root).encode() + b"\0")
    try:
        for path in pack_files(root):
            with open(path, "rb") as fh:
                data = fh.read()
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            digest.update(len(data).to_bytes(8, "big") + data)
    except OSError:
        return None
    return digest.hexdigest()


def estate_key(path: str, text: str) -> str:
    digest = hashlib.sha256()
    _stamps(digest)
    digest.update(os.path.abspath(path).encode() + b"\0")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def cache_path(kind: str, where: str) -> str:
    """One entry per pack directory or estate file (`kind` is "pack" or "estate")."""
    name = hashlib.sha256(os.path.abspath(where).encode()).hexdigest()[:16]
    return os.path.join(cache_dir(), f"{kind}-{name}.json")


# ---------------------------------------------------------------------------------------------
# The JSON shape: {"@": class name, fields…} for a dataclass, {"@t": […]} for a tuple,
# {"@L": n} for a Level, {"@d": [[key, value], …]} for a dict (so no key can pass for a marker).


def encode(value: Any) -> Any:
    if isinstance(value, Level):
        return {"@L": int(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if CLASSES.get(name) is not type(value):
            raise TypeError(f"{name} is not a pack type")
        out = {"@": name}
        for f in dataclasses.fields(value):
            out[f.name] = encode(getattr(value, f.name))
        return out
    if isinstance(value, tuple):
        return {"@t": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"@d": [[encode(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode_object(obj: dict[str, Any]) -> Any:
    if "@t" in obj:
        return tuple(obj["@t"])
    if "@d" in obj:
        return {k: v for k, v in obj["@d"]}
    if "@L" in obj:
        return Level(obj["@L"])
    if "@" in obj:
        cls = CLASSES[obj.pop("@")]  # KeyError: not ours, the cache is ignored
        return cls(**obj)
    return obj  # the file's own wrapper: {"key": …, "value": …}


def decode(text: str) -> Any:
    return json.loads(text, object_hook=_decode_object)


# ---------------------------------------------------------------------------------------------


def _read_trusted(path: str) -> str | None:
    """The file's text if it may be trusted (see the module doc), else None."""
    data = read_own(path, MAX_BYTES)
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def cached(kind: str, where: str, key: str) -> Any:
    """The Pack or Estate cached for `where` under `key`, or None (missing, stale, untrusted or
    damaged)."""
    text = _read_trusted(cache_path(kind, where))
    if text is None:
        return None
    try:
        data = decode(text)
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        value = data["value"]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    want = {"pack": Pack, "estate": Estate}[kind]
    return value if type(value) is want else None


def store(kind: str, where: str, key: str, value: Pack | Estate) -> None:
    """Write an entry atomically (a private temporary file renamed over it). No fsync: an entry
    torn by a crash fails to decode and is rebuilt. Failing to write only costs the next start
    the YAML again, so every error is ignored."""
    path = cache_path(kind, where)
    try:
        text = json.dumps({"key": key, "value": encode(value)}, ensure_ascii=False)
        write_private(path, text.encode("utf-8"), prefix=f".{kind}-")
    except (OSError, TypeError, ValueError):
        return
