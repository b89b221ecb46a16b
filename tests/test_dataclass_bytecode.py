"""The bytecode cache of the methods @dataclass generates (tsbrunbook/_dataclass_bytecode.py):
classes made from it behave exactly as without it; it is written only when something new was
compiled and bytecode may be written; a file that is not ours alone, damaged, or from another
format is ignored."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from tsbrunbook import _dataclass_bytecode as cache


@pytest.fixture
def fresh(monkeypatch):
    """The module's state emptied for one test (and put back after it)."""
    monkeypatch.setattr(cache, "_codes", {})
    monkeypatch.setattr(cache, "_used", set())
    monkeypatch.setattr(cache, "_compiled", False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return cache


def make_class():
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 2
        tags: tuple[str, ...] = ()

    return Point


def test_it_is_installed_for_the_whole_process():
    assert dataclasses.exec is cache._exec  # type: ignore[attr-defined]


def test_a_class_built_from_cached_code_behaves_as_one_compiled_now(fresh):
    first = make_class()
    assert fresh._compiled and fresh._codes  # compiled, and kept
    compiled = dict(fresh._codes)
    fresh._compiled = False
    second = make_class()  # the same generated source: every method from the cache
    assert not fresh._compiled and fresh._codes == compiled
    for cls in (first, second):
        p = cls(1)
        assert (p.x, p.y, p.tags) == (1, 2, ())
        assert p == cls(1, 2) and p != cls(1, 3) and hash(p) == hash(cls(1, 2))
        assert repr(p) == "make_class.<locals>.Point(x=1, y=2, tags=())"
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.x = 5


def test_saved_and_loaded_back_only_when_something_new_was_compiled(fresh, tmp_path):
    path = str(tmp_path / "pycache" / "methods.marshal")
    fresh._save(path)
    assert not os.path.exists(path)  # nothing compiled yet: nothing to write
    make_class()
    fresh._save(path)
    loaded = fresh._load(path)
    assert loaded.keys() == fresh._codes.keys()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_nothing_is_written_under_pythondontwritebytecode(fresh, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    make_class()
    path = str(tmp_path / "methods.marshal")
    fresh._save(path)
    assert not os.path.exists(path)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: os.chmod(p, 0o666), id="writable-by-others"),
        pytest.param(lambda p: os.chmod(p, 0o620), id="writable-by-the-group"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-40]), id="cut-short"),
        pytest.param(lambda p: p.write_bytes(b"\x00" * 64), id="another-format"),
        pytest.param(
            lambda p: p.write_bytes(cache._HEADER + __import__("marshal").dumps({"a": 1})),
            id="not-code",
        ),
        pytest.param(
            lambda p: (p.rename(p.with_suffix(".real")), p.symlink_to(p.with_suffix(".real"))),
            id="a-symlink",
        ),
    ],
)
def test_a_file_that_is_not_ours_alone_or_not_intact_is_ignored(fresh, tmp_path, spoil):
    path = tmp_path / "methods.marshal"
    make_class()
    fresh._save(str(path))
    assert fresh._load(str(path))
    spoil(path)
    assert fresh._load(str(path)) == {}


def test_a_new_process_starts_from_the_file_and_adds_nothing(tmp_path):
    """End to end: a fresh interpreter imports the package (which installs the cache), reads
    the file a first run wrote, and compiles none of tsbrunbook's domain methods again."""
    prefix = str(tmp_path / "pycache")
    program = (
        "import sys, tsbrunbook, tsbrunbook.domain.incident as _, tsbrunbook._dataclass_bytecode "
        "as c; print(c._compiled, len(c._codes), c.cache_path().startswith(sys.pycache_prefix))"
    )
    env = {**os.environ, "PYTHONPYCACHEPREFIX": prefix}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def run() -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
        )
        return out.stdout.split()

    compiled, entries, beside = run()
    assert (compiled, beside) == ("True", "True") and int(entries) > 100
    assert run() == ["False", entries, "True"]
