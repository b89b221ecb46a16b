"""`tsbrunbook exercise list|check|run|finish|report`: tabletop exercises."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from ..domain.errors import LoadError, UserError
from ..domain.text import one_line
from ..domain.timefmt import offset
from .screen import OpenScreen, opens_screen
from .text import out, report_problems, table

if TYPE_CHECKING:
    from ..workspace import Workspace

# The exercise modules are imported by the commands that use them, not by every command's
# parser: they are a quarter of the CLI's import time, and most commands are incident commands.


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


def cmd_list(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..domain.exercise import list_exercises

    items = list_exercises(workspace.pack)
    if args.format == "json":
        out(
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
    out(table(["ID", "TITLE", "DURATION", "INJECTS"], rows))
    return 0


def cmd_check(args: argparse.Namespace, workspace: Workspace) -> int:
    import glob

    from ..domain.exercise import check_exercise_file, exercises_dir

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
        problems += check_exercise_file(path, workspace.pack)[1]
    return report_problems(problems, len(targets), "exercise")


@opens_screen
def cmd_run(args: argparse.Namespace, workspace: Workspace) -> OpenScreen:
    from ..domain.exercise import find_exercise
    from ..domain.exercise_run import ExerciseRun, check_speed

    exercise = find_exercise(args.exercise, workspace.pack)
    if args.speed is not None:
        check_speed(args.speed)  # every check before anything is written
    session = workspace.exercise_session(exercise, args.resume, args.new, args.participants)
    if session.state.closed:
        raise UserError(
            f"{session.id} is finished",
            f"its report: `tsbrunbook exercise report {session.id}`; a new run: --new",
        )
    run = ExerciseRun(session, exercise)
    resumed = run.recover()  # the app says so too, on its first screen
    if resumed is not None:
        out(f"{session.id}: {resumed.message}")
    if args.speed is not None and args.speed != run.clock.speed:
        run.set_speed(args.speed)
    return OpenScreen(session, exercise=run)


def cmd_finish(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..domain.exercise import find_exercise
    from ..domain.exercise_run import ExerciseRun

    session = workspace.open(args.run)
    exercise_file = session.state.meta.get("exercise_file")
    if session.state.kind != "exercise" or not exercise_file:
        raise UserError(
            f"{session.id} is an incident, not an exercise run",
            "`tsbrunbook incident close` closes an incident",
        )
    try:
        exercise = find_exercise(exercise_file, workspace.pack)
    except LoadError as exc:
        raise UserError(f"the exercise file of {session.id} no longer loads: {exc}") from None
    at = ExerciseRun(session, exercise).finish()
    out(
        f"{session.id}: finished at exercise clock {offset(at)}; "
        f"the report: tsbrunbook exercise report {session.id}"
    )
    return 0


def cmd_report(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..output import check_output, write_atomically

    if args.output:
        check_output(args.output, force=args.force, example_name=args.run.upper() + "-report.md")
    text = workspace.exercise_report(workspace.open(args.run))
    if args.output:
        write_atomically(args.output, text, force=args.force)
    else:
        out(text.rstrip())
    return 0
