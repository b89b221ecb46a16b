"""Glyphs and words that carry the meaning without colour (monochrome terminals, screenshots)."""

from __future__ import annotations

from ..domain.model import Level

STATUS = {
    # component status → (glyph, word, style)
    "down": ("✖", "down", "bold red"),
    "affected": ("◐", "affected", "yellow"),
    "healthy": ("●", "ok", "green"),
}

STEP = {
    # step state → (mark, word, style). Only `done` has a tick: a skip never looks like success.
    "pending": ("[ ]", "", ""),
    "done": ("[x]", "", "green"),
    "skipped": ("[~]", "SKIPPED", "yellow"),
    "failed": ("[!]", "FAILED", "bold red"),
    "blocked": ("[#]", "BLOCKED", "magenta"),
}

LEVEL_STYLE = {Level.OK: "green", Level.LIMITED: "yellow", Level.OUTAGE: "bold red"}
LEVEL_SHORT = {Level.OK: "ok", Level.LIMITED: "limited", Level.OUTAGE: "outage"}
ESCALATION = "🆘"
DESTRUCTIVE = "⚠"  # bare (no emoji selector): one cell everywhere, always followed by a word


def level_glyph(level: Level) -> str:
    """✅ ⚠ ❌ for the screen. The ⚠️ of the exports carries an emoji variation selector that
    terminals disagree on (tmux draws it one cell wide, Rich counts two), which shifts the rest
    of the line; the bare ⚠ plus a space is two cells everywhere."""
    return "⚠ " if level == Level.LIMITED else level.glyph
