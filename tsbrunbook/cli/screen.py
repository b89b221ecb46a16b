"""How a command asks for the TUI without importing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..domain.exercise_run import ExerciseRun
    from ..domain.incident import IncidentSession
    from ..workspace import Workspace


@dataclass(frozen=True)
class OpenScreen:
    """What a command returns to have the TUI opened on a session. The command line never
    imports the TUI: the entry point (tsbrunbook/entry.py) gives `main` the function that opens
    it, so the two faces stay independent and `impact` never pays for Textual."""

    session: IncidentSession
    exercise: ExerciseRun | None = None


ScreenOpener = Callable[["Workspace", OpenScreen], int]

Command = TypeVar("Command", bound=Callable[..., object])


def opens_screen(command: Command) -> Command:
    """Marks a command that returns `OpenScreen`: the program's start (and its paused garbage
    collector, see startup_gc) lasts until the TUI's first frame, not just until it runs."""
    command.opens_screen = True  # type: ignore[attr-defined]
    return command
