"""`tsbrunbook exercise list|check|run|finish|report`: tabletop exercises."""

from __future__ import annotations

import argparse
import json
import os

from ..domain.errors import LoadError, UserError
from ..domain.exercise import (
    check_exercise_file,
    exercises_dir,
    find_exercise,
    list_exercises,
)
from ..domain.exercise_run import check_speed
from ..domain.timefmt import offset
from .context import Context
from .text import one_line, report_problems, table


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    from .incident_cmds import add_output_args

    p = sub.add_parser(
        "exercise",
        help="tabletop exercises: list, check, run, finish, report",
        description="Tabletop exercises: scripted failures, predictions, scoring and an after-action report.",
    )
    ex = p.add_subparsers(
        dest="exercise_command", metavar="ACTION", required=True, parser_class=type(p)
    )

    q = ex.add_parser(
        "list",
        help="the shipped exercises",
        description="List the exercises in runbooks/exercises/.",
    )
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.set_defaults(func=cmd_list)

    q = ex.add_parser(
        "check",
        help="validate exercises against the graph and runbooks",
        description="Check that every component, scenario and step an exercise names exists. Prints file:line: message; exit 2 on any problem.",
    )
    q.add_argument(
        "exercise",
        nargs="*",
        metavar="ID|FILE",
        help="exercise ids or files (default: every shipped exercise)",
    )
    q.set_defaults(func=cmd_check)

    q = ex.add_parser(
        "run",
        help="open the TUI in exercise mode",
        description="Run an exercise in the TUI: facilitator clock, injects, predictions, checklists.",
    )
    q.add_argument("exercise", metavar="ID|FILE")
    q.add_argument(
        "--participants", metavar='"a,b,c"', default="", help="comma-separated names for the report"
    )
    q.add_argument(
        "--resume",
        metavar="RUN-ID",
        help="resume an earlier run of this exercise (default: the latest unfinished one)",
    )
    q.add_argument("--new", action="store_true", help="start a fresh run even if one is unfinished")
    q.add_argument(
        "--speed",
        type=float,
        help="clock speed for rehearsals (e.g. 10 = ten times faster; default 1, or the resumed run's)",
    )
    q.set_defaults(func=cmd_run)

    q = ex.add_parser(
        "finish",
        help="finish (close) a run",
        description="Finish an exercise run: its clock stops where it stands and the run is closed "
        "(no more injects, predictions or steps; the report says when it finished).",
    )
    q.add_argument("run", metavar="RUN-ID", help="the run's id (EX-…)")
    q.set_defaults(func=cmd_finish)

    q = ex.add_parser(
        "report",
        help="the after-action report of a run",
        description="Write the after-action report of an exercise run as Markdown.",
    )
    q.add_argument(
        "run", metavar="RUN-ID", help="the run's id (EX-…), from `tsbrunbook incident list --all`"
    )
    add_output_args(q)
    q.set_defaults(func=cmd_report)


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    items = list_exercises(ctx.pack)
    if args.format == "json":
        ctx.out(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "title": e.title,
                        "audience": e.audience,
                        "duration": e.duration,
                        "injects": len(e.injects),
                        "file": e.file,
                    }
                    for e in items
                ],
                indent=2,
            )
        )
        return 0
    rows = [[e.id, one_line(e.title, 60), offset(e.duration), str(len(e.injects))] for e in items]
    ctx.out(table(["ID", "TITLE", "DURATION", "INJECTS"], rows))
    return 0


def cmd_check(args: argparse.Namespace, ctx: Context) -> int:
    import glob

    targets = args.exercise or sorted(glob.glob(os.path.join(exercises_dir(), "*.yaml")))
    problems = []
    for target in targets:
        path = (
            target
            if target.endswith((".yaml", ".yml")) or os.sep in target
            else os.path.join(exercises_dir(), f"{target}.yaml")
        )
        if not os.path.exists(path):
            raise UserError(
                f"no exercise '{one_line(target, 60)}'", "run `tsbrunbook exercise list`"
            )
        problems += check_exercise_file(path, ctx.pack)[1]
    return report_problems(problems, len(targets), "exercise")


def _run_session(workspace, exercise, args):
    """The run to open: --resume ID, else the latest unfinished run of this exercise, else a new one."""
    session = None
    if args.resume:
        session = workspace.open(args.resume)
        if session.state.meta.get("exercise_id") != exercise.id:
            raise UserError(f"{args.resume} is not a run of exercise '{exercise.id}'")
        if session.state.closed:
            raise UserError(
                f"{args.resume} is finished",
                f"its report: `tsbrunbook exercise report {args.resume}`; a new run: --new",
            )
    elif not args.new:
        from ..store import DamagedEvent

        for summary in workspace.store.summaries(include_closed=False, kind="exercise"):
            if summary.damaged:
                continue  # an unreadable run is not the one to resume
            try:
                candidate = workspace.open(summary.id)
            except DamagedEvent:
                continue
            if candidate.state.meta.get("exercise_id") == exercise.id:
                session = candidate
                break
    if session is not None:
        if args.participants:
            raise UserError(
                f"--participants names the people of a new run, and {session.id} is resumed",
                "add --new to start a new run",
            )
        return session
    participants = [p.strip() for p in args.participants.split(",") if p.strip()]
    return workspace.start(
        f"Exercise: {exercise.title}",
        exercise.estate,
        kind="exercise",
        extra={
            "exercise_id": exercise.id,
            "exercise_file": os.path.abspath(exercise.file),
            "participants": participants,
        },
    )


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain.exercise_run import ExerciseRun
    from ..workspace import Workspace

    exercise = find_exercise(args.exercise, ctx.pack)
    if args.speed is not None:
        check_speed(args.speed)  # every check before anything is written
    workspace = Workspace(pack=ctx.pack)
    session = _run_session(workspace, exercise, args)
    run = ExerciseRun(session, exercise)
    if run.recover():
        print(
            f"{session.id}: resumed after a crash; the clock is paused at the last offset the run "
            f"recorded, {offset(run.now())} (p resumes)"
        )
    if args.speed is not None and args.speed != run.clock.speed:
        run.set_speed(args.speed)
    from ..tui.app import RunbookApp

    app = RunbookApp(workspace, session, exercise=run)
    try:
        app.run()
    finally:
        _leave(run)  # the app pauses the clock on `q`; this covers any other way out
    return app.return_code or 0


def _leave(run) -> None:
    """Pause a running clock at the exact offset as the process leaves (never raising over
    what made it leave: a store that fails here is what recover() is for)."""
    try:
        run.leave()
    except (UserError, OSError):
        pass


def _exercise_session(workspace, run_id: str):
    """An exercise run by id; UserError for an incident."""
    session = workspace.open(run_id)
    if session.state.kind != "exercise" or not session.state.meta.get("exercise_file"):
        raise UserError(
            f"{run_id} is an incident, not an exercise run",
            "use `tsbrunbook incident export` (or `incident close`)",
        )
    return session


def _load_exercise(run_id: str, session, pack):
    try:
        return find_exercise(session.state.meta["exercise_file"], pack)
    except LoadError as exc:
        raise UserError(f"the exercise file of {run_id} no longer loads: {exc}")


def cmd_finish(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain.exercise_run import ExerciseRun
    from ..workspace import Workspace

    workspace = Workspace(pack=ctx.pack)
    session = _exercise_session(workspace, args.run)
    run = ExerciseRun(session, _load_exercise(args.run, session, ctx.pack))
    at = run.finish()
    ctx.out(
        f"{session.id}: finished at exercise clock {offset(at)}; "
        f"the report: tsbrunbook exercise report {session.id}"
    )
    return 0


def cmd_report(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain.exercise_report import exercise_report
    from ..domain.exercise_run import progress
    from ..workspace import Workspace

    if args.output:
        from ..output import check_output

        check_output(args.output, force=args.force, example_name=args.run.upper() + "-report.md")
    workspace = Workspace(pack=ctx.pack)
    session = _exercise_session(workspace, args.run)
    exercise = _load_exercise(args.run, session, ctx.pack)
    text = exercise_report(
        progress(exercise, session.state, session.engine), session.state, session.engine
    )
    if args.output:
        from ..output import write_atomically

        write_atomically(args.output, text, force=args.force)
    else:
        ctx.out(text.rstrip())
    return 0
