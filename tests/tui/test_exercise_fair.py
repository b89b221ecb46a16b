"""A fair exercise in the TUI: explicit prediction keys with nothing preselected, the answer hidden
until the prediction is locked, questions left for later, the clock kept exactly across a quit
and run on across a crash, and a run that can be finished.

Every test runs on one FakeClock (the store, the run and the app read it): the exercise clock
moves only when a test advances it."""

from __future__ import annotations

import html
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.tui.support import settle, until
from tests.tui.test_exercise_flow import start_run_on
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.events import ExerciseClock, ExercisePrediction
from tsbrunbook.domain.exercise import find_exercise
from tsbrunbook.domain.exercise_report import exercise_report
from tsbrunbook.domain.exercise_run import ExerciseRun
from tsbrunbook.store import Store
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.commands import RunbookCommands
from tsbrunbook.tui.screens.confirm import ConfirmScreen
from tsbrunbook.tui.screens.prediction import PredictionScreen
from tsbrunbook.tui.widgets.exercise_bar import ExerciseBar
from tsbrunbook.workspace import Workspace

RIGHT = {  # the engine's answer for edge-eu-west (the edge control plane of eu-west down)
    "running-workloads": "ok",
    "local-cluster-operations": "limited",
    "metrics-collection": "limited",
    "management-operations": "ok",
}
# What the first inject changes on the main screen: the down component, the new checklist, the
# worst level in the header and the impact pane's cluster line.
REVEALING = (
    "Edge control plane (down)",
    "The edge control plane of one workload cluster",  # the heading, cut at a word to fit
    "Clusters hit: eu-west",
    "down 1 ·",
)


def new_clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


def screen_text(app) -> str:
    """The text of what is on the terminal now (every screen composited), line by line."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in re.findall(
        r'<text[^>]*\bx="([\d.]+)"[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S
    ):
        rows.setdefault(float(y), []).append((float(x), html.unescape(text).replace("\xa0", " ")))
    return "\n".join("".join(t for _, t in sorted(r)) for _, r in sorted(rows.items()))


async def wait_for(pilot, condition, what: str) -> None:
    """Let the app work until `condition()` holds (a deadline, not a count of pauses), then
    until what it led to is stored and shown."""
    try:
        await until(pilot, condition)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {what}") from None
    await settle(pilot)


def predictions(run: ExerciseRun) -> list[ExercisePrediction]:
    return [
        e.payload for e in run.session.state.timeline if isinstance(e.payload, ExercisePrediction)
    ]


def report_of(run: ExerciseRun) -> str:
    return exercise_report(run.progress(), run.session.state, run.session.engine)


def bar_text(app) -> str:
    return str(app.screen_stack[0].query_one(ExerciseBar).content)


async def fire_first_inject(pilot, app) -> PredictionScreen:
    await pilot.press("p", "j")
    await wait_for(pilot, lambda: isinstance(app.screen, PredictionScreen), "the dialog")
    screen = app.screen
    assert isinstance(screen, PredictionScreen)
    return screen


def asking(app: RunbookApp) -> str | None:
    """The inject whose prediction dialog is on top, or None when no dialog is."""
    screen = app.screen
    return screen.inject_id if isinstance(screen, PredictionScreen) else None


def revealed(app: RunbookApp) -> bool:
    """The prediction dialog on top shows what really happened."""
    screen = app.screen
    return isinstance(screen, PredictionScreen) and screen.actual is not None


async def test_keys_set_the_highlighted_row_and_never_move_it(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        dialog = await fire_first_inject(pilot, app)
        # Nothing preselected: every row shows "—".
        assert dialog.levels == dict.fromkeys(RIGHT)
        assert screen_text(app).count("—          ") >= 4
        # A level key stays on its row: pressing o then l on row 1 leaves row 1 = limited.
        await pilot.press("o", "l")
        assert dialog.row == 0 and dialog.levels["running-workloads"] == "limited"
        await pilot.press("o")
        # Enter with rows unset does not lock; it names the rows still to set.
        await pilot.press("enter")
        await settle(pilot)
        assert dialog.actual is None and predictions(run) == []
        assert (
            "Not locked: set Local cluster operations, Metrics collection, Management operations"
            in screen_text(app)
        )
        # The facilitator's sequence, exactly as typed.
        await pilot.press("down", "l", "down", "l", "down", "o", "enter")
        await wait_for(pilot, lambda: dialog.actual is not None, "the reveal")
        assert [p.levels for p in predictions(run)] == [RIGHT]
        assert "4/4 right" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PredictionScreen), "the close")
    assert [p.score for p in run.progress().predictions] == [1.0]
    assert re.search(r"\| edge-eu-west \| 02:00 \|.*\| 100% \|", report_of(run))


async def test_tab_moves_like_down_and_arrows_do_not_change_levels(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        dialog = await fire_first_inject(pilot, app)
        await pilot.press("x", "tab", "x", "shift+tab", "left", "right")
        assert dialog.row == 0
        assert dialog.levels == {
            **dict.fromkeys(RIGHT),
            **{
                "running-workloads": "outage",
                "local-cluster-operations": "outage",
            },
        }


@pytest.mark.long
async def test_the_answer_is_hidden_until_the_prediction_is_locked(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("n", *"before the drill", "enter")  # a note prompt: see-through
        await settle(pilot)
        await fire_first_inject(pilot, app)
        shown = screen_text(app)
        assert "Before you look" in shown
        for text in REVEALING:
            assert text not in shown, text
        await pilot.press("o", "down", "l", "down", "l", "down", "o")
        shown = screen_text(app)  # set but not locked: still hidden
        assert not any(text in shown for text in REVEALING)
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PredictionScreen), "the close")
        shown = screen_text(app)
        for text in REVEALING:  # the same words, there once the prediction is locked
            assert text in shown, text


async def test_a_prediction_left_with_esc_is_not_answered_then_answered_later(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        await fire_first_inject(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PredictionScreen), "the close")
        assert [(p.inject, p.skipped) for p in predictions(run)] == [("edge-eu-west", True)]
        assert "1 not answered (a)" in bar_text(app)
        report = report_of(run)
        assert (
            "| edge-eu-west | not answered (fired 02:00) | — | — | — | — | not answered |" in report
        )
        assert "Predictions answered | 0/1 (1 not answered)" in report
        clock.advance(30)
        await pilot.press("a")  # answer it now
        await wait_for(pilot, lambda: isinstance(app.screen, PredictionScreen), "the dialog")
        await pilot.press("o", "down", "l", "down", "l", "down", "o", "enter")
        await wait_for(pilot, lambda: revealed(app), "the reveal")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PredictionScreen), "the close")
        assert "not answered" not in bar_text(app)
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, PredictionScreen)  # nothing left to answer
    report = report_of(run)
    assert re.search(r"\| edge-eu-west \| 02:30 \(answered later\) \|.*\| 100% \|", report)
    assert "Predictions answered | 1/1 (1 answered later, after the impact was on screen)" in report
    assert "not answered (fired" not in report


async def test_two_injects_at_once_ask_one_after_the_other(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("p")
        await settle(pilot)
        clock.advance(16 * 60)  # past edge-eu-west (02:00) and link-us-east (15:00)
        await wait_for(pilot, lambda: isinstance(app.screen, PredictionScreen), "the dialog")
        assert asking(app) == "edge-eu-west"
        assert list(run.progress().fired) == ["edge-eu-west", "link-us-east"]
        await pilot.press("o", "down", "l", "down", "l", "down", "o", "enter")
        await wait_for(pilot, lambda: revealed(app), "the reveal")
        await pilot.press("enter")  # the next question replaces it: the main screen stays hidden
        await wait_for(
            pilot,
            lambda: asking(app) == "link-us-east",
            "the second dialog",
        )
        assert sum(isinstance(s, PredictionScreen) for s in app.screen_stack) == 1
        assert not any(text in screen_text(app) for text in REVEALING)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PredictionScreen), "the close")
    prog = run.progress()
    assert [(p.inject, p.score) for p in prog.predictions] == [("edge-eu-west", 1.0)]
    assert [q.inject for q in prog.unanswered] == ["link-us-east"]


async def test_the_palette_offers_the_open_questions_and_finishing(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        await fire_first_inject(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PredictionScreen), "the close")
        provider = RunbookCommands(app.screen, None)
        commands = {name: callback for name, callback, _ in provider._commands()}
        assert "Exercise: finish this run" in commands
        answer = commands["Exercise: answer the prediction for edge-eu-west"]
        assert callable(answer)  # the palette types its callbacks as `object`
        app.call_later(answer)
        await wait_for(pilot, lambda: isinstance(app.screen, PredictionScreen), "the dialog")
        assert asking(app) == "edge-eu-west"


async def test_quit_with_the_clock_running_resumes_it_running_at_the_exact_offset(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("p")
        await settle(pilot)
        clock.advance(41)
        await pilot.press("q")
    last = run.session.state.timeline[-1].payload
    assert last == ExerciseClock(action="leave", offset=41.0, running=False, speed=1.0)
    # Reopened ten minutes later (the CLI's way: recover() first): running again from 00:41.
    clock.advance(600)
    session = Workspace(store=Store(clock=clock), pack=pack).open(run.session.id)
    again = ExerciseRun(session, run.exercise, clocks=clock)
    resumed = again.recover()
    assert resumed is not None and not resumed.interrupted
    assert again.now() == 41.0 and again.clock.running
    app = RunbookApp(workspace, session, clock=clock, exercise=again)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        assert "▶ running 00:41 / 40:00" in bar_text(app)
        assert "Exercise clock resumed at 00:41, running as it was left." in screen_text(app)
        clock.advance(4)
        assert again.now() == 45.0 and again.clock.running


async def test_after_a_crash_the_clock_ran_on_and_the_missed_injects_are_asked_in_turn(pack):
    clock = new_clock()
    _workspace, run = start_run_on(clock, pack)
    run.start()  # then the process dies with the clock running: nothing else is recorded
    clock.advance(16 * 60)  # reopened at 16:00: edge-eu-west (02:00) and link-us-east (15:00) due
    workspace = Workspace(store=Store(clock=clock), pack=pack)
    again = ExerciseRun(workspace.open(run.session.id), run.exercise, clocks=clock)
    assert again.recover() is not None
    app = RunbookApp(workspace, again.session, clock=clock, exercise=again)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: asking(app) == "edge-eu-west", "the first question")
        assert "resumed after an interruption at 16:00" in screen_text(app)
        assert sum(isinstance(s, PredictionScreen) for s in app.screen_stack) == 1
        await pilot.press("escape")  # left for later: the next one replaces it
        await wait_for(pilot, lambda: asking(app) == "link-us-east", "the second question")
        await pilot.press("escape")
        await wait_for(pilot, lambda: asking(app) is None, "the close")
        assert "▶ running 16:00 / 40:00" in bar_text(app)
    assert list(again.progress().fired) == ["edge-eu-west", "link-us-east"]


async def test_finish_asks_first_then_closes_the_run(pack):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("p")
        await settle(pilot)
        clock.advance(90)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await settle(pilot)
        assert not run.finished
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: run.finished, "the close")
        assert "■ finished at 01:30 / 40:00" in bar_text(app)
        clock.advance(600)  # past two injects: a finished run fires nothing
        app.exercise_tick()  # the tick that would fire them, run now rather than waited for
        await settle(pilot)
        assert run.progress().fired == {} and not isinstance(app.screen, PredictionScreen)
        await pilot.press("R")
        await settle(pilot)
    assert Workspace(store=Store(clock=clock), pack=pack).store.summaries(kind="exercise") == []
    path = os.path.join(os.environ["TSBRUNBOOK_EXPORT_DIR"], f"{run.session.id}-report.md")
    report = Path(path).read_text(encoding="utf-8")
    assert "| **Finished** | 2026-11-27 09:01 UTC, at exercise clock 01:30 |" in report


@pytest.mark.parametrize("key", ["p", "j"])
async def test_a_finished_run_refuses_clock_and_injects(pack, key):
    clock = new_clock()
    workspace, run = start_run_on(clock, pack)
    run.finish()
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.press(key)
        await settle(pilot)
        assert any("is finished" in n.message for n in app._notifications)
    assert run.progress().fired == {} and not run.clock.started


def test_a_run_resumed_with_a_question_unanswered_shows_it(pack):
    """A crash with the dialog open recorded neither answer nor skip: still "not answered"."""
    clock = new_clock()
    _workspace, run = start_run_on(clock, pack)
    run.start()
    run.jump_to_next()
    session = Workspace(store=Store(clock=clock), pack=pack).open(run.session.id)
    again = ExerciseRun(session, find_exercise(run.exercise.file, pack), clocks=clock)
    assert [(q.inject, q.skipped_at) for q in again.unanswered()] == [("edge-eu-west", None)]
