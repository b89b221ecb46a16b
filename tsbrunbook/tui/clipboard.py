"""Copying text to where the user is: the terminal's clipboard (OSC 52) and, under tmux, tmux's
paste buffer too (`tmux load-buffer -w -`).

Why both: under tmux's default `set-clipboard external` tmux swallows the application's OSC 52,
so a copy that only writes OSC 52 silently does nothing there. `load-buffer -w` puts the text in
tmux's buffer (prefix-] pastes it) and, with `-w`, forwards it to the outer terminal's clipboard.
OSC 52 itself is never confirmed by the terminal: the message says so rather than claim success.

`tmux_load_buffer` runs a process: call it off the UI thread (the app does, in a worker)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

TMUX_TIMEOUT = 2.0  # seconds for the whole tmux call: a hung server must not hold the copy


@dataclass(frozen=True)
class Copied:
    """What a copy did: OSC 52 written, tmux's buffer loaded (None: not under tmux), and why the
    tmux buffer failed if it did."""

    tmux: bool | None = None
    tmux_error: str = ""

    def message(self, what: str) -> str:
        """`Command copied (OSC 52 and tmux buffer)` and the like: what was actually done."""
        if self.tmux:
            return f"{what} copied (OSC 52 and tmux buffer)"
        said = f"{what} copied to the terminal clipboard (OSC 52) — not confirmed by the terminal"
        if self.tmux is False:
            said += f"; the tmux buffer was not set: {self.tmux_error}"
        return said


def under_tmux(env: Mapping[str, str] | None = None) -> bool:
    """True inside a tmux pane (tmux sets `$TMUX` for every process it starts)."""
    return bool((os.environ if env is None else env).get("TMUX"))


def tmux_load_buffer(text: str, timeout: float = TMUX_TIMEOUT) -> Copied:
    """Load `text` into tmux's paste buffer (and, with `-w`, the outer terminal's clipboard).
    Blocks for at most `timeout` seconds in all: run it in a worker."""
    try:
        done = subprocess.run(
            ["tmux", "load-buffer", "-w", "-"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        return Copied(tmux=False, tmux_error="the tmux command was not found")
    except subprocess.TimeoutExpired:
        return Copied(tmux=False, tmux_error=f"tmux did not answer within {timeout:g} s")
    except OSError as exc:
        return Copied(tmux=False, tmux_error=f"tmux could not be run: {exc}")
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return Copied(
            tmux=False, tmux_error=reason[0] if reason else f"exit status {done.returncode}"
        )
    return Copied(tmux=True)
