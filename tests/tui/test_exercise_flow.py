"""A whole exercise played in the TUI with a fast clock, then its after-action report.

The exercise clock, the store's timestamps and the app read one FakeClock: the exercise clock
moves only when the test advances it, so which injects are due is never a race with the load
on the machine."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.tui.support import highlighted_step, settle, until
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.exercise import find_exercise
from tsbrunbook.domain.exercise_run import ExerciseRun
from tsbrunbook.store import Store
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.screens.prediction import PredictionScreen
from tsbrunbook.tui.widgets.checklists import ChecklistsPane
from tsbrunbook.tui.widgets.exercise_bar import ExerciseBar
from tsbrunbook.workspace import Workspace


def start_run_on(clock: FakeClock, pack, exercise_id: str = "edge-and-link-drill"):
    """tests.test_exercise.start_run, with the store and the run on `clock`."""
    exercise = find_exercise(exercise_id, pack)
    workspace = Workspace(store=Store(clock=clock), pack=pack)
    session = workspace.start(
        f"Exercise: {exercise.title}",
        exercise.estate,
        kind="exercise",
        extra={"exercise_id": exercise.id, "exercise_file": exercise.file, "participants": ["ana"]},
    )
    return workspace, ExerciseRun(session, exercise, clocks=clock)


async def answer(pilot, app, keys: list[str]) -> None:
    assert isinstance(app.screen, PredictionScreen), app.screen
    await pilot.press(*keys, "enter")  # submit: the reveal shows
    await settle(pilot)
    assert app.screen.actual is not None
    await pilot.press("enter")  # close
    await settle(pilot)


@pytest.mark.long
async def test_play_an_exercise_and_report_it(pack):
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.screen.query_one(ExerciseBar)
        assert "not started" in str(bar.content)
        await pilot.press("p")  # start the clock
        await pilot.press("plus", "plus", "plus")  # ×8 for the rehearsal
        await settle(pilot)
        assert run.clock.running and run.clock.speed == 8.0
        await pilot.press("j")  # jump to the first inject
        await settle(pilot)
        assert list(run.progress().fired) == ["edge-eu-west"]
        # Predict right: ok / limited / limited / ok (a level key stays on its row; ↓ moves)
        await answer(pilot, app, ["o", "down", "l", "down", "l", "down", "o"])
        # Work the checklist: the expected step follows the three containment steps.
        await pilot.press("3", "down", "down", "down", "space")
        await settle(pilot)
        view = highlighted_step(app.screen.query_one(ChecklistsPane))
        assert view.ref == "edge-control-plane-failure@eu-west/recovery/check-edge-pods"
        # A runbook gap flagged on that step.
        await pilot.press("g", *"no-restart-count-check", "enter")
        await settle(pilot)
        # Second inject: let the clock fire it at full rehearsal speed (×8 → ×512 → capped).
        await pilot.press(*["plus"] * 7)
        await settle(pilot)
        assert run.clock.speed >= 512
        # Two seconds at ×600 take the clock from 02:00 to 22:00: past link-us-east (15:00),
        # short of ap-south-gone (26:00). The app's tick fires it; wait for that, with a deadline.
        clock.advance(2)
        await until(pilot, lambda: isinstance(app.screen, PredictionScreen))
        await pilot.press("p")  # the facilitator pauses while the room predicts: the rest by jumps
        await settle(pilot)
        assert not run.clock.running
        assert list(run.progress().fired) == ["edge-eu-west", "link-us-east"]
        # Predict everything ok (two of four wrong).
        await answer(pilot, app, ["o", "down", "o", "down", "o", "down", "o"])
        # Third and fourth: answer later (esc), then all back.
        await pilot.press("j")
        await settle(pilot)
        assert isinstance(app.screen, PredictionScreen)
        await pilot.press("escape", "j")
        await settle(pilot)
        prog = run.progress()
        assert list(prog.fired) == [
            "edge-eu-west",
            "link-us-east",
            "ap-south-gone",
            "all-back",
        ]  # in order
        assert [p.score for p in prog.predictions] == [1.0, 0.5]
        statuses = {r.expectation.ref.rsplit("/", 1)[1]: r.status for r in prog.expectations}
        assert statuses["check-edge-pods"] == "met"
        assert statuses["test-reachability"] == "missed"
        await pilot.press("R")
        await settle(pilot)
    path = os.path.join(os.environ["TSBRUNBOOK_EXPORT_DIR"], f"{run.session.id}-report.md")
    report = Path(path).read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(report)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    for wanted in (
        "Objectives",
        "Score",
        "Predictions",
        "Expectations",
        "Missed expectations",
        "Runbook gaps",
        "Timeline",
    ):
        assert wanted in headings, headings
    assert sum(t.type == "table_open" for t in tokens) >= 5
    # Exactly what happened: prediction scores, one met, the missed one, the gap note.
    assert re.search(r"\| edge-eu-west \| \d\d:\d\d \|.*\| 100% \|", report)
    assert re.search(r"\| link-us-east \| \d\d:\d\d \|.*\| 50% \|", report)
    assert "Prediction accuracy (cells right) | 75% (6/8)" in report
    assert "Predictions answered | 2/3 (1 not answered)" in report
    assert "| ap-south-gone | not answered (fired 26:00) |" in report
    assert re.search(r"check-edge-pods` \| 10:00 \| \d\d:\d\d \| ✅ met \| 10/10", report)
    assert "❌ missed: step `connectivity-loss@us-east/recovery/test-reachability`" in report
    assert "no-restart-count-check" in report.split("## Runbook gaps")[1]
    timeline = report.split("## Timeline")[1]
    order = [
        timeline.index(f"inject **{i}**")
        for i in ("edge-eu-west", "link-us-east", "ap-south-gone", "all-back")
    ]
    assert order == sorted(order)
