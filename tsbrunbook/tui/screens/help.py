"""Every key, in one place."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen

from ..shown import Hanging, ShownStatic

KEYS = [
    (
        "Anywhere",
        [
            ("1 / 2 / 3", "components / impact / checklists pane"),
            ("tab, shift+tab", "next / previous pane"),
            ("?", "this help"),
            (
                "ctrl+p",
                "command palette: mark down/up, jump to scenario, export, switch incident, theme",
            ),
            ("n", "note on the highlighted step (checklists) or on the incident"),
            ("N", "a long note written in $EDITOR (the app steps aside meanwhile)"),
            ("T", "rename the incident (the timeline keeps the old title)"),
            ("C", "close the incident (asks first; it then takes no more changes)"),
            ("e", "export the incident to Markdown"),
            ("i", "switch incident or start a new one"),
            ("B", "support case brief: written next to the exports and copied (as c)"),
            ("h", "probe the management plane's status endpoint (suggests; you confirm)"),
            ("q", "quit (everything is already stored)"),
        ],
    ),
    (
        "Components",
        [
            ("↑ ↓", "move"),
            ("space", "mark the highlighted component down / up"),
            ("/", "filter; enter goes to the first match, esc clears"),
        ],
    ),
    (
        "Impact",
        [
            ("← → ↑ ↓", "move between cells; the reasons for the cell show beneath"),
        ],
    ),
    (
        "Checklists",
        [
            ("space", "step done / undo"),
            ("s", "skip (asks for the reason)"),
            ("f", "failed"),
            ("b", "blocked"),
            ("x", "raise the escalation of a 🆘 step (asks for the case number)"),
            (
                "w",
                "claim the step (“in progress — you”) / release it; someone else's: asks first",
            ),
            ("c", "copy the step's commands (OSC 52; under tmux its buffer too)"),
            ("r", "switch between recovery and restoration"),
            ("]", "next checklist that matches now (stale ones: collapsed at the bottom)"),
        ],
    ),
    (
        "Exercise mode",
        [
            ("p", "start / pause the clock"),
            ("j", "jump to the next inject"),
            ("+ / -", "clock faster / slower"),
            ("g", "note a runbook gap (on the highlighted step)"),
            ("a", "answer a prediction left for later"),
            ("R", "write the after-action report"),
            ("F", "finish the run (asks first): the clock stops, the run closes"),
        ],
    ),
    (
        "Prediction dialog",
        [
            ("↑ ↓ / tab", "move between operations"),
            ("o / l / x", "set the highlighted row to ok / limited / outage (stays on it)"),
            ("enter", "lock the prediction (every row set), then close the reveal"),
            ("esc", "answer later (a)"),
        ],
    ),
]


KEY_COLUMN = 18  # "  " and the key, padded: descriptions wrap back to this column


def help_text() -> Hanging:
    text = Hanging()
    text.add("tsbrunbook keys", style="bold").add("")
    for section, keys in KEYS:
        text.add(section, style="bold underline")
        for key, what in keys:
            line = Text.assemble(("  " + f"{key:<{KEY_COLUMN - 2}}", "bold $accent"), what)
            text.add(line, indent=KEY_COLUMN)
        text.add("")
    text.add(
        "Glyphs: ✅ ok  ⚠ limited  ❌ outage · ✖ down  ◐ affected  ● ok · [x] done  [~] skipped"
        "  [!] failed  [#] blocked  🆘 Tetrate support",
        indent=8,
        style="dim",
    )
    return text


# Outside the scrolling keys, so it shows without scrolling at any size.
HINT = "↑ ↓ pgup pgdn scroll · esc or ? closes this help"


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 100; height: 90%; border: thick $accent; background: $surface;
    }
    HelpScreen VerticalScroll { height: 1fr; padding: 1 2 0 2; }
    HelpScreen #help-hint { dock: bottom; height: 1; padding: 0 2; color: $text-muted; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield ShownStatic(HINT, id="help-hint")
            with VerticalScroll():
                yield ShownStatic(help_text())

    def action_close(self) -> None:
        self.dismiss(None)
