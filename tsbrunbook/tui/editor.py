"""Long notes: `$VISUAL`/`$EDITOR` edits a temporary file, and what was saved is the note.

The app calls `edit_note` inside `App.suspend()`, so the editor has the terminal to itself."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping

from ..domain.errors import UserError


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """The user's editor as a command line (`$VISUAL`, then `$EDITOR`, else `vi`)."""
    env = os.environ if env is None else env
    raw = env.get("VISUAL") or env.get("EDITOR") or "vi"
    try:
        words = shlex.split(raw)
    except ValueError as exc:
        raise UserError(f"$EDITOR cannot be read as a command: {exc}", "fix $EDITOR") from exc
    if not words:
        raise UserError("$EDITOR is blank", "set EDITOR to your editor, e.g. EDITOR=vi")
    return words


def edit_note(target: str, env: Mapping[str, str] | None = None) -> str:
    """Open the editor on an empty file and return what was saved there, stripped ("" when
    nothing was). A missing editor or one that fails is a UserError: nothing is recorded."""
    command = editor_command(env)
    fd, path = tempfile.mkstemp(prefix="tsbrunbook-note-", suffix=".md")
    try:
        os.close(fd)
        try:
            done = subprocess.run([*command, path], check=False)
        except OSError as exc:
            raise UserError(
                f"the editor '{command[0]}' could not be started for the note on {target}: "
                f"{exc.strerror or exc}",
                "set EDITOR to an editor that is installed; n writes a short note instead",
            ) from exc
        if done.returncode != 0:
            raise UserError(
                f"the editor '{command[0]}' exited with status {done.returncode}",
                "nothing was recorded; n writes a short note instead",
            )
        with open(path, encoding="utf-8", errors="replace") as note:
            return note.read().strip()
    finally:
        os.unlink(path)
