"""A fair exercise, below the TUI: one prediction per inject, questions that stay "not answered"
until answered, questions the dialog can record, runs that finish, and the clock after a kill.

The kill test runs the real app in a child process on a FakeClock and kills it with SIGKILL at a
known exercise offset; the rule it checks (README, "The clock after a restart"): a normal exit
records the exact offset and reopening runs on from there; after a crash the scenario time has
kept running (capped at the script's end), and the injects due meanwhile fire."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest

from tests.conftest import ROOT
from tests.test_exercise import start_run
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.events import ExerciseClock
from tsbrunbook.domain.exercise import asks, find_exercise
from tsbrunbook.domain.exercise_report import exercise_report
from tsbrunbook.domain.exercise_run import ExerciseRun
from tsbrunbook.store import Store
from tsbrunbook.workspace import Workspace

RIGHT = {
    "running-workloads": "ok",
    "local-cluster-operations": "limited",
    "metrics-collection": "limited",
    "management-operations": "ok",
}
ALL_OK = dict.fromkeys(RIGHT, "ok")


def test_one_prediction_per_inject(pack):
    _ws, run = start_run(pack)
    run.start()
    run.jump_to_next()
    run.predict("edge-eu-west", RIGHT)
    with pytest.raises(UserError, match="already has a prediction"):
        run.predict("edge-eu-west", ALL_OK)
    run.skip("edge-eu-west")  # answered: leaving it for later records nothing
    assert [(p.inject, p.score, p.later) for p in run.progress().predictions] == [
        ("edge-eu-west", 1.0, False)
    ]
    assert run.unanswered() == []
    assert sum(e.type == "exercise-prediction" for e in run.session.state.timeline) == 1


def test_skipped_questions_are_not_answered_in_the_report_until_answered(pack):
    _ws, run = start_run(pack)
    run.start()
    run.jump_to_next()
    run.skip("edge-eu-west")
    run.skip("edge-eu-west")  # once
    run.jump_to_next()  # link-us-east: never shown (a crash, say), never skipped
    assert sum(e.type == "exercise-prediction" for e in run.session.state.timeline) == 1
    prog = run.progress()
    assert [(q.inject, q.skipped_at is not None) for q in prog.unanswered] == [
        ("edge-eu-west", True),
        ("link-us-east", False),
    ]
    report = exercise_report(prog, run.session.state, run.session.engine)
    assert "| edge-eu-west | not answered (fired 02:00) |" in report
    assert "| link-us-east | not answered (fired 15:00) |" in report
    assert "Predictions answered | 0/2 (2 not answered)" in report
    assert "prediction for edge-eu-west: not answered (left for later)" in report  # timeline
    run.predict("link-us-east", ALL_OK)
    prog = run.progress()
    assert [q.inject for q in prog.unanswered] == ["edge-eu-west"]
    assert [(p.inject, p.later, p.score) for p in prog.predictions] == [
        ("link-us-east", False, 0.5)
    ]


def test_a_question_asks_only_what_the_dialog_records():
    assert asks("ap-south is gone. What happens to each operation?") == [
        "What happens to each operation?"
    ]
    assert asks("Predict the impact.") == ["Predict the impact."]
    assert asks("One? Two?") == ["One?", "Two?"]


def test_finish_closes_the_run(cli, pack):
    _ws, run = start_run(pack)
    run.start()
    run_id = run.session.id
    result = cli("exercise", "finish", run_id)
    assert result.rc == 0, result.err
    assert result.out.startswith(f"{run_id}: finished at exercise clock 00:0")
    assert f"tsbrunbook exercise report {run_id}" in result.out
    state = Workspace(pack=pack).open(run_id).state
    assert state.closed
    clock_events = [e.payload for e in state.timeline if isinstance(e.payload, ExerciseClock)]
    assert clock_events[-1].action == "pause" and not clock_events[-1].running
    listed = cli("incident", "list")
    assert run_id not in listed.out
    assert f"{run_id}" in cli("incident", "list", "--all").out
    report = cli("exercise", "report", run_id)
    assert report.rc == 0 and "| **Finished** | 20" in report.out
    assert "UTC, at exercise clock 00:0" in report.out
    again = cli("exercise", "finish", run_id)
    assert again.rc == 2 and f"exercise run {run_id} is finished" in again.err
    resumed = cli("exercise", "run", "edge-and-link-drill", "--resume", run_id)
    assert resumed.rc == 2 and f"{run_id} is finished" in resumed.err


def test_finish_refuses_an_incident(cli):
    incident = cli("incident", "start", "Checkout down").out.strip()
    result = cli("exercise", "finish", incident)
    assert result.rc == 2 and "is an incident, not an exercise run" in result.err


def test_a_report_of_an_open_run_says_it_is_not_finished(pack):
    _ws, run = start_run(pack)
    report = exercise_report(run.progress(), run.session.state, run.session.engine)
    assert "| **Finished** | not yet (the run is open) |" in report


CHILD = """
import asyncio, sys
sys.path.insert(0, {root!r})
from datetime import UTC, datetime
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.runbooks.pack import load_pack
from tests.tui.support import until
from tests.tui.test_exercise_flow import start_run_on
from tsbrunbook.tui.app import RunbookApp

async def main():
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    workspace, run = start_run_on(clock, load_pack())
    app = RunbookApp(workspace, run.session, clock=clock, exercise=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        clock.advance(41)
        await pilot.press("n", *"pods restart in a loop", "enter")  # recorded at 00:41
        await until(pilot, lambda: run.session.state.timeline[-1].type == "note", 30)
        clock.advance(19)  # 01:00, still running, nothing recorded since 00:41
        await pilot.pause()
        print(run.session.id, run.now(), run.clock.running, flush=True)
        await asyncio.Event().wait()  # until SIGKILL

asyncio.run(main())
"""


@pytest.mark.long
def test_kill_9_with_the_clock_running_resumes_with_the_scenario_time_run_on(pack):
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD.format(root=str(ROOT)))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ},
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)  # a deadline, not a wait
        assert ready, "the child app never reported its clock"
        run_id, at_kill, running = proc.stdout.readline().split()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (float(at_kill), running) == (60.0, "True")  # killed at 01:00, clock running
    # Reopened ten minutes later: the events say the clock runs (nobody stopped it), so the
    # scenario time kept running: 11:00, and the inject due at 02:00 fires on the next tick.
    later = FakeClock(datetime(2026, 11, 27, 9, 11, tzinfo=UTC))
    session = Workspace(store=Store(clock=later), pack=pack).open(run_id)
    run = ExerciseRun(session, find_exercise(session.state.meta["exercise_file"], pack), later)
    assert run.clock.running  # as the kill left it: nobody paused it
    resumed = run.recover()
    assert resumed is not None and resumed.interrupted
    assert (resumed.last, resumed.offset) == (41.0, 660.0)  # the note at 00:41 was the last
    assert "resumed after an interruption at 11:00" in resumed.message
    assert session.state.timeline[-1].payload == ExerciseClock(
        action="recover", offset=660.0, running=True, speed=1.0
    )
    later.advance(5)
    assert run.now() == 665.0 and run.clock.running
    assert [i.id for i in run.fire_due()] == ["edge-eu-west"]


def crash_and_reopen(pack, minutes: float):
    """A run started at 09:00 whose process died with the clock running; reopened `minutes`
    later (same store, a new ExerciseRun, as `exercise run` does)."""
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    exercise = find_exercise("edge-and-link-drill", pack)
    workspace = Workspace(store=Store(clock=clock), pack=pack)
    session = workspace.start("drill", exercise.estate, kind="exercise")
    ExerciseRun(session, exercise, clock).start()
    clock.advance(minutes * 60)
    again = Workspace(store=Store(clock=clock), pack=pack).open(session.id)
    return clock, ExerciseRun(again, exercise, clock)


def test_after_a_crash_the_clock_stops_at_the_script_end(pack):
    clock, run = crash_and_reopen(pack, 120)  # two hours later; the script lasts 40 minutes
    resumed = run.recover()
    assert resumed is not None and resumed.capped and not resumed.running
    assert run.now() == 2400.0 and not run.clock.running
    assert "script's end" in resumed.message
    clock.advance(60)
    assert run.now() == 2400.0
    assert [i.id for i in run.fire_due()] == [i.id for i in run.exercise.injects]  # all, in order


def test_a_clean_quit_resumes_at_the_exact_offset_running(pack):
    clock, run = crash_and_reopen(pack, 0)
    clock.advance(41.5)
    run.leave()  # `q`
    assert run.session.state.timeline[-1].payload == ExerciseClock(
        action="leave", offset=41.5, running=False, speed=1.0
    )
    clock.advance(3600)  # an hour later
    again = ExerciseRun(
        Workspace(store=Store(clock=clock), pack=run.session.engine.pack).open(run.session.id),
        run.exercise,
        clock,
    )
    resumed = again.recover()
    assert resumed is not None and not resumed.interrupted and resumed.running
    assert again.now() == 41.5 and again.clock.running
    assert resumed.message == "Exercise clock resumed at 00:41, running as it was left."
    clock.advance(2)
    assert again.now() == 43.5
    assert again.progress().due(again.now()) == []


def test_reopening_a_paused_run_changes_nothing(pack):
    clock, run = crash_and_reopen(pack, 1)
    run.pause()
    clock.advance(600)
    again = ExerciseRun(run.session, run.exercise, clock)
    before = len(run.session.state.timeline)
    assert again.recover() is None
    assert again.now() == 60.0 and len(run.session.state.timeline) == before


def test_a_prediction_left_for_later_is_stored_and_said():
    from tsbrunbook.domain.event_text import event_text
    from tsbrunbook.domain.events import EventType, ExercisePrediction, decode, encode
    from tsbrunbook.domain.incident import Event

    payload = ExercisePrediction(inject="db-down", skipped=True)
    data = encode(payload)
    assert data == {"inject": "db-down", "levels": {}, "skipped": True}
    assert decode(EventType.EXERCISE_PREDICTION, data) == payload
    assert "skipped" not in encode(ExercisePrediction(inject="db-down", levels={"a": "ok"}))
    event = Event(5, "EX-1", datetime(2026, 11, 27, tzinfo=UTC), "exercise-prediction", data)
    assert event_text(event).line.plain() == "prediction for db-down: not answered (left for later)"
    with pytest.raises(ValueError, match="'skipped' of a exercise-prediction event"):
        decode(EventType.EXERCISE_PREDICTION, {"inject": "db-down", "skipped": "yes"})
