"""Predict the impact of an inject before looking, then see each cell marked right or wrong.

Fair by construction: nothing is preselected (a row shows "—" until it is set), a key sets the
highlighted row and never moves the highlight (so `o ↓ l ↓ l ↓ o` means exactly what it says),
the prediction locks only when every row is set, and the screen is opaque: the impact, the
components and the checklists the inject changed stay hidden behind it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen

from ...domain.model import Level, Operation
from ..glyphs import ERROR, SUCCESS, level_glyph
from ..shown import ShownStatic
from ..shown import ShownText as Text  # Text: strings are sanitised as they are added

KEYS = {"o": "ok", "l": "limited", "x": "outage"}
UNSET = "—"
HINT = (
    "↑↓ or tab move · o ok · l limited · x outage (sets the highlighted row; the highlight stays)"
    " · enter locks when every row is set · esc answers later (a) · p pauses the clock"
)


class PredictionScreen(ModalScreen[None]):
    """↑/↓ (tab/shift+tab) choose an operation; o / l / x set its level, staying on it; enter
    locks the prediction once every row is set; esc leaves it unanswered (answer later with `a`).
    After locking, the reveal marks each row; enter or esc closes.

    The app records the prediction (`Made`) and then calls `reveal()`; `Done` asks it to close the
    dialog (and show the next question, if one is waiting, without the main screen in between)."""

    DEFAULT_CSS = """
    PredictionScreen { align: center middle; background: $background; }
    PredictionScreen > Vertical { width: 90%; max-width: 100; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("shift+tab", "move(-1)", "Up", show=False),
        Binding("tab", "move(1)", "Down", show=False),
        Binding("o", "set('ok')", "ok"),
        Binding("l", "set('limited')", "limited"),
        Binding("x", "set('outage')", "outage"),
        Binding("enter", "submit", "Lock"),
        Binding("escape", "later", "Answer later"),
        # The facilitator may stop the clock while the room discusses (the app's `p`).
        Binding("p", "app.clock", "Start/pause clock"),
    ]

    class Made(Message):
        """Every row is set and enter was pressed: record this prediction."""

        def __init__(self, inject_id: str, levels: dict[str, str]) -> None:
            super().__init__()
            self.inject_id = inject_id
            self.levels = levels

    class Done(Message):
        """Close the dialog; `answered` False: it was left without a prediction (esc)."""

        def __init__(self, inject_id: str, answered: bool) -> None:
            super().__init__()
            self.inject_id = inject_id
            self.answered = answered

    def __init__(
        self, inject_id: str, question: str, message: str, operations: tuple[Operation, ...]
    ) -> None:
        super().__init__()
        self.inject_id = inject_id
        self.question = question
        self.message = message
        self.operations = operations
        self.levels: dict[str, str | None] = {op.id: None for op in operations}
        self.row = 0
        self.missing: list[str] = []  # the rows enter found unset (said until they are set)
        self.actual: dict[str, str] | None = None
        # Enter locked the prediction and the app is storing it (reveal() follows); an enter
        # meanwhile closes the dialog as soon as the answer is shown, as it would after it.
        self.locking = False
        self.close_on_reveal = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield ShownStatic(id="prediction")

    def on_mount(self) -> None:
        self.render_form()

    @property
    def answered(self) -> dict[str, str]:
        return {op: level for op, level in self.levels.items() if level is not None}

    def render_form(self) -> None:
        text = Text()
        text.append(f"Inject {self.inject_id}\n", style="bold")
        text.append(self.message + "\n\n")
        text.append(self.question + "\n\n", style="bold")
        width = max(len(op.title) for op in self.operations) + 2
        for index, op in enumerate(self.operations):
            chosen = self.levels[op.id]
            here = index == self.row and self.actual is None
            text.append(
                f"{'▶ ' if here else '  '}{op.title:<{width}}", style="bold" if here else ""
            )
            if chosen is None:
                text.append(f" {UNSET:<11}", style="bold" if op.id in self.missing else "dim")
            else:
                text.append(f" {level_glyph(Level.parse(chosen))} {chosen:<8}", style="reverse")
            if self.actual is not None and chosen is not None:
                want = self.actual[op.id]
                if want == chosen:
                    text.append("  ✅ right", style=SUCCESS)
                else:
                    text.append(f"  ❌ wrong — it is {want}", style=ERROR)
            text.append("\n")
        if self.actual is None:
            if self.missing:
                titles = [op.title for op in self.operations if op.id in self.missing]
                text.append(f"\nNot locked: set {', '.join(titles)} first.\n", style="bold")
            text.append("\n" + HINT, style="dim")
        else:
            right = sum(1 for op in self.operations if self.actual[op.id] == self.levels[op.id])
            text.append(
                f"\n{right}/{len(self.operations)} right. Enter closes; the impact pane then shows the reasons.",
                style="bold",
            )
        self.query_one("#prediction", ShownStatic).update(text)

    def action_move(self, step: int) -> None:
        if self.actual is None and not self.locking:
            self.row = (self.row + step) % len(self.operations)
            self.render_form()

    def action_set(self, level: str) -> None:
        """Set the highlighted row; the highlight does not move (↓ moves it)."""
        if self.actual is not None or self.locking:
            return
        op = self.operations[self.row].id
        self.levels[op] = level
        if op in self.missing:
            self.missing.remove(op)
        self.render_form()

    def action_submit(self) -> None:
        if self.actual is not None:
            self.post_message(self.Done(self.inject_id, answered=True))
            return
        if self.locking:
            self.close_on_reveal = True
            return
        self.missing = [op.id for op in self.operations if self.levels[op.id] is None]
        if self.missing:
            self.render_form()
            return
        # The app records the prediction first, then calls reveal() with the engine's answer
        # (or not_locked() when it could not be recorded).
        self.locking = True
        self.post_message(self.Made(self.inject_id, self.answered))

    def reveal(self, actual: dict[str, str]) -> None:
        self.actual, self.locking = actual, False
        self.render_form()
        if self.close_on_reveal:
            self.post_message(self.Done(self.inject_id, answered=True))

    def not_locked(self) -> None:
        """The prediction was not recorded: the levels stay set, enter tries again."""
        self.locking = self.close_on_reveal = False

    def action_later(self) -> None:
        answered = self.actual is not None or self.locking
        self.post_message(self.Done(self.inject_id, answered=answered))
