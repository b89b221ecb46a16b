"""Hostile input to the war room's commands (`tsbrunbook access`, `tsbrunbook serve`), through
the real CLI in a subprocess. Each case is one hostile input: refused in one clean line (exit 2),
within the harness's bounds, before anything is stored or anything listens."""

from __future__ import annotations

import pytest

from tests.hostile.harness import refused, run_bounded

CASES = [
    ("a name that sets the clipboard", ["access", "create", "x\x1b]52;c;aGk=\x07"], "printable"),
    ("a bidi override in a name", ["access", "create", "ali\u202ece"], "printable"),
    ("a 10 kB name", ["access", "create", "n" * 10_000], "too long"),
    ("revoking an escape sequence", ["access", "revoke", "\x1b[2J"], "has no access"),
    ("every interface, in clear", ["serve", "--host", "0.0.0.0"], "TLS reverse proxy"),
    ("a public URL that is a script", ["serve", "--public-url", "javascript:x"], "http(s)://"),
    ("a port past 65535", ["serve", "--port", "70000"], "is not a port"),
    ("a key without its certificate", ["serve", "--keyfile", "/etc/hostname"], "go together"),
    ("a negative number of spares", ["serve", "--warm", "-1"], "--warm -1"),
    ("more spares than sessions", ["serve", "--warm", "9", "--max-sessions", "2"], "to --max"),
]


@pytest.mark.parametrize(("what", "args", "says"), CASES, ids=[c[0] for c in CASES])
def test_hostile_war_room_input_is_refused_in_one_line(what, args, says):
    refused(run_bounded(*args), says)
