"""The TSB health probe against real HTTP servers on 127.0.0.1: healthy, HTTP 500, timeout,
connection refused, refused credentials; suggestions only, exit codes 0 / 1 / 2."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from tests.http_servers import closed_port, serve
from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.loader import demo_estate_path, load_estate
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
    assert status_url(load_estate(estate_at(tmp_path, "http://127.0.0.1:9/status"))) == "http://127.0.0.1:9/status"
    bare = tmp_path / "bare.yaml"
    bare.write_text("estate:\n  name: Bare\n  management:\n    cluster: mgmt\n  clusters:\n    - {name: eu-west}\n")
    with pytest.raises(UserError, match=r"the estate sets no management.fqdn or management.organization"):
        status_url(load_estate(str(bare)))


def test_healthy_with_basic_auth(cli, tmp_path, creds):
    with serve(body=b'{"status": "ok"}') as (base, rec):
        result = cli("probe", "--estate", estate_at(tmp_path, f"{base}/v2/organizations/demo/status"))
    assert result.rc == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"Probe: GET {base}/v2/organizations/demo/status"
    assert lines[1].startswith("Result: healthy — HTTP 200 (") and lines[1].endswith(" ms)")
    assert lines[2] == "Suggestion: the management plane answers; nothing to change"
    (req,) = rec.requests
    assert req["method"] == "GET" and req["path"] == "/v2/organizations/demo/status"
    assert req["headers"]["Authorization"] == "Basic " + base64.b64encode(f"oncall:{PASSWORD}".encode()).decode()
    assert PASSWORD not in result.out + result.err


def test_healthy_suggests_marking_the_plane_up_in_an_incident(cli, tmp_path, creds):
    with serve() as (base, _):
        estate_file = estate_at(tmp_path, f"{base}/status")
        s = Workspace().start("MP?", estate_file)
        s.mark_down(["management-cluster", "postgres"])
        result = cli("probe", "--incident", s.id)
    assert result.rc == 0
    assert f"Suggestion: the management plane answers: mark management-cluster up? (`tsbrunbook incident up {s.id} management-cluster`)" in result.out
    assert [e.type for e in Workspace().open(s.id).state.timeline] == ["started", "down"]  # never changes the incident


def test_http_500_is_unhealthy_and_suggests_marking_it_down(cli, tmp_path, creds):
    with serve(status=500) as (base, _):
        result = cli("probe", "--estate", estate_at(tmp_path, f"{base}/status"))
    assert result.rc == 1
    assert "Result: unhealthy — HTTP 500" in result.out
    assert "Suggestion: mark management-plane down?" in result.out


def test_unhealthy_when_already_down_suggests_nothing(tmp_path, creds):
    with serve(status=503) as (base, _):
        s = Workspace().start("MP", estate_at(tmp_path, f"{base}/status"))
        s.mark_down(["management-cluster"])
        result = probe(s.engine.estate, timeout=2, engine=s.engine, down=s.state.down)
    assert (result.verdict, result.status, result.suggestion.action) == (UNHEALTHY, 503, "")
    assert result.suggestion.text == "the management plane is already marked down; nothing to change"


def test_timeout_returns_promptly(cli, tmp_path, creds):
    with serve(delay=10) as (base, _):
        t0 = time.perf_counter()
        result = cli("probe", "--estate", estate_at(tmp_path, f"{base}/status"), "--timeout", "0.3")
        took = time.perf_counter() - t0
    assert result.rc == 1 and "Result: unhealthy — timed out after 0.3 s" in result.out
    assert took < 2.0, took


def test_connection_refused(tmp_path, creds, engine):
    estate = load_estate(estate_at(tmp_path, f"{closed_port()}/status"))
    result = probe(estate, timeout=2, engine=engine)
    assert (result.verdict, result.status, result.message) == (UNHEALTHY, None, "connection refused")
    assert result.suggestion.action == "down" and result.suggestion.components == ("management-plane",)


@pytest.mark.parametrize("status,words", [(401, "the credentials were refused"), (403, "the credentials were refused"), (404, "check management.organization")])
def test_refused_credentials_or_wrong_org_is_bad_input(cli, tmp_path, creds, status, words):
    with serve(status=status) as (base, _):
        result = cli("probe", "--estate", estate_at(tmp_path, f"{base}/status"))
    assert result.rc == 2 and result.out == ""
    assert f"was inconclusive: HTTP {status}: " in result.err and words in result.err
    assert len(result.err.strip().splitlines()) == 1 and PASSWORD not in result.err


def test_missing_credentials_or_bad_arguments_exit_2(cli, tmp_path, memory_keyring):
    with serve() as (base, rec):
        estate_file = estate_at(tmp_path, f"{base}/status")
        missing = cli("probe", "--estate", estate_file)
        secrets.set_secret("tsb-api-user", "oncall")
        no_password = cli("probe", "--estate", estate_file)
        bad_timeout = cli("probe", "--estate", estate_file, "--timeout", "0")
        not_a_number = cli("probe", "--estate", estate_file, "--timeout", "soon")
        both = cli("probe", "--estate", estate_file, "--incident", "INC-1")
        assert rec.requests == []  # nothing was sent without credentials
    assert missing.rc == 2 and "the secret tsb-api-user is not set" in missing.err and "tsbrunbook secret set tsb-api-user" in missing.err
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
        (b"<html><body>Sign in</body></html>", "text/html; charset=utf-8", "not JSON (Content-Type text/html)"),
        (b'{"status": "ok"}', "text/plain", "not JSON (Content-Type text/plain)"),
        (b'{"status": "ok"}', None, "not JSON (Content-Type none)"),
        (b"<html>Sign in</html>", "application/json", "the body is not valid JSON"),
        (b"", "application/json", "the body is not valid JSON"),
        (b"[" * 60000, "application/json", "the body is not valid JSON"),
    ],
    ids=["html-login-page", "json-as-text-plain", "no-content-type", "html-labelled-json", "empty", "nested-too-deep"],
)
def test_a_200_that_is_not_json_is_inconclusive(cli, tmp_path, creds, engine, body, content_type, words):
    """A login page or a proxy answering 200 says nothing about the management plane."""
    with serve(body=body, content_type=content_type) as (base, _):
        estate_file = estate_at(tmp_path, f"{base}/status")
        result = probe(load_estate(estate_file), timeout=2, engine=engine, down=["management-plane"])
        shown = cli("probe", "--estate", estate_file)
    assert (result.verdict, result.status, result.suggestion.action) == (INCONCLUSIVE, 200, "")
    assert result.message.startswith("HTTP 200, but ") and words in result.message and "not the TSB status endpoint" in result.message
    assert shown.rc == 2 and shown.out == "" and "was inconclusive: HTTP 200, but " in shown.err
    assert len(shown.err.strip().splitlines()) == 1 and PASSWORD not in shown.err


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON", "application/vnd.tsb+json"])
def test_json_content_types_are_healthy(tmp_path, creds, content_type):
    with serve(body=b'{"status": "ok"}', content_type=content_type) as (base, _):
        result = probe(load_estate(estate_at(tmp_path, f"{base}/status")), timeout=2)
    assert (result.verdict, result.message) == (HEALTHY, "HTTP 200")
