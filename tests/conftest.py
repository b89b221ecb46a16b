"""Shared fixtures: every test runs isolated from the developer's machine."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.incident_stores import KINDS, POSTGRES, IncidentStoreUnderTest
from tests.pg_server import pg_server, pg_store_factory  # noqa: F401 — one server per session
from tests.zygote import run_child

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def runbook_cache_dir(tmp_path_factory) -> str:
    """One runbook cache for the session: the pack validated once is read back by every test and
    every CLI process after it, as on a user's machine (a cache keyed by the files' bytes, so a
    test with its own pack gets its own entry). Tests of the cache itself set their own."""
    return str(tmp_path_factory.mktemp("runbook-cache"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, runbook_cache_dir):
    """Each test gets its own data directory and export directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TSBRUNBOOK_HOME", str(home))
    monkeypatch.setenv("TSBRUNBOOK_CACHE_DIR", runbook_cache_dir)
    monkeypatch.setenv("TSBRUNBOOK_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.delenv("TSBRUNBOOK_RUNBOOKS", raising=False)
    monkeypatch.delenv("TSBRUNBOOK_USER", raising=False)  # authors: login@host unless a test says
    monkeypatch.delenv("TSBRUNBOOK_DATABASE_URL", raising=False)  # SQLite unless a test says
    return home


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch):
    """No test touches the real keyring: an in-memory backend in this process, and keyring's
    fail backend in subprocesses (they cannot share the memory one)."""
    import keyring

    from tests.memory_keyring import MemoryKeyring

    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return backend


@pytest.fixture(params=KINDS)
def incident_store(request, isolated_home, monkeypatch):
    """The incident store of this test, once on SQLite and once on PostgreSQL: apply it to a
    module with `pytestmark = pytest.mark.usefixtures("incident_store")`.

    PostgreSQL is selected the way a user selects it, by TSBRUNBOOK_DATABASE_URL (subprocesses
    inherit it), naming a fresh migrated database on the session's server, dropped afterwards.
    """
    if request.param != POSTGRES:
        yield IncidentStoreUnderTest(request.param, str(isolated_home / "incidents.sqlite3"))
        return
    server = request.getfixturevalue("pg_server")
    name = server.new_database()
    url = server.url(name)
    monkeypatch.setenv("TSBRUNBOOK_DATABASE_URL", url)
    try:
        yield IncidentStoreUnderTest(request.param, url)
    finally:
        server.drop_database(name)
    # Proof that the test ran on PostgreSQL: nothing fell back to the local file.
    assert not (isolated_home / "incidents.sqlite3").exists(), "a command used the SQLite store"


@dataclass
class Result:
    rc: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: cli("impact", "--down", "postgres") → Result."""
    from tsbrunbook.cli import main

    def run(*args: str) -> Result:
        rc = main(list(args))
        captured = capsys.readouterr()
        return Result(rc, captured.out, captured.err)

    return run


def run_process(
    *args: str, env: dict | None = None, cwd: str | None = None, input: str | None = None
) -> Result:
    """Run the real `python -m tsbrunbook` in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "tsbrunbook", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        input=input,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_forked(
    *args: str, env: dict | None = None, cwd: str | None = None, input: str | None = None
) -> Result:
    """`run_process` for tests where the process boundary is not the point: `python -m
    tsbrunbook` as a child of this test process's zygote (tests/zygote.py), a process of its own
    forked from an interpreter that has imported the command line (~10x cheaper)."""
    ran = run_child(
        args, env=env, cwd=cwd, stdin=None if input is None else input.encode(), seconds=120
    )
    if ran.exit.killed:
        raise subprocess.TimeoutExpired([sys.executable, "-m", "tsbrunbook", *args], 120)

    def text(data: bytes) -> str:  # as subprocess.run(text=True) decodes it
        return data.decode().replace("\r\n", "\n").replace("\r", "\n")

    return Result(ran.exit.rc, text(ran.out), text(ran.err))


@pytest.fixture(scope="session")
def pack():
    from tsbrunbook.domain.runbooks.pack import load_pack

    return load_pack()


@pytest.fixture(scope="session")
def estate():
    from tsbrunbook.domain.runbooks.estate import load_estate

    return load_estate()


@pytest.fixture(scope="session")
def engine(pack, estate):
    from tsbrunbook.domain.impact import ImpactEngine

    return ImpactEngine(pack, estate)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Cheaper garbage collection for the test process (not for the app under test, whose
    processes keep Python's defaults). Everything imported and collected by now lives for the
    whole session, so it is frozen out of the collector's scans; and the young generation is
    collected less often, since each test's short-lived apps and events die young anyway."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 50)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "long: runs for several seconds; started first, so it never ends a parallel run late",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, put the long tests (marked `slow` or `long`) at the head of every worker's
    first share. The work-stealing scheduler hands each worker a contiguous share of this list
    and others steal from its tail: a 20-second test found late would end the run late."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers < 2:
        return
    first = [i for i in items if i.get_closest_marker("slow") or i.get_closest_marker("long")]
    chosen = set(map(id, first))
    rest = [i for i in items if id(i) not in chosen]
    # The shares the scheduler will cut (xdist's worksteal: len(pending) // workers remaining).
    shares, left = [], len(items)
    for k in range(workers):
        shares.append(left // (workers - k))
        left -= shares[-1]
    ordered: list[pytest.Item] = []
    for k, share in enumerate(shares):
        head = first[k::workers]
        take = max(0, share - len(head))
        ordered += head + rest[:take]
        rest = rest[take:]
    ordered += rest
    items[:] = ordered
