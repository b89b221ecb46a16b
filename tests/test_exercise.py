"""Exercise scripts: shipped ones check clean, broken ones report each defect at its line;
the clock, injects, predictions and scoring are derived from events (and survive a kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import DATA, ROOT
from tests.test_validate import planted
from tsbrunbook.domain.exercise import find_exercise, list_exercises
from tsbrunbook.domain.exercise_run import ExerciseRun
from tsbrunbook.domain.model import Pack
from tsbrunbook.domain.timefmt import offset, parse_offset
from tsbrunbook.workspace import Workspace

BROKEN = DATA / "broken_exercises"
SEED_SCENARIOS = {
    "workload-cluster-failure",
    "edge-control-plane-failure",
    "connectivity-loss",
    "central-control-plane-failure",
    "management-plane-failure",
    "management-cluster-failure",
}


def test_shipped_exercises_check_clean(cli):
    result = cli("exercise", "check")
    assert result.rc == 0, result.err
    assert result.out.startswith("ok: 4 exercise(s)")


def test_shipped_exercises_cover_the_six_scenarios_a_cascade_and_a_restoration(pack, engine):
    exercises = list_exercises(pack)
    assert len(exercises) >= 4
    caused: set[str] = set()
    cascade = False
    restoration_with_support = False
    for ex in exercises:
        down: list[str] = []
        for inject in ex.injects:
            down = [c for c in down if c not in inject.up] + [
                c for c in inject.down if c not in down
            ]
            matched = engine.assess(down).scenarios
            caused |= {m.scenario.id for m in matched}
            cascade |= len(matched) >= 2
            for exp in inject.expectations:
                if "/restoration/" in exp.ref and exp.kind == "escalation":
                    restoration_with_support |= any(
                        "restore-secrets" in e.ref for i in ex.injects for e in i.expectations
                    )
    assert caused >= SEED_SCENARIOS
    assert cascade and restoration_with_support


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.name)
def test_each_planted_exercise_defect_is_reported_with_its_line(cli, path):
    expected = planted(path)
    result = cli("exercise", "check", str(path))
    assert result.rc == 2 and "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    for line_no, text in expected:
        assert any(ln.startswith(f"{path}:{line_no}: ") and text in ln for ln in lines), (
            f"{path.name}:{line_no} '{text}' not in:\n{result.err}"
        )
    # and nothing else than the planted defects
    assert len(lines) - 1 == len(expected), result.err


def test_offsets_parse_and_format():
    assert parse_offset("05:00") == 300 and parse_offset("1:02:03") == 3723
    assert parse_offset("5 min") is None and parse_offset("00:75") is None
    assert offset(3723) == "1:02:03" and offset(59) == "00:59"


def test_unknown_exercise_suggests(cli):
    result = cli("exercise", "run", "casade")
    assert result.rc == 2 and "did you mean cascade" in result.err


def start_run(
    pack: Pack, exercise_id: str = "edge-and-link-drill"
) -> tuple[Workspace, ExerciseRun]:
    exercise = find_exercise(exercise_id, pack)
    workspace = Workspace(pack=pack)
    session = workspace.start(
        f"Exercise: {exercise.title}",
        exercise.estate,
        kind="exercise",
        extra={"exercise_id": exercise.id, "exercise_file": exercise.file, "participants": ["ana"]},
    )
    return workspace, ExerciseRun(session, exercise)


def test_clock_injects_predictions_and_scoring(pack):
    _ws, run = start_run(pack)
    assert run.fire_due() == []  # the clock has not started
    run.start()
    assert [i.id for i in run.jump_to_next()] == ["edge-eu-west"]
    assert list(run.session.state.down) == ["edge-control-plane/eu-west"]
    assert run.now() >= 120
    run.predict(
        "edge-eu-west",
        {
            "running-workloads": "ok",
            "local-cluster-operations": "limited",
            "metrics-collection": "limited",
            "management-operations": "ok",
        },
    )
    run.session.set_step("edge-control-plane-failure@eu-west/recovery/check-edge-pods", "done")
    run.jump_to_next()
    run.predict(
        "link-us-east",
        {
            "running-workloads": "ok",
            "local-cluster-operations": "ok",
            "metrics-collection": "ok",
            "management-operations": "ok",
        },
    )
    prog = run.progress()
    assert [p.score for p in prog.predictions] == [1.0, 0.5]
    results = {r.expectation.ref.rsplit("/", 1)[1]: r.status for r in prog.expectations}
    assert results["check-edge-pods"] == "met"
    assert results["check-cluster-status"] == "missed"  # due 14:00, the clock is at 15:00
    assert results["test-reachability"] == "open"  # due 24:00: not missed yet
    first = prog.injects[0]
    assert (
        first.instances == ["edge-control-plane-failure@eu-west"]
        and first.first_action_after is not None
    )
    with pytest.raises(Exception, match="not fired yet"):
        run.predict(
            "ap-south-gone",
            {
                "running-workloads": "ok",
                "local-cluster-operations": "ok",
                "metrics-collection": "ok",
                "management-operations": "ok",
            },
        )


def test_kill_mid_exercise_and_resume_loses_nothing(pack, isolated_home):
    child = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tsbrunbook.domain.runbooks.pack import load_pack
        from tests.test_exercise import start_run
        ws, run = start_run(load_pack())
        run.start()
        run.set_speed(30.0)
        run.jump_to_next()
        run.predict("edge-eu-west", {{"running-workloads": "ok", "local-cluster-operations": "limited", "metrics-collection": "ok", "management-operations": "ok"}})
        run.pause()
        print(run.session.id, run.now(), flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        run_id, offset = proc.stdout.readline().split()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    workspace = Workspace(pack=pack)
    session = workspace.open(run_id)
    exercise = find_exercise(session.state.meta["exercise_file"], pack)
    run = ExerciseRun(session, exercise)
    prog = run.progress()
    assert list(prog.fired) == ["edge-eu-west"]
    assert prog.clock.offset == pytest.approx(float(offset), abs=0.01) and not prog.clock.running
    assert prog.clock.speed == 30.0
    assert [p.score for p in prog.predictions] == [0.75]
    assert list(session.state.down) == ["edge-control-plane/eu-west"]
    run.start()  # and it goes on from there
    assert run.now() >= float(offset)


def test_resume_after_a_kill_with_the_clock_running_keeps_the_scenario_time(pack):
    from datetime import UTC, datetime

    from tsbrunbook.domain.clock import FakeClock
    from tsbrunbook.store import Store

    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    exercise = find_exercise("edge-and-link-drill", pack)
    workspace = Workspace(store=Store(clock=clock), pack=pack)
    session = workspace.start("drill", exercise.estate, kind="exercise")
    run = ExerciseRun(session, exercise, clock)
    run.start()
    run.set_speed(2.0)
    clock.advance(30)
    session.add_note("pods restart in a loop")  # at 01:00 on the exercise clock
    clock.advance(45)  # the process died; reopened 45 s later: the scenario time ran on at ×2
    resumed = ExerciseRun(
        Workspace(store=Store(clock=clock), pack=pack).open(session.id), exercise, clock
    )
    result = resumed.recover()
    assert result is not None and result.interrupted and result.running
    assert (result.last, result.offset) == (60.0, 150.0)
    assert resumed.clock.running and resumed.clock.speed == 2.0 and resumed.now() == 150.0
    assert "resumed after an interruption at 02:30" in result.message
    assert resumed.recover() is None  # once
    assert [i.id for i in resumed.progress().due(resumed.now())] == ["edge-eu-west"]


def test_exercise_run_bad_input_writes_nothing(cli, isolated_home):
    from tsbrunbook.store import Store

    result = cli("exercise", "run", "cascade", "--speed", "0")
    assert result.rc == 2 and "out of range" in result.err
    assert Store().summaries(include_closed=True) == []


def test_report_of_a_fresh_run_claims_nothing_met(pack):
    from tsbrunbook.domain.exercise_report import exercise_report

    _ws, run = start_run(pack)
    report = exercise_report(run.progress(), run.session.state, run.session.engine)
    missed = report.split("## Missed expectations")[1].split("##")[0]
    assert "every expectation was met" not in missed
    assert "None so far" in missed and "Not due yet when this report was written: 4" in missed
