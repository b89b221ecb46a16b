"""The `tsbrunbook` command: the command line, handing over to the TUI when a screen is wanted.

The only module that knows both faces; neither `cli` nor `tui` imports the other."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cli import OpenScreen
    from .workspace import WarRoomOptions, Workspace


def open_screen(workspace: Workspace, request: OpenScreen) -> int:
    """Run the TUI on the session the command chose; its exit status (non-zero when the app
    stopped on an error)."""
    from .tui.app import RunbookApp

    app = RunbookApp(workspace, request.session, exercise=request.exercise)
    app.run()
    return app.return_code or 0


def serve(workspace: Workspace, request: WarRoomOptions) -> int:
    """Run the war-room server until it is stopped (Ctrl+C, SIGTERM)."""
    from .serve.server import run

    return run(workspace, request)


def main(argv: list[str] | None = None) -> int:
    from . import startup_gc

    startup_gc.pause()  # until the work begins: see startup_gc
    try:
        from .cli import main as cli_main

        return cli_main(argv, open_screen=open_screen, serve=serve)
    finally:
        startup_gc.resume()
