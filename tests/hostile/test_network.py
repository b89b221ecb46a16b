"""Hostile HTTP answers and hostile status URLs, through the real `tsbrunbook probe` in a
subprocess against servers on 127.0.0.1 (issue 10, item 5 and part of item 9).

Each case is one hostile input and ends in one of three verdicts:
- refused: exit 2, one clean line naming the URL or `status_url` (an answer that says nothing
  about health, or input we will not act on);
- unhealthy: exit 1, "timed out after 2 s" (or another failure) on a clean stdout — the legal
  answer to a server that does not answer in time — within the deadline plus start-up slack;
- accepted: exit 0, a legal answer, shown without control characters.
The subprocess gets its credentials from a test keyring backend that reads the environment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.hostile.harness import Bounded, accepted, refused, run_bounded
from tests.http_servers import (
    answer,
    drip_body,
    drip_headers,
    huge_body,
    serve_raw,
    silent,
    stall_after_headers,
)

DEADLINE = 2.0
# Seconds a probe may take beyond its deadline: interpreter start-up and imports on a loaded
# 2-core machine. A per-read timeout against these servers runs until the harness kills it (30 s).
STARTUP_SLACK = 4.0
USER, PASSWORD = "oncall", "pa55-hostile-Net-31"
INSECURE = "--allow-insecure-http"

# The keyring backend is imported from the working directory (-m puts it first on the path): the
# project root, not PYTHONPATH, which would cost each probe a fresh interpreter (tests/zygote.py).
ENV = {
    "PYTHON_KEYRING_BACKEND": "tests.leaky_keyrings.EnvKeyring",
    "TSBRUNBOOK_TEST_SECRETS": json.dumps({"tsb-api-user": USER, "tsb-api-password": PASSWORD}),
    "TSBRUNBOOK_ALLOW_INSECURE_HTTP": "",
}


def estate_with(tmp_path: Path, status_url_yaml: str) -> str:
    """The demo estate with `management.status_url` set to this YAML scalar (quoted as given)."""
    text = (ROOT / "runbooks" / "estates" / "demo.yaml").read_text()
    path = tmp_path / "estate.yaml"
    path.write_text(
        text.replace(
            "    namespace: tsb\n", f"    namespace: tsb\n    status_url: {status_url_yaml}\n"
        )
    )
    return str(path)


def probe(tmp_path: Path, url: str, *extra: str) -> Bounded:
    return run_bounded(
        "probe",
        "--estate",
        estate_with(tmp_path, f'"{url}"'),
        "--timeout",
        f"{DEADLINE:g}",
        *extra,
        env=ENV,
        cwd=str(ROOT),
    )


def clean(text: str) -> bool:
    return not any(
        (ord(ch) < 32 and ch not in "\n") or 0x7F <= ord(ch) < 0xA0 or ch in "\u202e\u200b"
        for ch in text
    )


def unhealthy(result: Bounded, words: str) -> None:
    """Exit 1 (the plane did not answer properly) on clean output, within deadline + slack."""
    assert not result.killed and "Traceback" not in result.err, str(result)
    assert result.rc == 1, str(result)
    assert f"Result: unhealthy — {words}" in result.out, str(result)
    assert clean(result.out + result.err), str(result)
    assert all(
        line.startswith("tsbrunbook: warning:") for line in result.err.strip().splitlines()
    ), str(result)
    assert PASSWORD not in result.out + result.err


def in_time(result: Bounded) -> None:
    assert result.seconds < DEADLINE + STARTUP_SLACK, f"took {result.seconds:.1f} s\n{result}"


# -- servers that do not answer in time: the total deadline ends each within the bound ------

SLOW = {
    "drip-headers": drip_headers(0.5),
    "stall-after-headers": stall_after_headers(),
    "drip-chunked-body": drip_body(0.5),
    "accept-then-silence": silent,
}


@pytest.mark.parametrize("name", list(SLOW))
def test_a_slow_server_ends_at_the_deadline(tmp_path, name):
    with serve_raw(SLOW[name]) as server:
        result = probe(tmp_path, f"{server.url}/status", INSECURE)
    unhealthy(result, f"timed out after {DEADLINE:g} s")
    in_time(result)


def test_a_stalled_tls_handshake_ends_at_the_deadline(tmp_path):
    with serve_raw(silent, read_head=False) as server:
        result = probe(tmp_path, f"{server.url.replace('http://', 'https://')}/status")
    unhealthy(result, f"timed out after {DEADLINE:g} s")
    in_time(result)


# -- answers that are fast but hostile ------------------------------------------------------

HEAD_200_JSON = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def test_a_huge_body_is_read_up_to_a_cap(tmp_path):
    with serve_raw(huge_body()) as server:
        result = probe(tmp_path, f"{server.url}/status", INSECURE)
    line = refused(result, f"{server.url}/status")
    assert "larger than 64 KiB" in line and result.peak_mb < 200
    in_time(result)


def test_a_200_that_is_not_json_is_inconclusive(tmp_path):
    body = b"<html><body>Sign in to continue</body></html>"
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    with serve_raw(answer(raw)) as server:
        line = refused(probe(tmp_path, f"{server.url}/status", INSECURE), f"{server.url}/status")
    assert "not JSON (Content-Type text/html)" in line and "(over plain http://)" in line


def test_a_redirect_to_another_host_is_not_followed(tmp_path):
    with serve_raw(answer(b"")) as elsewhere:
        location = f"{elsewhere.url.replace('127.0.0.1', 'localhost')}/steal"
        raw = f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
        with serve_raw(answer(raw)) as server:
            line = refused(
                probe(tmp_path, f"{server.url}/status", INSECURE), f"{server.url}/status"
            )
        assert elsewhere.connections == 0  # the credentials went nowhere else
    assert "HTTP 302: a redirect (not followed; check the URL)" in line


def test_escape_sequences_in_the_answer_never_reach_the_terminal(tmp_path):
    raw = (
        b"HTTP/1.1 503 \x1b]52;c;b3duZWQ=\x07Service Unavailable\r\nContent-Type: text/\x1b[2Jplain\r\n"
        b"X-Title: \x1b]0;owned\x07\r\nContent-Length: 14\r\n\r\n\x1b]0;owned\x07\x1b[2J!"
    )
    with serve_raw(answer(raw)) as server:
        result = probe(tmp_path, f"{server.url}/status", INSECURE)
    unhealthy(result, "HTTP 503")


def test_escape_sequences_in_a_json_200_are_a_clean_acceptance(tmp_path):
    body = b'{"status": "\\u001b]52;c;b3duZWQ=\\u0007ok\\u001b[2J"}'
    raw = HEAD_200_JSON + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    with serve_raw(answer(raw)) as server:
        result = accepted(probe(tmp_path, f"{server.url}/status", INSECURE))
    assert "Result: healthy — HTTP 200" in result.out and clean(result.out + result.err)


def test_an_endless_header_line_is_cut_off(tmp_path):
    raw = b"HTTP/1.1 200 OK\r\nX-Flood: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    with serve_raw(answer(raw)) as server:
        result = probe(tmp_path, f"{server.url}/status", INSECURE)
    unhealthy(result, "request failed (LineTooLong)")
    in_time(result)


def test_a_thousand_headers_are_cut_off(tmp_path):
    raw = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(1000)) + b"\r\n"
    with serve_raw(answer(raw)) as server:
        result = probe(tmp_path, f"{server.url}/status", INSECURE)
    unhealthy(result, "request failed (HTTPException)")


# -- hostile configuration: refused before anything is sent ----------------------------------


def test_credentials_over_plain_http_are_refused_by_default(tmp_path):
    with serve_raw(answer(b"")) as server:
        line = refused(probe(tmp_path, f"{server.url}/status"), "plain http://", "127.0.0.1")
        assert server.connections == 0  # nothing, credentials least of all, was sent
    assert "--allow-insecure-http" in line


@pytest.mark.parametrize(
    "tail",
    [
        "st\\r\\nX-Injected: 1\\r\\n\\r\\natus",
        "st\\e]52;c;b3duZWQ=\\aatus",
        "st\\e[2Jatus",
        "st\\u202eatus",
        "st\\x85atus",
    ],
    ids=["crlf", "osc52", "csi", "bidi-override", "c1-nel"],
)
def test_a_status_url_with_control_characters_is_refused(tmp_path, tail):
    with serve_raw(answer(b"")) as server:
        result = run_bounded(
            "probe",
            "--estate",
            estate_with(tmp_path, f'"{server.url}/{tail}"'),
            INSECURE,
            env=ENV,
            cwd=str(ROOT),
        )
        refused(result, "status_url")  # at load (validate) or at use: either way before any call
        assert server.connections == 0
    assert "\x1b" not in result.out + result.err
