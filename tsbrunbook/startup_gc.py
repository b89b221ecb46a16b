"""Python's cyclic garbage collector, paused while the program starts.

Starting the app imports a hundred modules (Textual's and ours) and builds the first screen:
hundreds of thousands of objects, almost none of them garbage, yet the collector ran ~180 times
over them before the first frame (30–40 ms of a ~350 ms start, measured). Reference counting
still frees everything that is not in a cycle while the collector is paused.

`tsbrunbook` (entry.main) pauses it first thing and resumes it as soon as the real work begins:
before a command runs (the CLI), or just after the first frame is drawn (the TUI: `RunbookApp`).
Resuming is idempotent, and a no-op when it was not paused here (the test suite, a library
user), so nothing but the `tsbrunbook` program itself ever runs with it paused.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Pause the collector (unless something else already has)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Run the collector again, if `pause` paused it."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()
