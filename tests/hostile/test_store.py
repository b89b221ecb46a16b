"""Hostile database URLs, database "servers" and copy sources, through the real `tsbrunbook store`
commands in a subprocess. Each case is one hostile input; every one is refused in one clean line
(exit 2), within the harness's bounds, never showing a password."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.hostile.harness import refused, run_bounded
from tests.http_servers import serve_raw, silent

SECRET = "hostile-Pa55"
NOTHING_LISTENS = "127.0.0.1:1"

URLS = [
    ("no host at all", "postgresql://", "incident store unreachable"),
    ("an unclosed IPv6 bracket", "postgresql://u@[::1/d", "is not valid"),
    ("a port that is not a number", "postgresql://u@127.0.0.1:http/d", "unreachable"),
    ("an unknown sslmode", f"postgresql://u@{NOTHING_LISTENS}/d?sslmode=bogus", "unreachable"),
    ("a bad connect_timeout", f"postgresql://u@{NOTHING_LISTENS}/d?connect_timeout=x", "not valid"),
    (
        "escape sequences in it",
        f"postgresql://u@{NOTHING_LISTENS}/d\x1b]52;c;aGk=\x07",
        "unreachable",
    ),
    ("not PostgreSQL", "mysql://root@127.0.0.1/db", "postgresql://"),
    (
        "nothing listening",
        f"postgresql://u@{NOTHING_LISTENS}/d",
        f"unreachable at {NOTHING_LISTENS}",
    ),
    ("a 10 kB database name", f"postgresql://u@{NOTHING_LISTENS}/" + "d" * 10_000, "unreachable"),
]


@pytest.mark.parametrize(("what", "url", "says"), URLS, ids=[u[0] for u in URLS])
def test_a_hostile_database_url_is_refused_in_one_line(what, url, says):
    refused(run_bounded("store", "status", "--database-url", url), says)


@pytest.mark.parametrize(("what", "url", "says"), URLS, ids=[u[0] for u in URLS])
def test_a_hostile_url_in_the_environment_never_shows_its_password(what, url, says):
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://u:{SECRET}@{rest.split('@', 1)[1]}"
    result = run_bounded("store", "status", env={"TSBRUNBOOK_DATABASE_URL": url})
    refused(result)
    assert SECRET not in result.out + result.err


def _answer_garbage(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def _close_at_once(conn: socket.socket, stop: threading.Event) -> None:
    conn.close()


SERVERS = [
    ("silent after accepting", silent, "?connect_timeout=2"),
    ("an HTTP server", _answer_garbage, ""),
    ("closes at once", _close_at_once, ""),
]


@pytest.mark.parametrize(("what", "respond", "query"), SERVERS, ids=[s[0] for s in SERVERS])
def test_a_server_that_is_not_postgresql_is_refused_in_one_line(what, respond, query):
    with serve_raw(respond, read_head=False) as server:
        port = server.url.rsplit(":", 1)[1]
        url = f"postgresql://u:{SECRET}@127.0.0.1:{port}/d{query}"
        result = run_bounded("store", "status", env={"TSBRUNBOOK_DATABASE_URL": url})
    refused(result, f"incident store unreachable at 127.0.0.1:{port}")
    assert SECRET not in result.err


def _garbage_file(tmp_path):
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"not a database\n" * 100)
    return str(path), "not an SQLite database"


def _directory(tmp_path):
    return str(tmp_path), "is a directory"


def _missing(tmp_path):
    return str(tmp_path / "missing.sqlite3"), "no such incident store"


def _device(tmp_path):
    return "/dev/zero", "not a regular file"


SOURCES = [_garbage_file, _directory, _missing, _device]


@pytest.mark.parametrize("make", SOURCES, ids=[s.__name__.strip("_") for s in SOURCES])
def test_a_hostile_copy_source_is_refused_and_no_target_is_made(tmp_path, make):
    source, says = make(tmp_path)
    target = tmp_path / "target" / "incidents.sqlite3"
    refused(run_bounded("store", "copy", source, str(target)), says)
    assert not target.exists()
