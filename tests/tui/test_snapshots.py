"""SVG snapshots of the main screens at 80×24 and 160×48 (deterministic clock and store)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.tui.support import settle, snapshot_app, until


def mid_incident(session) -> None:
    session.mark_down(["edge-control-plane/eu-west", "central-control-plane"])
    refs = [
        s.ref
        for v in __import__("tsbrunbook.domain.incident", fromlist=["checklists"]).checklists(
            session.state, session.engine
        )
        for s in v.steps
    ]
    session.set_step(refs[0], "done")
    session.set_step(refs[1], "skip", "ControlPlane CR not readable yet")
    session.set_step(refs[2], "fail", "edge still crash-looping")
    session.add_note("paged the network team", None)


def test_wide_mid_incident(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(160, 48))


def test_narrow_components(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(80, 24))


def test_narrow_impact(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(80, 24), press=["2", "down"])


def test_narrow_checklists(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(80, 24), press=["3"])


def test_help_screen(snap_compare):
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), press=["question_mark"])


def test_wide_management_cluster_down(snap_compare):
    def setup(session):
        session.mark_down(["management-cluster", "workload-cluster/ap-south"])

    assert snap_compare(
        snapshot_app(setup, title="mgmt cluster lost [bold]not markup[/bold]"),
        terminal_size=(160, 48),
        press=["2", "down", "down", "right"],
    )


# ---------------------------------------------------------------------------------------------
# Issue 13, one (or more) per numbered problem. Small sizes where the point allows it.


def test_filter_cleared_keeps_the_cursor_on_the_marked_component(snap_compare):
    """1: `/management plane`, enter, space, esc: the cursor stays on Management plane (now
    down), not on the Management cluster above it."""

    async def run_before(pilot) -> None:
        await pilot.press("slash", *"management plane", "enter", "space")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=run_before)


def test_checklists_current_first_and_stale_ones_collapsed_last(snap_compare):
    """2: the checklist that matches now on top; the one that no longer matches collapsed at
    the bottom."""

    def setup(session) -> None:
        session.mark_down(["edge-control-plane/eu-west"])
        session.mark_up(["edge-control-plane/eu-west"])
        session.mark_down(["connectivity/us-east"])

    # 80 wide, tall enough for the current checklist's ten steps and the stale one below them.
    assert snap_compare(snapshot_app(setup), terminal_size=(80, 40), press=["3"])


def test_copy_says_how_it_was_copied(snap_compare, monkeypatch):
    """4: outside tmux the toast says OSC 52 was used and that terminals do not confirm it."""
    monkeypatch.delenv("TMUX", raising=False)

    async def run_before(pilot) -> None:
        await pilot.press("3", "down", "down", "down", "c")  # Check the Tetrate pods (commands)
        await settle(pilot)

    app = snapshot_app(lambda session: session.mark_down(["edge-control-plane/eu-west"]))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_prediction_dialog_has_nothing_set_and_hides_the_panes(snap_compare, pack):
    """5: "Before you look": no level preselected, and what the inject changed (the down
    component, the new checklist, the impact) is not visible behind the dialog."""
    from tests.tui.test_exercise_flow import start_run_on
    from tsbrunbook.domain.clock import FakeClock
    from tsbrunbook.tui.app import RunbookApp
    from tsbrunbook.tui.screens.prediction import PredictionScreen

    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)

    async def run_before(pilot) -> None:
        await pilot.press("p", "j")
        await until(pilot, lambda: isinstance(pilot.app.screen, PredictionScreen))
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_rename_dialog_shows_the_current_title(snap_compare):
    """6: `T` asks for the new title, naming the incident and its title now."""
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), press=["T"])


def test_close_dialog_asks_first(snap_compare):
    """6: `C` asks before closing, and says what closing means."""
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), press=["C"])


def test_a_long_step_ref_wraps_after_a_slash_at_80x24(snap_compare):
    """8: the step detail at 80×24: the title wraps under itself, the longest ref breaks after
    a `/` with a hanging indent, nothing is cut inside a word."""
    app = snapshot_app(lambda session: session.mark_down(["edge-control-plane/eu-central"]))
    assert snap_compare(app, terminal_size=(80, 24), press=["3", "r"])


def test_skip_dialog_names_the_step_at_80x24(snap_compare):
    """8: the skip dialog names the step it is about, its title cut at a word."""
    app = snapshot_app(lambda session: session.mark_down(["edge-control-plane/eu-west"]))
    assert snap_compare(app, terminal_size=(80, 24), press=["3", "down", "s"])


def test_a_light_theme_recolours_the_levels(snap_compare):
    """9: levels, the down component and the summary take the theme's colours."""

    async def run_before(pilot) -> None:
        pilot.app.theme = "textual-light"
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(snapshot_app(mid_incident), terminal_size=(80, 24), run_before=run_before)
