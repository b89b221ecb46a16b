"""Claiming in the TUI: `w` toggles claim / release on the highlighted step; a step someone else
holds asks before taking it over; the checklist, the step detail and the latest events say who."""

from __future__ import annotations

from textual.widgets import Static

from tests.tui.support import settle, until
from tests.tui.test_step_safety import highlight
from tsbrunbook.domain.author import USER_ENV
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.screens.confirm import ConfirmScreen
from tsbrunbook.workspace import Workspace

STEP = "postgres-failure/recovery/check-api-server"


def claims(app: RunbookApp) -> list[tuple[str, str, str]]:
    return [
        (e.type, e.data["ref"], e.actor)
        for e in app.workspace.store.events(app.session.id)
        if e.type in ("claimed", "released")
    ]


async def test_w_claims_releases_and_takes_over_with_a_confirmation(monkeypatch):
    monkeypatch.setenv(USER_ENV, "alice")
    workspace = Workspace()
    session = workspace.start("postgres down")
    session.mark_down(["postgres"])
    app = RunbookApp(workspace, session)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        pane = await highlight(pilot, app, STEP)
        detail = pane.query_one("#step-text", Static)

        def label() -> str:
            node = pane.tree_view.cursor_node
            return str(node.label) if node is not None else ""

        await pilot.press("w")
        await settle(pilot)
        await until(pilot, lambda: "in progress — alice" in label())
        assert claims(app) == [("claimed", STEP, "alice")]
        assert "in progress — alice" in str(detail.content)

        await pilot.press("w")  # mine: released
        await settle(pilot)
        await until(pilot, lambda: "in progress" not in label())
        assert claims(app)[-1] == ("released", STEP, "alice")

        # Someone else (another process, here the same store) claims it.
        monkeypatch.setenv(USER_ENV, "bob")
        Workspace(store=workspace.store).open(session.id).claim(STEP)
        monkeypatch.setenv(USER_ENV, "alice")
        app.poll_store()
        await settle(pilot)
        await until(pilot, lambda: "in progress — bob" in label())
        assert "(by bob)" in str(app.screen.query_one("#summary-text", Static).content)

        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert isinstance(screen, ConfirmScreen) and "bob" in screen.question
        await pilot.press("n")  # declined: nothing recorded
        await settle(pilot)
        assert claims(app)[-1] == ("claimed", STEP, "bob")

        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot)
        await until(pilot, lambda: "in progress — alice" in label())
        assert claims(app)[-1] == ("claimed", STEP, "alice")

        await pilot.press("space")  # done: the claim ends with it, and the history says who
        await settle(pilot)
        await until(pilot, lambda: "in progress" not in label())
        await until(pilot, lambda: " done (by alice)" in str(detail.content))
        assert claims(app)[-1] == ("claimed", STEP, "alice")  # no `released` event of its own


async def test_a_claim_lost_to_a_race_is_a_toast_naming_the_holder(monkeypatch):
    """The screen still shows the step free, but bob claimed it meanwhile: refused, one toast."""
    monkeypatch.setenv(USER_ENV, "alice")
    workspace = Workspace()
    session = workspace.start("postgres down")
    session.mark_down(["postgres"])
    app = RunbookApp(workspace, session)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await highlight(pilot, app, STEP)
        monkeypatch.setenv(USER_ENV, "bob")
        Workspace(store=workspace.store).open(session.id).claim(STEP)
        monkeypatch.setenv(USER_ENV, "alice")
        await pilot.press("w")  # before any poll: the screen does not know yet
        await settle(pilot)
        await until(pilot, lambda: bool(app._notifications))
        toasts = [n.message for n in app._notifications]
    assert claims(app) == [("claimed", STEP, "bob")]
    assert any("in progress — bob" in t and "w again" in t for t in toasts), toasts


async def test_a_step_note_says_who_wrote_it_in_the_step_detail(monkeypatch):
    """Team mode's "who did what" reaches the notes: a colleague's note on the highlighted step
    shows with their name, and one's own with one's own."""
    monkeypatch.setenv(USER_ENV, "alice")
    workspace = Workspace()
    session = workspace.start("postgres down")
    session.mark_down(["postgres"])
    app = RunbookApp(workspace, session)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await highlight(pilot, app, STEP)
        detail = pane.query_one("#step-text", Static)
        monkeypatch.setenv(USER_ENV, "bob")
        Workspace(store=workspace.store).open(session.id).add_note("api server pods pending", STEP)
        monkeypatch.setenv(USER_ENV, "alice")
        app.poll_store()
        await settle(pilot)
        await until(pilot, lambda: "(bob) api server pods pending" in str(detail.content))
        await pilot.press("n", *"scaled the node pool", "enter")
        await settle(pilot)
        await until(pilot, lambda: "(alice) scaled the node pool" in str(detail.content))
        notes = app.session.state.steps[STEP].notes
        assert [(n.text, n.actor) for n in notes] == [
            ("api server pods pending", "bob"),
            ("scaled the node pool", "alice"),
        ]
