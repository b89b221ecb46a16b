"""TUI parts of escalation: raising with a case number, the support brief, escalation timers,
chat updates through a real webhook on 127.0.0.1, and the probe's confirmed suggestion."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.http_servers import serve
from tests.tui.support import settle, until
from tsbrunbook.domain.incident import utcnow
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.screens.confirm import ConfirmScreen
from tsbrunbook.tui.screens.prompt import PromptScreen
from tsbrunbook.tui.widgets.checklists import ChecklistsPane
from tsbrunbook.tui.widgets.header import IncidentHeader
from tsbrunbook.workspace import Workspace


def app_with(down: list[str], estate: str | None = None, clock=utcnow) -> RunbookApp:
    workspace = Workspace()
    session = workspace.start("support flows", estate)
    if down:
        session.mark_down(down)
    return RunbookApp(workspace, session, clock=clock)


async def go_to_step(pilot, app, ref: str) -> None:
    await pilot.press("3")
    pane = app.screen.query_one(ChecklistsPane)
    if ref.split("/")[1] != pane.phase:
        await pilot.press("r")
    await settle(pilot)
    for node in pane.tree_view.root.children:
        for leaf in node.children:
            if getattr(leaf.data, "ref", None) == ref:
                pane.tree_view.move_cursor(leaf)
    await settle(pilot)
    assert pane.tree_view.current_step().ref == ref


@pytest.mark.long
async def test_raise_escalation_with_case_number():
    app = app_with(["central-control-plane"])
    ref = "central-control-plane-failure/restoration/engage-tetrate-support"
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await go_to_step(pilot, app, ref)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"CASE-4711", "enter")
        await settle(pilot)
        assert app.session.state.escalations[-1][1:] == (ref, "CASE-4711")
        detail = str(app.screen.query_one("#step-text", Static).content)
        assert (
            "Raised" in detail
            and "CASE-4711" in detail
            and "https://tetrate.io/contact-us/" in detail
        )
        assert "🆘 1/" in str(app.screen.query_one(IncidentHeader).content)
        # Any step may be escalated (as from the CLI); the prompt says it is not a runbook point.
        await go_to_step(pilot, app, "central-control-plane-failure/recovery/check-central-pods")
        await pilot.press("x")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        assert "Not a runbook escalation point" in prompt.question
        await pilot.press("enter")
        await settle(pilot)
        assert len(app.session.state.escalations) == 2


async def test_support_brief_goes_to_clipboard_and_file():
    app = app_with(["management-plane"])
    async with app.run_test() as pilot:
        await pilot.press("B")
        await settle(pilot)
        path = os.path.join(os.environ["TSBRUNBOOK_EXPORT_DIR"], f"{app.session.id}-brief.md")
        text = Path(path).read_text(encoding="utf-8")
        assert app.clipboard == text
        assert "management-plane" in text and "https://tetrate.io/contact-us/" in text


async def test_escalation_timer_counts_down_then_expires_once():
    later = [utcnow()]
    app = app_with(["central-control-plane"], clock=lambda: later[0])
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        header = str(app.screen.query_one(IncidentHeader).content)
        assert "⏰ 29:" in header or "⏰ 30:" in header
        heading = str(app.screen.query_one(ChecklistsPane).tree_view.root.children[0].label)
        assert "⏰" in heading and heading.endswith(" left")
        later[0] = utcnow() + timedelta(minutes=31)
        app.every_second()
        app.every_second()  # twice: the expiry is recorded once
        await settle(pilot)
        expired = [e for e in app.session.state.timeline if e.type == "timer-expired"]
        assert [e.data["instance"] for e in expired] == ["central-control-plane-failure"]
        assert any("Escalate now" in (n.title or "") for n in app._notifications)
        assert "⏰ 1:" in str(app.screen.query_one(IncidentHeader).content) and " over" in str(
            app.screen.query_one(IncidentHeader).content
        )


async def test_chat_updates_reach_the_webhook_without_blocking():
    import keyring

    with serve() as (url, rec):
        keyring.set_password("tsbrunbook", "webhook-url", url + "/hooks/T0K3N")
        app = app_with([])
        async with app.run_test(size=(160, 48)) as pilot:
            app.set_chat(True)
            started = time.monotonic()
            app.toggle_component("postgres")
            assert time.monotonic() - started < 0.5
            await settle(pilot)  # stored: the notifier has it
            assert app.notifier is not None  # set_chat(True) started one
            assert app.notifier.wait_idle(5)
            app.every_second()
            await settle(pilot)
            assert any("postgres" in t for t in rec.texts)
            assert "chat: " in str(app.screen.query_one(IncidentHeader).content)
    # The URL and its token never reach the store.
    assert "T0K3N" not in str([e.data for e in app.session.state.timeline])


async def test_probe_suggests_and_the_engineer_confirms(tmp_path, monkeypatch):
    import keyring

    monkeypatch.setenv("TSBRUNBOOK_ALLOW_INSECURE_HTTP", "1")  # the test server is plain http

    keyring.set_password("tsbrunbook", "tsb-api-user", "admin")
    keyring.set_password("tsbrunbook", "tsb-api-password", "s3cret")
    with serve(status=503) as (url, rec):
        estate = tmp_path / "estate.yaml"
        demo = (Path(__file__).parents[2] / "runbooks" / "estates" / "demo.yaml").read_text(
            encoding="utf-8"
        )
        estate.write_text(
            demo.replace(
                "    namespace: tsb\n", f"    namespace: tsb\n    status_url: {url}/status\n"
            )
        )
        app = app_with([], str(estate))
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("h")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert not app.session.state.down  # nothing changes until the engineer says so
            await pilot.press("y")
            await settle(pilot)
            assert list(app.session.state.down) == ["management-plane"]
            assert rec.requests and rec.requests[0]["headers"]["Authorization"].startswith("Basic ")
