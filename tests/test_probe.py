"""The TSB health probe against real HTTP servers on 127.0.0.1: healthy, HTTP 500, timeout,
connection refused, refused credentials; suggestions only, exit codes 0 / 1 / 2."""

from __future__ import annotations

import base64
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.http_servers import (
    answer,
    closed_port,
    drip_body,
    drip_headers,
    huge_body,
    serve,
    serve_raw,
    silent,
    stall_after_headers,
)
from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.domain.runbooks.paths import demo_estate_path
from tsbrunbook.integrations import secrets
from tsbrunbook.integrations.probe import (
    HEALTHY,
    INCONCLUSIVE,
    UNHEALTHY,
    probe,
    status_url,
    suggest,
)
from tsbrunbook.workspace import Workspace

PASSWORD = "pa55-planted-Probe!"
INSECURE = "--allow-insecure-http"  # the test servers speak plain http on 127.0.0.1


def estate_at(tmp_path: Path, url: str | None) -> str:
    text = Path(demo_estate_path()).read_text()
    if url:
        text = text.replace("    namespace: tsb\n", f"    namespace: tsb\n    status_url: {url}\n")
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def creds():
    secrets.set_secret("tsb-api-user", "oncall")
    secrets.set_secret("tsb-api-password", PASSWORD)


def test_the_url_comes_from_the_estate(tmp_path, estate):
    assert status_url(estate) == "https://tsb.demo.example.com/v2/organizations/demo/status"
    assert (
        status_url(load_estate(estate_at(tmp_path, "http://127.0.0.1:9/status")))
        == "http://127.0.0.1:9/status"
    )
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        "estate:\n  name: Bare\n  management:\n    cluster: mgmt\n  clusters:\n    - {name: eu-west}\n"
    )
    with pytest.raises(
        UserError, match=r"the estate sets no management.fqdn or management.organization"
    ):
        status_url(load_estate(str(bare)))


def test_healthy_with_basic_auth(cli, tmp_path, creds):
    with serve(body=b'{"status": "ok"}') as (base, rec):
        result = cli(
            "probe",
            INSECURE,
            "--estate",
            estate_at(tmp_path, f"{base}/v2/organizations/demo/status"),
        )
    assert result.rc == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"Probe: GET {base}/v2/organizations/demo/status"
    assert lines[1].startswith("Result: healthy — HTTP 200 (") and lines[1].endswith(" ms)")
    assert lines[2] == "Suggestion: the management plane answers; nothing to change"
    (req,) = rec.requests
    assert req["method"] == "GET" and req["path"] == "/v2/organizations/demo/status"
    assert (
        req["headers"]["Authorization"]
        == "Basic " + base64.b64encode(f"oncall:{PASSWORD}".encode()).decode()
    )
    assert PASSWORD not in result.out + result.err


def test_healthy_suggests_marking_the_plane_up_in_an_incident(cli, tmp_path, creds):
    with serve() as (base, _):
        estate_file = estate_at(tmp_path, f"{base}/status")
        s = Workspace().start("MP?", estate_file)
        s.mark_down(["management-cluster", "postgres"])
        result = cli("probe", INSECURE, "--incident", s.id)
    assert result.rc == 0
    assert (
        f"Suggestion: the management plane answers: mark management-cluster up? (`tsbrunbook incident up {s.id} management-cluster`)"
        in result.out
    )
    assert [e.type for e in Workspace().open(s.id).state.timeline] == [
        "started",
        "down",
    ]  # never changes the incident


def test_http_500_is_unhealthy_and_suggests_marking_it_down(cli, tmp_path, creds):
    with serve(status=500) as (base, _):
        result = cli("probe", INSECURE, "--estate", estate_at(tmp_path, f"{base}/status"))
    assert result.rc == 1
    assert "Result: unhealthy — HTTP 500" in result.out
    assert "Suggestion: mark management-plane down?" in result.out


def test_unhealthy_when_already_down_suggests_nothing(tmp_path, creds):
    with serve(status=503) as (base, _):
        s = Workspace().start("MP", estate_at(tmp_path, f"{base}/status"))
        s.mark_down(["management-cluster"])
        result = probe(
            s.engine.estate, timeout=2, allow_insecure_http=True, engine=s.engine, down=s.state.down
        )
    assert (result.verdict, result.status, result.suggestion.action) == (UNHEALTHY, 503, "")
    assert (
        result.suggestion.text == "the management plane is already marked down; nothing to change"
    )


def test_timeout_returns_promptly(cli, tmp_path, creds):
    with serve(delay=10) as (base, _):
        t0 = time.perf_counter()
        result = cli(
            "probe", INSECURE, "--estate", estate_at(tmp_path, f"{base}/status"), "--timeout", "0.3"
        )
        took = time.perf_counter() - t0
    assert result.rc == 1 and "Result: unhealthy — timed out after 0.3 s" in result.out
    assert took < 2.0, took


def test_connection_refused(tmp_path, creds, engine):
    estate = load_estate(estate_at(tmp_path, f"{closed_port()}/status"))
    result = probe(estate, timeout=2, allow_insecure_http=True, engine=engine)
    assert (result.verdict, result.status, result.message) == (
        UNHEALTHY,
        None,
        "connection refused",
    )
    assert result.suggestion.action == "down" and result.suggestion.components == (
        "management-plane",
    )


@pytest.mark.parametrize(
    "status,words",
    [
        (401, "the credentials were refused"),
        (403, "the credentials were refused"),
        (404, "check management.organization"),
    ],
)
def test_refused_credentials_or_wrong_org_is_bad_input(cli, tmp_path, creds, status, words):
    with serve(status=status) as (base, _):
        result = cli("probe", INSECURE, "--estate", estate_at(tmp_path, f"{base}/status"))
    assert result.rc == 2 and result.out == ""
    assert f"was inconclusive: HTTP {status}: " in result.err and words in result.err
    assert len(result.err.strip().splitlines()) == 1 and PASSWORD not in result.err


def test_missing_credentials_or_bad_arguments_exit_2(cli, tmp_path, memory_keyring):
    with serve() as (base, rec):
        estate_file = estate_at(tmp_path, f"{base}/status")
        missing = cli("probe", INSECURE, "--estate", estate_file)
        secrets.set_secret("tsb-api-user", "oncall")
        no_password = cli("probe", INSECURE, "--estate", estate_file)
        bad_timeout = cli("probe", INSECURE, "--estate", estate_file, "--timeout", "0")
        not_a_number = cli("probe", INSECURE, "--estate", estate_file, "--timeout", "soon")
        both = cli("probe", INSECURE, "--estate", estate_file, "--incident", "INC-1")
        assert rec.requests == []  # nothing was sent without credentials
    assert (
        missing.rc == 2
        and "the secret tsb-api-user is not set" in missing.err
        and "tsbrunbook secret set tsb-api-user" in missing.err
    )
    assert no_password.rc == 2 and "the secret tsb-api-password is not set" in no_password.err
    assert bad_timeout.rc == 2 and "--timeout 0 is out of range" in bad_timeout.err
    assert not_a_number.rc == 2 and "invalid float value" in not_a_number.err
    assert both.rc == 2 and "do not go together" in both.err


def test_suggest_is_pure(engine):
    assert suggest(HEALTHY, engine, ["management-plane"]).action == "up"
    assert suggest(HEALTHY, engine, ["postgres"]).action == ""
    assert suggest(UNHEALTHY, engine, []).action == "down"
    assert suggest(INCONCLUSIVE, engine, []).action == ""


@pytest.mark.parametrize(
    "body, content_type, words",
    [
        (
            b"<html><body>Sign in</body></html>",
            "text/html; charset=utf-8",
            "not JSON (Content-Type text/html)",
        ),
        (b'{"status": "ok"}', "text/plain", "not JSON (Content-Type text/plain)"),
        (b'{"status": "ok"}', None, "not JSON (Content-Type none)"),
        (b"<html>Sign in</html>", "application/json", "the body is not valid JSON"),
        (b"", "application/json", "the body is not valid JSON"),
        (b"[" * 60000, "application/json", "the body is not valid JSON"),
    ],
    ids=[
        "html-login-page",
        "json-as-text-plain",
        "no-content-type",
        "html-labelled-json",
        "empty",
        "nested-too-deep",
    ],
)
def test_a_200_that_is_not_json_is_inconclusive(
    cli, tmp_path, creds, engine, body, content_type, words
):
    """A login page or a proxy answering 200 says nothing about the management plane."""
    with serve(body=body, content_type=content_type) as (base, _):
        estate_file = estate_at(tmp_path, f"{base}/status")
        result = probe(
            load_estate(estate_file),
            timeout=2,
            allow_insecure_http=True,
            engine=engine,
            down=["management-plane"],
        )
        shown = cli("probe", INSECURE, "--estate", estate_file)
    assert (result.verdict, result.status, result.suggestion.action) == (INCONCLUSIVE, 200, "")
    assert (
        result.message.startswith("HTTP 200, but ")
        and words in result.message
        and "not the TSB status endpoint" in result.message
    )
    assert shown.rc == 2 and shown.out == "" and "was inconclusive: HTTP 200, but " in shown.err
    assert len(shown.err.strip().splitlines()) == 1 and PASSWORD not in shown.err


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/vnd.tsb+json"],
)
def test_json_content_types_are_healthy(tmp_path, creds, content_type):
    with serve(body=b'{"status": "ok"}', content_type=content_type) as (base, _):
        result = probe(
            load_estate(estate_at(tmp_path, f"{base}/status")), timeout=2, allow_insecure_http=True
        )
    assert (result.verdict, result.message) == (HEALTHY, "HTTP 200")


# ---------------------------------------------------------------------------------------------
# A total deadline per request, not per read

SLACK = 3.0  # generous: a loaded 2-core machine; a per-read timeout against a drip is minutes


def finishes_within(bound: float, fn):
    """(fn's result, seconds it took); fails if fn is still running after `bound` seconds (it is
    left behind in a daemon thread: the server's teardown then ends it)."""
    out: dict = {}
    started = time.monotonic()
    thread = threading.Thread(target=lambda: out.update(result=fn()), daemon=True)
    thread.start()
    thread.join(bound)
    took = time.monotonic() - started
    assert not thread.is_alive(), f"still running after {took:.1f} s (deadline not enforced)"
    return out["result"], took


@pytest.mark.parametrize(
    "respond",
    [drip_headers(), stall_after_headers(), drip_body(), silent],
    ids=["drip-headers", "stall-after-headers", "drip-body", "silent"],
)
def test_a_slow_server_cannot_outlast_the_deadline(tmp_path, engine, respond):
    with serve_raw(respond) as server:
        estate = load_estate(estate_at(tmp_path, f"{server.url}/status"))
        result, took = finishes_within(
            1 + SLACK,
            lambda: probe(
                estate, timeout=1, credentials=("u", "p"), allow_insecure_http=True, engine=engine
            ),
        )
    assert (result.verdict, result.message) == (UNHEALTHY, "timed out after 1 s"), result
    assert result.suggestion.action == "down"
    assert took >= 0.9  # it did wait for the server, up to the deadline


def test_the_cli_reports_the_deadline_against_a_drip(cli, tmp_path, creds):
    with serve_raw(drip_headers(0.2)) as server:
        estate_file = estate_at(tmp_path, f"{server.url}/status")
        result, took = finishes_within(
            1.5 + SLACK, lambda: cli("probe", INSECURE, "--estate", estate_file, "--timeout", "1.5")
        )
    assert result.rc == 1 and "Result: unhealthy — timed out after 1.5 s" in result.out, result


def test_a_huge_answer_is_read_up_to_a_cap_and_is_inconclusive(tmp_path, engine):
    with serve_raw(huge_body()) as server:
        estate = load_estate(estate_at(tmp_path, f"{server.url}/status"))
        result, _ = finishes_within(
            2 + SLACK,
            lambda: probe(
                estate, timeout=2, credentials=("u", "p"), allow_insecure_http=True, engine=engine
            ),
        )
    assert (result.verdict, result.status) == (INCONCLUSIVE, 200)
    assert result.message.startswith("HTTP 200, but the answer is larger than 64 KiB"), (
        result.message
    )


# ---------------------------------------------------------------------------------------------
# TLS stays verified, and the deadline covers the handshake


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A certificate for 127.0.0.1 that no trust store knows."""
    d = tmp_path_factory.mktemp("tls")
    cmd = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        str(d / "key.pem"),
        "-out",
        str(d / "cert.pem"),
    ]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return d / "cert.pem", d / "key.pem"


def tls_answer(cert, key):
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def respond(conn, stop):
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            tls.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            )

    return respond


def test_an_untrusted_certificate_is_refused(tmp_path, engine, self_signed):
    with serve_raw(tls_answer(*self_signed), read_head=False) as server:
        url = server.url.replace("http://", "https://")
        result = probe(
            load_estate(estate_at(tmp_path, f"{url}/status")),
            timeout=3,
            credentials=("u", "p"),
            engine=engine,
        )
    assert result.verdict == UNHEALTHY and result.message.startswith(
        "TLS certificate not trusted"
    ), result


def test_a_trusted_certificate_is_read_through_the_deadline(
    tmp_path, engine, self_signed, monkeypatch
):
    """The same server, once its certificate is in the trust store (SSL_CERT_FILE): healthy, and
    no plain-http flag needed. Proves the deadline reader works over TLS, and that the refusal
    above was verification, not breakage."""
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    monkeypatch.delenv("TSBRUNBOOK_ALLOW_INSECURE_HTTP", raising=False)
    with serve_raw(tls_answer(*self_signed), read_head=False) as server:
        url = server.url.replace("http://", "https://")
        result = probe(
            load_estate(estate_at(tmp_path, f"{url}/status")),
            timeout=3,
            credentials=("u", "p"),
            engine=engine,
        )
    assert (result.verdict, result.message, result.warning) == (HEALTHY, "HTTP 200", ""), result


def test_a_stalled_tls_handshake_ends_at_the_deadline(tmp_path, engine):
    with serve_raw(silent, read_head=False) as server:
        estate = load_estate(
            estate_at(tmp_path, f"{server.url.replace('http://', 'https://')}/status")
        )
        result, _ = finishes_within(
            1 + SLACK, lambda: probe(estate, timeout=1, credentials=("u", "p"), engine=engine)
        )
    assert (result.verdict, result.message) == (UNHEALTHY, "timed out after 1 s")


# ---------------------------------------------------------------------------------------------
# Credentials over plain http, and hostile text in the URL or the answer


def test_credentials_over_plain_http_are_refused_unless_allowed(cli, tmp_path, creds, monkeypatch):
    monkeypatch.delenv("TSBRUNBOOK_ALLOW_INSECURE_HTTP", raising=False)
    with serve() as (base, rec):
        estate_file = estate_at(tmp_path, f"{base}/status")
        refused = cli("probe", "--estate", estate_file)
        assert rec.requests == []  # nothing (no credentials) was sent
        allowed = cli("probe", INSECURE, "--estate", estate_file)
        monkeypatch.setenv("TSBRUNBOOK_ALLOW_INSECURE_HTTP", "1")
        by_env = probe(load_estate(estate_file), timeout=2)
    assert refused.rc == 2 and refused.out == "" and len(refused.err.strip().splitlines()) == 1
    assert "refusing to send the TSB API credentials over plain http:// to 127.0.0.1" in refused.err
    assert "--allow-insecure-http" in refused.err and "https://" in refused.err
    assert allowed.rc == 0 and "Result: healthy" in allowed.out
    assert (
        allowed.err.strip()
        == "tsbrunbook: warning: the TSB API credentials went over plain http:// to 127.0.0.1 (readable by anyone on the path)"
    )
    assert by_env.verdict == HEALTHY and by_env.warning.startswith(
        "the TSB API credentials went over plain http://"
    )
    assert len(rec.requests) == 2 and PASSWORD not in refused.err + allowed.err


@pytest.mark.parametrize(
    "bad",
    ["\x1b]0;owned\x07", "\r\nX-Injected: 1", "\x1b[2J", "\u202e"],
    ids=["osc", "crlf", "csi", "bidi"],
)
def test_a_status_url_with_control_characters_is_refused_at_use(tmp_path, engine, bad):
    estate = load_estate(estate_at(tmp_path, "http://127.0.0.1:9/status"))
    from dataclasses import replace

    hostile = replace(
        estate, management=replace(estate.management, status_url=f"http://127.0.0.1:9/st{bad}atus")
    )
    with pytest.raises(UserError) as info:
        probe(hostile, timeout=1, credentials=("u", "p"), allow_insecure_http=True, engine=engine)
    text = str(info.value)
    assert "management.status_url contains control characters" in text
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch == "\u202e" for ch in text)


def test_hostile_bytes_in_the_answer_never_reach_the_terminal(cli, tmp_path, creds):
    raw = (
        b"HTTP/1.1 503 \x1b]52;c;b3duZWQ=\x07Down\r\nContent-Type: text/\x1b[2Jhtml\r\n"
        b"Content-Length: 12\r\n\r\n\x1b]0;owned\x07!!"
    )
    with serve_raw(answer(raw)) as server:
        result = cli("probe", INSECURE, "--estate", estate_at(tmp_path, f"{server.url}/status"))
    assert result.rc == 1 and "Result: unhealthy — HTTP 503" in result.out
    assert "\x1b" not in result.out + result.err and "\x07" not in result.out + result.err
