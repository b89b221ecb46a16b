"""The TUI's step safety: `c` copies the same shell-quoted commands every export shows, a
destructive step shows ⚠ with its reason and asks before it is recorded done, and the
escalation timer is labelled site policy."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from textual.widgets import Static

from tests.test_incident_export import parse
from tests.tui.support import until
from tsbrunbook.domain import template
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.domain.runbooks.pack import load_pack
from tsbrunbook.domain.runbooks.paths import demo_estate_path
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.screens.confirm import ConfirmScreen
from tsbrunbook.tui.screens.main import MainScreen
from tsbrunbook.tui.widgets.checklists import ChecklistsPane
from tsbrunbook.workspace import Workspace


def pack_drop_reason() -> str:
    """The reason as the pack states it, so rewording the runbook does not break these tests."""
    reason = next(
        s
        for s in load_pack().scenario("postgres-failure").restoration.steps
        if s.id == "recreate-database"
    ).destructive_reason
    assert reason
    return reason


DROP_REASON = pack_drop_reason()

HOSTILE_MGMT = "gke-tsb-mgmt; touch /tmp/x #"
PG = "postgres-failure"
DROP = f"{PG}/restoration/recreate-database"


def hostile_estate(tmp_path: Path) -> str:
    path = tmp_path / "hostile.yaml"
    path.write_text(
        Path(demo_estate_path())
        .read_text()
        .replace("context: gke-tsb-mgmt", f"context: {json.dumps(HOSTILE_MGMT)}")
    )
    return str(path)


def postgres_app(estate_file: str | None = None) -> RunbookApp:
    workspace = Workspace()
    session = workspace.start("postgres down", estate_file)
    session.mark_down(["postgres"])
    return RunbookApp(workspace, session)


async def highlight(pilot, app: RunbookApp, ref: str) -> ChecklistsPane:
    """Show the phase of `ref` in the checklists pane and put the cursor on that step."""
    screen = app.screen
    assert isinstance(screen, MainScreen)
    screen.action_pane(2)
    pane = screen.query_one(ChecklistsPane)
    if pane.phase != ref.split("/")[1]:
        pane.toggle_phase()
    await pilot.pause()
    await move_to(pilot, pane, ref)
    pane.tree_view.focus()
    return pane


async def move_to(pilot, pane: ChecklistsPane, ref: str) -> None:
    def on_it() -> bool:  # the cursor is on the step and the detail shows it
        step = pane.tree_view.current_step()
        return (
            step is not None
            and step.ref == ref
            and f"\n{ref}\n" in str(pane.query_one("#step-text", Static).content)
        )

    # A rebuild of the tree (after a stored event) restores its own cursor after a refresh:
    # settle first, then move, then wait until the cursor is really there.
    await pilot.pause()
    node = next(
        leaf
        for heading in pane.tree_view.root.children
        for leaf in heading.children
        if getattr(leaf.data, "ref", None) == ref
    )
    pane.tree_view.move_cursor(node)
    await until(pilot, on_it)


def step_events(app: RunbookApp) -> list[dict]:
    return [e.data for e in app.workspace.store.events(app.session.id) if e.type == "step"]


async def test_copy_gives_the_quoted_commands_the_exports_show(tmp_path, monkeypatch):
    app = postgres_app(hostile_estate(tmp_path))
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await highlight(pilot, app, f"{PG}/recovery/check-api-server")
        await pilot.press("c")
        await until(pilot, lambda: bool(copied))
        current = pane.tree_view.current_step()
        assert current is not None
        step = current.step
        detail = str(pane.query_one("#step-text", Static).content)
    expected = template.commands(step, app.engine.estate, None)
    assert copied == ["\n".join(expected)]
    assert all(
        shlex.split(c)[2] == HOSTILE_MGMT for c in expected if c.startswith("kubectl --context")
    )
    assert "kubectl --context 'gke-tsb-mgmt; touch /tmp/x #' get pod -n tsb" in copied[0]
    for command in expected:
        assert f"$ {command}" in detail  # the detail shows what `c` copies
    fences = [
        t.content
        for t in parse(incident_markdown(app.session.state, app.engine, full=True))
        if t.type == "fence"
    ]
    assert "\n".join(expected) + "\n" in fences


async def test_a_destructive_step_shows_the_warning_and_its_reason():
    app = postgres_app()
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await highlight(pilot, app, DROP)
        assert pane.tree_view.cursor_node is not None
        label = str(pane.tree_view.cursor_node.label)
        detail = str(pane.query_one("#step-text", Static).content)
    assert "⚠ destructive" in label
    assert f"⚠ DESTRUCTIVE: {DROP_REASON}" in detail
    assert "escalate after 30m (site policy, not from the guide)" in detail


async def test_marking_a_destructive_step_done_asks_and_no_records_nothing():
    app = postgres_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await highlight(pilot, app, DROP)
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert DROP_REASON in confirm.question
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause()  # a wrongly posted StepAction would be stored by now
        assert step_events(app) == []
        assert (
            DROP not in app.session.state.steps or app.session.state.steps[DROP].state == "pending"
        )


async def test_marking_a_destructive_step_done_asks_and_yes_records_it():
    app = postgres_app()
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await highlight(pilot, app, DROP)
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(
            pilot,
            lambda: (
                DROP in app.session.state.steps and app.session.state.steps[DROP].state == "done"
            ),
        )
        assert [e["state"] for e in step_events(app)] == ["done"]
        # Undoing it is not destructive: no question.
        await move_to(pilot, pane, DROP)
        await pilot.press("space")
        await until(pilot, lambda: app.session.state.steps[DROP].state == "pending")
        assert not isinstance(app.screen, ConfirmScreen)
        # A step that is not destructive is marked at once.
        other = f"{PG}/restoration/load-backup"
        await move_to(pilot, pane, other)
        await pilot.press("space")
        await until(
            pilot,
            lambda: (
                other in app.session.state.steps and app.session.state.steps[other].state == "done"
            ),
        )
        assert not isinstance(app.screen, ConfirmScreen)
