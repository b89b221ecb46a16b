"""The cache of the validated pack and estates (domain/runbooks/cache.py): used when it matches
and may be trusted, ignored and rebuilt silently otherwise."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from tsbrunbook.domain.errors import LoadError
from tsbrunbook.domain.runbooks import cache, yamlsrc
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.domain.runbooks.pack import load_pack
from tsbrunbook.domain.runbooks.paths import demo_estate_path, runbooks_dir


@pytest.fixture(autouse=True)
def own_cache(monkeypatch):
    """These tests look at the cache's files: the data directory's, not the session's shared one."""
    monkeypatch.delenv("TSBRUNBOOK_CACHE_DIR")


@pytest.fixture
def pack_root(tmp_path):
    """A private copy of the bundled pack (so a test may change its files)."""
    root = tmp_path / "runbooks"
    shutil.copytree(runbooks_dir(), root)
    return str(root)


@pytest.fixture
def parses(monkeypatch):
    """How many YAML documents were parsed since the fixture was taken."""
    count = {"n": 0}
    real = yamlsrc.parse

    def counting(text, src):
        count["n"] += 1
        return real(text, src)

    monkeypatch.setattr(yamlsrc, "parse", counting)
    # documents.py imported `parse` by name: count there too.
    from tsbrunbook.domain.runbooks import documents

    monkeypatch.setattr(documents, "parse", counting)
    return count


def entry(kind: str, where: str) -> str:
    return cache.cache_path(kind, where)


def test_the_second_load_parses_nothing_and_gives_the_same_pack(pack_root, parses):
    first = load_pack(pack_root)
    assert parses["n"] == len(cache.pack_files(pack_root))  # pack, graph, readiness, scenarios
    parses["n"] = 0
    second = load_pack(pack_root)
    assert parses["n"] == 0
    assert second == first
    # What compare=False leaves out of ==, and the enum type, survive too.
    assert [s.lines for s in second.scenarios] == [s.lines for s in first.scenarios]
    assert type(second.scenarios[0].impact["running-workloads"].level) is type(
        first.scenarios[0].impact["running-workloads"].level
    )
    assert second == load_pack(pack_root, use_cache=False)


def test_the_entry_is_private_to_the_user(pack_root):
    load_pack(pack_root)
    mode = os.stat(entry("pack", pack_root)).st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(entry("pack", pack_root))).st_mode) & 0o077 == 0


def test_a_changed_pack_file_is_read_again(pack_root, parses):
    load_pack(pack_root)
    path = os.path.join(pack_root, "pack.yaml")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace("title:", "title: Changed", 1))
    parses["n"] = 0
    pack = load_pack(pack_root)
    assert parses["n"] == len(cache.pack_files(pack_root))
    assert pack.title.startswith("Changed")


def test_a_broken_pack_is_never_cached_and_still_refused(pack_root):
    load_pack(pack_root)
    with open(os.path.join(pack_root, "graph.yaml"), "a", encoding="utf-8") as fh:
        fh.write("\n  : [unbalanced\n")
    with pytest.raises(LoadError):
        load_pack(pack_root)
    with pytest.raises(LoadError):
        load_pack(pack_root)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda path: os.chmod(path, 0o620), id="group-writable"),
        pytest.param(lambda path: os.chmod(path, 0o602), id="world-writable"),
        pytest.param(lambda path: Path(path).write_text("{not json"), id="damaged"),
        pytest.param(lambda path: Path(path).write_text(""), id="empty"),
        pytest.param(
            lambda path: _rewrite(path, lambda d: d["value"].update({"@": "Popen"})),
            id="not-a-model-class",
        ),
        pytest.param(
            lambda path: _rewrite(path, lambda d: d["value"].update({"surprise": 1})),
            id="unknown-field",
        ),
        pytest.param(lambda path: _rewrite(path, lambda d: d.update(key="0" * 64)), id="stale"),
    ],
)
def test_an_entry_that_cannot_be_trusted_is_ignored_and_rebuilt(pack_root, parses, spoil):
    good = load_pack(pack_root)
    path = entry("pack", pack_root)
    spoil(path)
    parses["n"] = 0
    assert load_pack(pack_root) == good  # silently: no error, the YAML read again
    assert parses["n"] == len(cache.pack_files(pack_root))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # rewritten
    parses["n"] = 0
    load_pack(pack_root)
    assert parses["n"] == 0


def test_a_symlinked_entry_is_not_followed(pack_root, parses, tmp_path):
    load_pack(pack_root)
    path = entry("pack", pack_root)
    elsewhere = tmp_path / "elsewhere.json"
    os.replace(path, elsewhere)
    os.symlink(elsewhere, path)
    parses["n"] = 0
    load_pack(pack_root)
    assert parses["n"] == len(cache.pack_files(pack_root))


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs chown (root)")
def test_an_entry_owned_by_someone_else_is_ignored(pack_root, parses):
    load_pack(pack_root)
    os.chown(entry("pack", pack_root), 12345, 12345)
    parses["n"] = 0
    load_pack(pack_root)
    assert parses["n"] == len(cache.pack_files(pack_root))


def test_estates_are_cached_by_their_text(tmp_path, parses):
    path = tmp_path / "estate.yaml"
    shutil.copy(demo_estate_path(), path)
    first = load_estate(str(path))
    parses["n"] = 0
    assert load_estate(str(path)) == first
    assert parses["n"] == 0
    text = path.read_text(encoding="utf-8").replace("name:", "name: Renamed", 1)
    path.write_text(text, encoding="utf-8")
    assert load_estate(str(path)).name.startswith("Renamed")
    assert parses["n"] == 1
    # The text an incident kept (not the file as it is now) is what counts.
    assert load_estate(str(path), text=text) == load_estate(str(path))


def test_an_unwritable_cache_directory_costs_only_the_cache(pack_root, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("TSBRUNBOOK_HOME", str(blocker))  # cache dir would be inside a file
    assert load_pack(pack_root) == load_pack(pack_root, use_cache=False)


def _rewrite(path: str, change) -> None:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    change(data)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
