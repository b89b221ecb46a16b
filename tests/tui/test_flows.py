"""Pilot tests of the TUI flows against the real stores (SQLite, and PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.tui.support import (
    cell_text,
    focus_cell,
    highlighted_step,
    select_component,
    settle,
)
from tsbrunbook.domain.model import Level
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.screens.help import HelpScreen
from tsbrunbook.tui.screens.prompt import PromptScreen
from tsbrunbook.tui.widgets.checklists import ChecklistsPane
from tsbrunbook.tui.widgets.components import ComponentsPane
from tsbrunbook.workspace import Workspace

# Every test once on the local SQLite store and once on PostgreSQL (TSBRUNBOOK_DATABASE_URL).
# What the TUI records and reads back runs on both stores; the tests of layout, help and size
# alone (which no store changes) run once, on the default one.
both_stores = pytest.mark.usefixtures("incident_store")


def new_app(estate: str | None = None) -> RunbookApp:
    workspace = Workspace()
    return RunbookApp(workspace, workspace.resume_or_start(estate))


def stored_types(app: RunbookApp) -> list[str]:
    return [e.type for e in app.workspace.store.events(app.session.id)]


async def cursor_to(pilot, app: RunbookApp, cid: str) -> None:
    select_component(app, cid)
    await settle(pilot)


@both_stores
async def test_mark_down_changes_matrix_and_checklists():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert "ok" in cell_text(app, "management-operations", "overall")
        await cursor_to(pilot, app, "management-plane")
        await pilot.press("space")
        await settle(pilot)
        assert app.session.state.down.keys() == {"management-plane"}
        assert "outage" in cell_text(app, "management-operations", "overall")
        assert "outage" in cell_text(app, "management-operations", "eu-west")
        assert "limited" in cell_text(app, "metrics-collection", "overall")
        pane = app.screen.query_one(ChecklistsPane)
        assert [v.instance for v in pane.views if v.phase == "recovery"] == [
            "management-plane-failure"
        ]
        assert stored_types(app) == ["started", "down"]
        # Component status glyphs: down and affected.
        comps = app.screen.query_one(ComponentsPane)
        assert str(comps.label("management-plane")).startswith("✖")
        assert str(comps.label("central-control-plane")).startswith("◐")
        # And up again: the matrix heals, the checklist stays (it appeared in this incident).
        await pilot.press("space")
        await settle(pilot)
        assert "ok" in cell_text(app, "management-operations", "overall")
        assert [v.active for v in pane.views if v.phase == "recovery"] == [False]
        assert stored_types(app) == ["started", "down", "up"]


@pytest.mark.long
@both_stores
async def test_step_states_and_notes_are_stored():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await cursor_to(pilot, app, "edge-control-plane/eu-west")
        await pilot.press("space", "3")
        await settle(pilot)
        pane = app.screen.query_one(ChecklistsPane)
        first = highlighted_step(pane)
        assert first.ref.startswith("edge-control-plane-failure@eu-west/recovery/")
        await pilot.press("space")  # done
        await settle(pilot)
        assert app.session.state.steps[first.ref].state == "done"
        await pilot.press("down", "s")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")  # a skip needs a reason: refused while empty
        assert isinstance(app.screen, PromptScreen)
        for ch in "not needed":
            await pilot.press("space" if ch == " " else ch)
        await pilot.press("enter")
        await settle(pilot)
        second = highlighted_step(pane)
        assert app.session.state.steps[second.ref].state == "skipped"
        assert app.session.state.steps[second.ref].note == "not needed"
        await pilot.press("down", "f", "enter")  # failed, no note
        await settle(pilot)
        third = highlighted_step(pane)
        assert app.session.state.steps[third.ref].state == "failed"
        await pilot.press("down", "b", "x", "enter")
        await settle(pilot)
        fourth = highlighted_step(pane)
        assert app.session.state.steps[fourth.ref].state == "blocked"
        # Undo a done step: space again resets it.
        pane.tree_view.move_cursor(pane.tree_view.root.children[0].children[0])
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        assert app.session.state.steps[first.ref].state == "pending"
        # A note on the highlighted step, then one on the incident from another pane.
        await pilot.press("n")
        for ch in "edge-restarted":
            await pilot.press(ch)
        await pilot.press("enter", "1", "n", "h", "i", "enter")
        await settle(pilot)
        assert app.session.state.steps[first.ref].notes[-1].text == "edge-restarted"
        assert app.session.state.notes[-1][1:3] == ("hi", None)
    # Everything is in the store, in order.
    types = [e.type for e in Workspace().store.events(app.session.id)]
    assert types == ["started", "down", "step", "step", "step", "step", "step", "note", "note"]


@both_stores
async def test_restart_resumes_the_same_state():
    app = new_app()
    async with app.run_test() as pilot:
        await cursor_to(pilot, app, "central-control-plane")
        await pilot.press("space", "3", "space")
        await settle(pilot)
        incident = app.session.id
        ref = highlighted_step(app.screen.query_one(ChecklistsPane)).ref
    again = new_app()
    async with again.run_test() as pilot:
        await settle(pilot)
        assert again.session.id == incident
        assert list(again.session.state.down) == ["central-control-plane"]
        assert again.session.state.steps[ref].state == "done"
        assert "limited" in cell_text(again, "local-cluster-operations", "overall")
        labels = [
            str(n.label)
            for n in again.screen.query_one(ChecklistsPane).tree_view.root.children[0].children
        ]
        assert labels[0].startswith("[x]")


@both_stores
async def test_filter_then_enter_goes_to_first_match_and_space_marks_it():
    app = new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        for ch in "us-east":
            await pilot.press(ch)
        await pilot.press("enter")
        await settle(pilot)
        comps = app.screen.query_one(ComponentsPane)
        assert app.focused is comps.tree_view
        assert set(comps.nodes) == {
            "workload-cluster/us-east",
            "edge-control-plane/us-east",
            "connectivity/us-east",
        }
        assert comps.tree_view.cursor_node is not None
        assert comps.tree_view.cursor_node.data == "workload-cluster/us-east"
        await pilot.press("space")
        await settle(pilot)
        assert list(app.session.state.down) == ["workload-cluster/us-east"]
        await pilot.press("slash", "escape")
        await settle(pilot)
        assert len(comps.nodes) == len(app.engine.graph.markable_ids)


@both_stores
async def test_export_writes_markdown_and_says_where(tmp_path):
    app = new_app()
    async with app.run_test(notifications=True) as pilot:
        await cursor_to(pilot, app, "postgres")
        await pilot.press("space", "e")
        await settle(pilot)
        path = os.path.join(os.environ["TSBRUNBOOK_EXPORT_DIR"], f"{app.session.id}.md")
        assert os.path.isfile(path)
        text = Path(path).read_text(encoding="utf-8")
        assert app.session.state.title in text and "postgres-failure" in text
        assert any(path in str(n.message) for n in app._notifications)


async def test_narrow_screen_switches_panes_like_tabs():
    app = new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert screen.has_class("-narrow")
        visible = lambda: [p.id for p in screen.query(".pane") if p.display and p.region.width]  # noqa: E731
        await settle(pilot)
        assert visible() == ["components-pane"]
        await pilot.press("2")
        await settle(pilot)
        assert visible() == ["impact-pane"]
        await pilot.press("tab")
        await settle(pilot)
        assert visible() == ["checklists-pane"]
    wide = new_app()
    async with wide.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        assert wide.screen.has_class("-wide")
        assert len([p for p in wide.screen.query(".pane") if p.region.width]) == 3


async def test_help_lists_every_binding():
    app = new_app()
    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        from tsbrunbook.tui.screens.help import help_text

        text = help_text().plain
        for key in (
            "space",
            "/",
            "s ",
            "f ",
            "b ",
            "c ",
            "r ",
            "n ",
            "e ",
            "i ",
            "q ",
            "?",
            "ctrl+p",
            "1 / 2 / 3",
        ):
            assert key in text, key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@both_stores
async def test_palette_marks_down_and_reasons_follow_the_cell():
    from tsbrunbook.tui.commands import RunbookCommands

    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        names = [name for name, _cb, _help in RunbookCommands(app.screen)._commands()]
        assert (
            "Mark down: workload-cluster/ap-south" in names
            and "Export incident to Markdown" in names
        )
        app.toggle_component("workload-cluster/ap-south")
        await settle(pilot)
        focus_cell(app, "running-workloads", "ap-south")
        await settle(pilot)
        reasons = str(app.screen.query_one("#reasons-text", Static).content)
        assert "workload-cluster/ap-south" in reasons and "ap-south" in reasons


@both_stores
async def test_hostile_text_is_shown_not_interpreted():
    workspace = Workspace()
    session = workspace.start("[red]fake[/red] $(rm -rf /) [link=http://x]y[/link]")
    session.mark_down(["postgres"])
    session.add_note("[b]not bold[/b]")
    app = RunbookApp(workspace, session)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        header = str(app.screen.query_one("#incident-header", Static).content)
        assert "[red]fake[/red]" in header
        summary = str(app.screen.query_one("#summary-text", Static).content)
        assert "[b]not bold[/b]" in summary


async def test_two_hundred_clusters_stay_usable(tmp_path):
    estate = tmp_path / "big.yaml"
    clusters = "\n".join(f"    - {{name: c{i:03d}, region: r{i % 7}}}" for i in range(200))
    estate.write_text(
        f"estate:\n  name: Big\n  management: {{cluster: mgmt}}\n  clusters:\n{clusters}\n  services:\n    - {{name: web, clusters: [c000, c199]}}\n"
    )
    app = new_app(str(estate))
    async with app.run_test(size=(160, 48)) as pilot:
        await cursor_to(pilot, app, "workload-cluster/c199")
        await pilot.press("space")
        await settle(pilot)
        assert "outage" in cell_text(app, "running-workloads", "c199")
        assert "limited" in cell_text(app, "running-workloads", "overall")
        app.toggle_component("central-control-plane")
        await settle(pilot)
        assert (
            app.session.impact().operations["local-cluster-operations"].scopes["c100"]
            == Level.LIMITED
        )
        assert "limited" in cell_text(app, "local-cluster-operations", "c100")


@both_stores
async def test_markup_in_titles_and_paths_is_shown_literally(tmp_path, monkeypatch):
    """A `[/]` in an incident title or the export folder must not crash a toast."""
    evil_dir = tmp_path / "exp[/]x[b]"
    monkeypatch.setenv("TSBRUNBOOK_EXPORT_DIR", str(evil_dir))
    workspace = Workspace()
    other = workspace.start("[bold red]PWNED[/] [/]")
    app = RunbookApp(workspace, workspace.start("plain"))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("down", "enter")  # newest first: "plain", then the hostile one
        await settle(pilot)
        assert app.session.id == other.id
        await pilot.press("e")
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any("[bold red]PWNED[/] [/]" in m for m in messages)
        assert any(str(evil_dir) in m for m in messages)
        assert (evil_dir / f"{other.id}.md").is_file()
    assert app.return_code in (None, 0)
