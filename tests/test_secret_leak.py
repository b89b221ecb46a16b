"""Planted secrets must appear in no file written (store, WAL, exports, briefs), no output and no log."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from pathlib import Path

from tests.http_servers import serve
from tsbrunbook.domain.escalation import record_expired_timers
from tsbrunbook.domain.runbooks.paths import demo_estate_path
from tsbrunbook.integrations import secrets
from tsbrunbook.integrations.notify import Notifier
from tsbrunbook.workspace import Workspace

TOKEN = "XoXb-planted-7f3a9c1e5d"
USER = "planted-api-user-q8"
PASSWORD = "planted-Pa55w0rd-k2"


def needles(webhook: str) -> list[bytes]:
    plain = [webhook, TOKEN, USER, PASSWORD, f"{USER}:{PASSWORD}"]
    encoded = [
        base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        base64.b64encode(PASSWORD.encode()).decode(),
    ]
    return [n.encode() for n in plain + encoded]


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_no_secret_in_any_file_output_or_log(cli, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []

    def run(*argv: str):
        result = cli(*argv)
        outputs.extend([result.out, result.err])
        return result

    with serve() as (base, hook), serve(status=500) as (bad_base, _):
        webhook = f"{base}/services/{TOKEN}"
        estate = tmp_path / "estate.yaml"
        estate.write_text(
            Path(demo_estate_path())
            .read_text()
            .replace("    namespace: tsb\n", f"    namespace: tsb\n    status_url: {base}/status\n")
        )
        secrets.set_secret("webhook-url", webhook)
        secrets.set_secret("tsb-api-user", USER)
        secrets.set_secret("tsb-api-password", PASSWORD)
        run("secret", "list")

        incident = run(
            "incident", "start", "Planted secrets drill", "--estate", str(estate)
        ).out.strip()
        assert run("incident", "chat", incident, "on").rc == 0
        workspace = Workspace()
        session = workspace.open(incident)
        notifier = Notifier(session.engine, session.id, timeout=1.0, backoff=0.01)
        notifier.start(session.state)
        session.mark_down(["management-plane"])
        session.raise_escalation(
            "management-plane-failure/restoration/engage-tetrate-support", "TS-9"
        )
        record_expired_timers(
            session, session.state.instances["management-plane-failure"] + timedelta(minutes=31)
        )
        assert (
            run("probe", "--allow-insecure-http", "--incident", incident).rc == 0
        )  # the test server is plain http
        notifier.submit(session.state)
        assert notifier.wait_idle(5)
        assert len(hook.texts) == 3
        # The secrets were really used: the token is in the path posted to, the password in the probe's auth.
        posts = [r for r in hook.requests if r["method"] == "POST"]
        probes = [r for r in hook.requests if r["method"] == "GET"]
        assert len(posts) == 3 and all(TOKEN in r["path"] for r in posts)
        assert probes and probes[0]["headers"]["Authorization"].encode().endswith(
            needles(webhook)[5]
        )

        # A failing webhook: its error text is shown in the UI status line.
        secrets.set_secret("webhook-url", f"{bad_base}/services/{TOKEN}")
        failing = Notifier(session.engine, session.id, timeout=1.0, backoff=0.01, max_attempts=2)
        failing.start(session.state)
        session.add_note("still looking")
        session.mark_up(["management-plane"])
        failing.submit(session.state)
        assert failing.wait_idle(5)
        outputs.append(failing.status.line)
        assert "HTTP 500" in failing.status.line

        exports = tmp_path / "exports"
        exports.mkdir(exist_ok=True)
        assert run("incident", "brief", incident, "-o", str(exports / "brief.md")).rc == 0
        assert run("incident", "export", incident, "-o", str(exports / "export.md")).rc == 0
        run("incident", "show", incident, "--format", "json")
        run("incident", "show", incident)
        run("incident", "brief", incident)
        written_while_open = files_under(
            tmp_path
        )  # the store is open here: its -wal holds the events
        notifier.close()
        failing.close()
        workspace.store.close()
        run("incident", "close", incident)

    written = {**written_while_open, **files_under(tmp_path)}
    assert any(name.endswith("incidents.sqlite3") for name in written)
    assert any(name.endswith("-wal") for name in written_while_open)
    assert any(name.endswith("brief.md") for name in written) and any(
        name.endswith("export.md") for name in written
    )
    text_out = "\n".join(outputs) + caplog.text
    for needle in needles(webhook):
        for name, data in written.items():
            assert needle not in data, f"{needle!r} leaked into {name}"
        assert needle.decode() not in text_out, f"{needle!r} leaked into output or logs"
    # The non-secret parts are there: the incident was recorded and exported in full.
    assert b"Planted secrets drill" in written[str(exports / "brief.md")]
    assert b"TS-9" in written[str(exports / "export.md")]
