"""Pilot tests: the components cursor keeps its component (issue 13 items 1 and 3) and the
checklists show current work first (item 2), against the real SQLite store."""

from __future__ import annotations

from functools import partial

from tests.tui.support import highlighted_step, settle, until
from tsbrunbook.domain.incident import ChecklistView
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.widgets.checklists import ChecklistsPane
from tsbrunbook.tui.widgets.components import ComponentsPane
from tsbrunbook.workspace import Workspace


def new_app() -> RunbookApp:
    workspace = Workspace()
    return RunbookApp(workspace, workspace.resume_or_start(None))


def components(app: RunbookApp) -> ComponentsPane:
    return app.screen.query_one(ComponentsPane)


def cursor_component(app: RunbookApp) -> str | None:
    node = components(app).tree_view.cursor_node
    return node.data if node is not None else None


async def type_text(pilot, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


async def test_clearing_the_filter_keeps_the_cursor_on_the_marked_component():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "management plane")
        await pilot.press("enter")
        await settle(pilot)
        assert cursor_component(app) == "management-plane"
        await pilot.press("space")
        await settle(pilot)
        assert set(app.session.state.down) == {"management-plane"}
        await pilot.press("escape")
        pane = components(app)
        await until(pilot, lambda: not pane.filter_text and len(pane.nodes) > 2)
        assert cursor_component(app) == "management-plane"
        # The next space acts on the same component (up again), never on its neighbour.
        await pilot.press("space")
        await settle(pilot)
        assert set(app.session.state.down) == set()


async def test_narrowing_the_filter_keeps_the_cursor_when_its_component_still_shows():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        pane = components(app)
        pane.tree_view.move_cursor(pane.nodes["workload-cluster/us-east"])
        await pilot.press("slash")
        await type_text(pilot, "us-east")
        await until(pilot, lambda: pane.filter_text == "us-east")
        assert cursor_component(app) == "workload-cluster/us-east"


async def test_a_down_component_hidden_by_the_filter_is_shown_as_hidden():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "us-east")
        pane = components(app)
        await until(pilot, lambda: pane.filter_text == "us-east")
        app.toggle_component("management-plane")  # as the palette does
        await settle(pilot)
        assert "management-plane" not in pane.nodes
        note = pane.query_one("#filter-hidden")
        assert note.display
        assert "1 down hidden by the filter" in str(note.render())
        assert "Management plane" in str(note.render())
        await pilot.press("escape")
        await until(pilot, lambda: not pane.filter_text and "management-plane" in pane.nodes)
        assert not note.display


async def test_the_tree_starts_on_the_first_markable_component():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        first = next(iter(components(app).nodes))
        assert cursor_component(app) == first
        await pilot.press("space")
        await settle(pilot)
        assert set(app.session.state.down) == {first}


def headings(app: RunbookApp) -> list[tuple[str, bool, bool]]:
    """(instance, active, expanded) of each checklist heading, top to bottom."""
    tree = app.screen.query_one(ChecklistsPane).tree_view
    return [
        (n.data.instance, n.data.active, n.is_expanded)
        for n in tree.root.children
        if isinstance(n.data, ChecklistView)
    ]


async def test_checklists_list_current_work_first_and_stale_ones_collapsed_last():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.toggle_component("edge-control-plane/eu-west")
        await settle(pilot)
        app.toggle_component("management-plane")
        await settle(pilot)
        assert headings(app) == [
            ("management-plane-failure", True, True),
            ("edge-control-plane-failure@eu-west", True, True),
        ]
        app.toggle_component("edge-control-plane/eu-west")  # up: its checklist goes stale
        await settle(pilot)
        assert headings(app) == [
            ("management-plane-failure", True, True),
            ("edge-control-plane-failure@eu-west", False, False),
        ]


async def test_an_expanded_stale_checklist_stays_open_across_redraws():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.toggle_component("edge-control-plane/eu-west")
        await settle(pilot)
        app.toggle_component("edge-control-plane/eu-west")
        await settle(pilot)
        tree = app.screen.query_one(ChecklistsPane).tree_view
        await until(
            pilot, lambda: headings(app) == [("edge-control-plane-failure@eu-west", False, False)]
        )
        tree.root.children[0].expand()
        app.toggle_component("management-plane")
        await settle(pilot)
        assert headings(app) == [
            ("management-plane-failure", True, True),
            ("edge-control-plane-failure@eu-west", False, True),
        ]


async def test_a_key_jumps_to_the_next_active_checklist():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        for cid in ("edge-control-plane/eu-west", "management-plane", "workload-cluster/us-east"):
            app.toggle_component(cid)
            await settle(pilot)
        await pilot.press("3")
        pane = app.screen.query_one(ChecklistsPane)
        order = [i for i, active, _ in headings(app) if active]
        assert len(order) == 3

        def in_checklist(instance: str) -> bool:
            step = pane.tree_view.current_step()
            return step is not None and step.ref.startswith(instance + "/")

        await until(pilot, lambda: any(in_checklist(i) for i in order))
        start = next(n for n, i in enumerate(order) if in_checklist(i))
        for hop in (1, 2, 3):  # the third wraps round to where it started
            await pilot.press("right_square_bracket")
            target = order[(start + hop) % 3]
            await until(pilot, partial(in_checklist, target))


async def test_the_jump_key_skips_checklists_that_no_longer_match():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        for cid in ("edge-control-plane/eu-west", "management-plane", "edge-control-plane/eu-west"):
            app.toggle_component(cid)
            await settle(pilot)
        await pilot.press("3")
        pane = app.screen.query_one(ChecklistsPane)
        stale = pane.tree_view.root.children[-1]
        pane.tree_view.move_cursor(stale)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: pane.tree_view.current_step() is not None)
        assert highlighted_step(pane).ref.startswith("management-plane-failure/")
        assert not stale.is_expanded
