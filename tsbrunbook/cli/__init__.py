"""The `tsbrunbook` command line: argument parsing, printing and error reporting.

Each command is `cmd_…(args, workspace) -> exit status`: the work is done by the `Workspace`
(tsbrunbook/workspace.py) and the domain; a command module only parses and prints."""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import __version__, startup_gc
from ..domain.errors import UserError
from .screen import OpenScreen, ScreenOpener, opens_screen

if TYPE_CHECKING:
    from ..workspace import WarRoomOptions, Workspace

WarRoomRunner = Callable[["Workspace", "WarRoomOptions"], int]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line with a hint, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse repeats arguments it did not expect: never a database password among them.
        message = _POSTGRES_URL.sub(lambda m: _without_password(m.group()), message)
        sys.stderr.write(f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


_POSTGRES_URL = re.compile(r"postgres(?:ql)?://[^\s',]*")


def _without_password(url: str) -> str:
    from ..store import pgurl

    return pgurl.parse(url).location


DATABASE_URL_HELP = (
    "the team's PostgreSQL store, postgresql://USER@HOST:PORT/DATABASE, never with a password "
    "(default: $TSBRUNBOOK_DATABASE_URL, else the local SQLite store)"
)


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    """Options every command takes, before or after its name: given after it, a subcommand's
    value wins; not given there, the one before it stays (SUPPRESS: no default to overwrite it)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                sub.add_argument(
                    "--database-url",
                    metavar="URL",
                    default=argparse.SUPPRESS,
                    help=DATABASE_URL_HELP,
                )
                _add_global_options(sub)


def _estate_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--estate", metavar="FILE", help="estate YAML (default: the bundled demo estate)"
    )


# Built once per process: parsing never changes the parser, and building it (35 subcommands,
# each help string through gettext) costs more than most commands' own work.
@functools.cache
def build_parser() -> Parser:
    from . import (
        access_cmds,
        exercise_cmds,
        incident_cmds,
        runbook_cmds,
        secret_cmds,
        serve_cmds,
        store_cmds,
        support_cmds,
    )

    parser = Parser(
        prog="tsbrunbook",
        description="Runbook assistant for on-call engineers running Tetrate Service Bridge.",
        epilog="Without a command, opens the TUI on the bundled demo estate.",
    )
    parser.add_argument("--version", action="version", version=f"tsbrunbook {__version__}")
    parser.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    runbook_cmds.add_parsers(sub, _estate_arg)
    incident_cmds.add_parsers(sub, _estate_arg)
    exercise_cmds.add_parsers(sub, _estate_arg)
    support_cmds.add_parsers(
        sub, _estate_arg
    )  # after incident_cmds: adds `incident brief|chat`, and `probe`
    secret_cmds.add_parsers(sub, _estate_arg)
    store_cmds.add_parsers(sub, _estate_arg)
    serve_cmds.add_parsers(sub, _estate_arg)
    access_cmds.add_parsers(sub, _estate_arg)
    p = sub.add_parser(
        "tui",
        help="open the TUI (the default without a command)",
        description="Open the TUI: resumes the most recent open incident on the estate, or starts one.",
    )
    _estate_arg(p)
    p.add_argument("--incident", metavar="ID", help="open this incident (its own estate is used)")
    p.add_argument(
        "--read-only",
        action="store_true",
        help="watch only: every change, the probe and chat updates are refused (the war-room "
        "view's read-only sessions)",
    )
    p.set_defaults(func=cmd_tui)
    _add_global_options(parser)
    return parser


@opens_screen
def cmd_tui(args: argparse.Namespace, workspace: Workspace) -> OpenScreen:
    """Everything that can fail on bad input happens here, before the first frame."""
    if args.incident:
        if args.estate:
            raise UserError(
                "--incident and --estate do not go together",
                "an incident keeps the estate it was started with",
            )
        session = workspace.open(args.incident)
    else:
        session = workspace.resume_or_start(args.estate)
    return OpenScreen(session)


def _check_utf8(argv: list[str]) -> None:
    """Python hands undecodable argv bytes over as lone surrogates, which no store, file or
    terminal can take: refuse them here, naming the argument, before anything is written."""
    for n, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise UserError(
                f"argument {n} is not valid UTF-8", "check the terminal's locale, or retype it"
            ) from None


def _tui_args(database_url: str | None) -> argparse.Namespace:
    return argparse.Namespace(
        command="tui",
        estate=None,
        incident=None,
        read_only=False,
        database_url=database_url,
        func=cmd_tui,
    )


def main(
    argv: list[str] | None = None,
    open_screen: ScreenOpener | None = None,
    serve: WarRoomRunner | None = None,
) -> int:
    """Run one command; exit status 0, 2 (bad input, one line on stderr) or 70 (our bug).
    `open_screen` opens the TUI for commands that want one (`tui`, `exercise run`); `serve`
    runs the war-room server (`serve`)."""
    from ..workspace import WarRoomOptions, Workspace

    argv = sys.argv[1:] if argv is None else argv
    try:
        _check_utf8(argv)
        if not argv:
            # The 3 a.m. path: straight to the TUI, without importing every command's module.
            args = _tui_args(database_url=None)
        else:
            args = build_parser().parse_args(argv)
            if args.command is None:  # only options such as --database-url were given
                args = _tui_args(database_url=args.database_url)
        if args.database_url:
            from .store_cmds import refuse_password

            refuse_password(args.database_url, "--database-url")
        # Opens the store and loads the runbooks when first asked; a read-only TUI's store
        # refuses every write.
        read_only = args.command == "tui" and args.read_only
        with Workspace(database_url=args.database_url, read_only=read_only) as workspace:
            if not getattr(args.func, "opens_screen", False):
                startup_gc.resume()  # the command's own work starts: see startup_gc
            result = args.func(args, workspace)
            if isinstance(result, OpenScreen):
                if open_screen is None:
                    raise UserError("this entry point has no TUI", "run `tsbrunbook` itself")
                from ..domain.author import current_actor

                current_actor()  # a TSBRUNBOOK_USER every action would refuse: before the screen
                return open_screen(workspace, result)
            if isinstance(result, WarRoomOptions):
                if serve is None:
                    raise UserError("this entry point has no server", "run `tsbrunbook` itself")
                return serve(workspace, result)
            return int(result or 0)
    except UserError as exc:
        from ..domain.text import one_line

        # One line, control characters removed: ids come from the user and may be hostile.
        sys.stderr.write(f"tsbrunbook: error: {one_line(str(exc))}\n")
        return 2
    except BrokenPipeError:
        # `tsbrunbook … | head` closed the pipe: not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    except Exception as exc:  # noqa: BLE001 — the last line of defence: never a traceback
        if os.environ.get("TSBRUNBOOK_DEBUG"):
            raise
        from ..domain.text import one_line

        sys.stderr.write(
            f"tsbrunbook: internal error: {type(exc).__name__}: {one_line(str(exc), 300)} (set TSBRUNBOOK_DEBUG=1 for a traceback)\n"
        )
        return 70
