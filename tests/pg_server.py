"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temporary directory, loopback.

One server per test session (per xdist worker), started on first use and stopped at the end.
`initdb` and `postgres` refuse to run as root, and CI runs as root: then the server runs as the
`postgres` OS user (created by Debian's package; a dedicated system user is created if it is
missing). It listens on 127.0.0.1 only, on a free port, with its unix socket in its own directory.

Authentication: `trust` for every role on loopback except `PASSWORD_ROLE`, which must give its
password (scram-sha-256), so the password paths (libpq's PGPASSWORD, the keyring) are real.

Fixtures (tests/conftest.py imports them, so every test can ask for them; do not import them into
a test module too: pytest would start another server for that module): `pg_server` (the running
server), `pg_store_factory` (a fresh, empty, migrated `PostgresStore` per call, each in its own
database made from a template).

Without PostgreSQL binaries the tests that use these fixtures skip, saying why, except under
`CI=true`, where the binaries are part of the set-up and their absence is a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

SUPERUSER = "tsbr_admin"
PASSWORD_ROLE = "tsbr_pw"
PASSWORD = "s3cret-Pa55"  # only ever valid on this throwaway server
TEMPLATE_DB = "tsbr_template"
START_TIMEOUT_S = 60


def find_bindir() -> str | None:
    """The newest Debian PostgreSQL bin directory, else wherever `pg_ctl` is on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return os.path.dirname(found[-1])
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return os.path.dirname(on_path)
    return None


def _server_user() -> str | None:
    """The OS user the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "tsbrunbook-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "tsbrunbook-pg",
        ],
        check=True,
        capture_output=True,
    )
    return "tsbrunbook-pg"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A PostgreSQL cluster in a temporary directory, run as an unprivileged user."""

    bindir: str
    root: str
    user: str | None
    port: int = 0
    # Throwaway data: no fsync (a killed server still keeps what the OS has written). A benchmark
    # measuring real commit latency passes "" instead.
    durability: str = "-c fsync=off -c full_page_writes=off"
    _databases: Iterator[int] = field(default_factory=itertools.count)

    @property
    def datadir(self) -> str:
        return os.path.join(self.root, "data")

    @property
    def logfile(self) -> str:
        return os.path.join(self.root, "server.log")

    def _run(self, *argv: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess:
        cmd = [os.path.join(self.bindir, argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = ""
            if os.path.exists(self.logfile):
                with open(self.logfile, errors="replace") as fh:
                    log = fh.read()[-2000:]
            raise RuntimeError(f"{argv[0]} failed: {proc.stdout}{proc.stderr}\n{log}")
        return proc

    def init(self) -> None:
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        self._run(
            "initdb",
            "-D",
            self.datadir,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        hba = os.path.join(self.datadir, "pg_hba.conf")
        with open(hba, "w") as fh:
            fh.write(
                "local all all trust\n"
                f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
                "host all all 127.0.0.1/32 trust\n"
            )
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(hba, info.pw_uid, info.pw_gid)

    def start(self) -> None:
        """Start (again) on the same port once one was chosen, else on a free one."""
        attempts = 1 if self.port else 5
        for _ in range(attempts):
            port = self.port or _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={self.root} "
                # Enough connections for the concurrency tests of two xdist workers.
                f"-c max_connections=100 {self.durability}"
            )
            try:
                self._run(
                    "pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-o", options, "start"
                )
            except RuntimeError:
                if self.port:
                    raise
                continue
            self.port = port
            return
        raise RuntimeError(f"the test PostgreSQL server did not start; see {self.logfile}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop")

    def running(self) -> bool:
        """`pg_ctl status`: exit 0 while the server runs (3 when it is not)."""
        try:
            self._run("pg_ctl", "-D", self.datadir, "status")
        except RuntimeError:
            return False
        return True

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str = "") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def admin(self):  # noqa: ANN201 — a psycopg connection (imported lazily)
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    def new_database(self, template: str = TEMPLATE_DB) -> str:
        name = f"t{os.getpid()}_{next(self._databases)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(durability: str | None = None) -> PgServer:
    bindir = find_bindir()
    if bindir is None:
        message = "no PostgreSQL binaries found (Debian: apt-get install postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI installs them in .ci/run, so this is a set-up failure")
        pytest.skip(message)
    server = PgServer(bindir, tempfile.mkdtemp(prefix="tsbrunbook-pg-"), _server_user())
    if durability is not None:
        server.durability = durability
    server.init()
    server.start()
    with server.admin() as conn:
        conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    # The template holds the current schema, so each test's database starts migrated.
    from tsbrunbook.store.postgres import PostgresStore

    PostgresStore(server.url(TEMPLATE_DB)).close()
    return server


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_server()
    try:
        yield server
    finally:
        try:
            server.stop("fast")
        except RuntimeError:
            server.stop("immediate")
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def pg_store_factory(pg_server):
    """`make(**kwargs)` → a fresh, empty PostgresStore in a database of its own (closed and
    dropped after the test). Keyword arguments go to PostgresStore (e.g. clock=FakeClock())."""
    from tsbrunbook.store.postgres import PostgresStore

    made: list[tuple[PostgresStore, str]] = []

    def make(**kwargs) -> PostgresStore:
        name = pg_server.new_database()
        store = PostgresStore(pg_server.url(name), **kwargs)
        made.append((store, name))
        return store

    yield make
    for store, name in made:
        store.close()
        pg_server.drop_database(name)
