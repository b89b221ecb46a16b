"""Glyphs and words that carry the meaning without colour (monochrome terminals, screenshots).

Their colours are theme variables (`$error`, `$warning`, `$success`, `$secondary`), resolved
when drawn (`shown.themed`), so every theme recolours them."""

from __future__ import annotations

from ..domain.model import Level

ERROR = "bold $error"
WARNING = "$warning"
SUCCESS = "$success"
BLOCKED = "$secondary"

STATUS = {
    # component status → (glyph, word, style)
    "down": ("✖", "down", ERROR),
    "affected": ("◐", "affected", WARNING),
    "healthy": ("●", "ok", SUCCESS),
}

STEP = {
    # step state → (mark, word, style). Only `done` has a tick: a skip never looks like success.
    "pending": ("[ ]", "", ""),
    "done": ("[x]", "", SUCCESS),
    "skipped": ("[~]", "SKIPPED", WARNING),
    "failed": ("[!]", "FAILED", ERROR),
    "blocked": ("[#]", "BLOCKED", BLOCKED),
}

LEVEL_STYLE = {Level.OK: SUCCESS, Level.LIMITED: WARNING, Level.OUTAGE: ERROR}
LEVEL_SHORT = {Level.OK: "ok", Level.LIMITED: "limited", Level.OUTAGE: "outage"}
ESCALATION = "🆘"
DESTRUCTIVE = "⚠"  # bare (no emoji selector): one cell everywhere, always followed by a word


def level_glyph(level: Level) -> str:
    """✅ ⚠ ❌ for the screen. The ⚠️ of the exports carries an emoji variation selector that
    terminals disagree on (tmux draws it one cell wide, Rich counts two), which shifts the rest
    of the line; the bare ⚠ plus a space is two cells everywhere."""
    return "⚠ " if level == Level.LIMITED else level.glyph
