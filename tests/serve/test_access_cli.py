"""`tsbrunbook access create|list|revoke` and `tsbrunbook serve`'s option checks (in-process)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tsbrunbook.store.sqlite import Store
from tsbrunbook.workspace import Workspace


def test_create_prints_only_the_token_and_stores_only_its_digest(cli, isolated_home):
    result = cli("access", "create", "alice")
    assert result.rc == 0, result.err
    token = result.out.strip()
    assert result.out == token + "\n"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # secrets.token_urlsafe(32)
    with Store(isolated_home / "incidents.sqlite3") as store:
        (grant,) = store.access_grants()
    assert (grant.name, grant.role) == ("alice", "operator")
    assert grant.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    raw = b"".join(p.read_bytes() for p in isolated_home.iterdir() if p.is_file())
    assert token.encode() not in raw


def test_two_tokens_differ_and_a_read_only_one_says_so(cli):
    first = cli("access", "create", "alice").out.strip()
    second = cli("access", "create", "bob", "--read-only").out.strip()
    assert first != second
    listed = json.loads(cli("access", "list", "--format", "json").out)
    assert [(g["name"], g["role"]) for g in listed] == [
        ("alice", "operator"),
        ("bob", "read-only"),
    ]
    table = cli("access", "list").out
    assert "alice" in table and "read-only" in table
    assert first not in table and second not in table


def test_revoke_takes_the_token_away(cli, isolated_home):
    token = cli("access", "create", "alice").out.strip()
    result = cli("access", "revoke", "alice")
    assert result.rc == 0 and "revoked: alice" in result.out
    with Store(isolated_home / "incidents.sqlite3") as store:
        assert Workspace(store=store).grant_for_token(token) is None
    assert "Nobody has access" in cli("access", "list").out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["access", "create", "alice"], "alice already has access"),
        (["access", "revoke", "alcie"], "alcie has no access to revoke (did you mean alice?)"),
        (["access", "create", ""], "is empty, too long or not printable"),
        (["access", "create", "x" * 65], "is empty, too long or not printable"),
        (["access", "create", "evil\x1b]52;c;aGk=\x07"], "is empty, too long or not printable"),
    ],
)
def test_bad_access_requests_are_one_line_and_change_nothing(cli, args, words):
    cli("access", "create", "alice")
    result = cli(*args)
    assert result.rc == 2 and result.out == ""
    assert result.err.count("\n") == 1 and words in result.err
    assert "\x1b" not in result.err
    assert [g["name"] for g in json.loads(cli("access", "list", "--format", "json").out)] == [
        "alice"
    ]


def test_grant_for_token_compares_every_grant(cli, isolated_home):
    tokens = {name: cli("access", "create", name).out.strip() for name in ("a", "b", "c")}
    with Store(isolated_home / "incidents.sqlite3") as store:
        workspace = Workspace(store=store)
        assert {n: workspace.grant_for_token(t).name for n, t in tokens.items()} == {  # type: ignore[union-attr]
            "a": "a",
            "b": "b",
            "c": "c",
        }
        assert workspace.grant_for_token(tokens["a"][:-1]) is None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0 is reachable from other machines"),
        (["--host", "192.0.2.7", "--public-url", "http://warroom"], "TLS reverse proxy"),
        (["--port", "0"], "--port 0 is not a port"),
        (["--max-sessions", "0"], "--max-sessions 0 serves nobody"),
        (["--warm", "-1"], "give 0 (none) to --max-sessions (8)"),
        (["--warm", "5", "--max-sessions", "4"], "--warm 5: spares are app processes"),
        (["--certfile", "/nonexistent.pem"], "--certfile and --keyfile go together"),
        (["--public-url", "javascript:alert(1)"], "not an http(s)://HOST[:PORT] URL"),
        (["--public-url", "https://warroom.example/path"], "not an http(s)://HOST[:PORT] URL"),
    ],
)
def test_serve_refuses_bad_options_before_listening(cli, args, words):
    result = cli("serve", *args)
    assert result.rc == 2, result
    assert result.err.count("\n") == 1 and words in result.err


@pytest.mark.parametrize(
    ("args", "public", "tls"),
    [
        ([], "http://127.0.0.1:8080", False),
        (["--host", "::1", "--port", "9000"], "http://[::1]:9000", False),
        (["--host", "0.0.0.0", "--public-url", "https://warroom.example/"], None, True),
    ],
)
def test_serve_accepts_loopback_or_tls(args, public, tls):
    from tsbrunbook.cli import build_parser
    from tsbrunbook.cli.serve_cmds import cmd_serve

    options = cmd_serve(build_parser().parse_args(["serve", *args]), Workspace())
    assert options.public_url == (public or "https://warroom.example")
    assert options.tls is tls
    assert options.warm == 1  # one spare app process unless told otherwise


def test_serve_takes_the_number_of_spares():
    from tsbrunbook.cli import build_parser
    from tsbrunbook.cli.serve_cmds import cmd_serve

    for given in ("0", "3"):
        options = cmd_serve(build_parser().parse_args(["serve", "--warm", given]), Workspace())
        assert options.warm == int(given)
