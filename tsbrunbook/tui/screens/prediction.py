"""Predict the impact of an inject before looking, then see each cell marked right or wrong."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen

from ...domain.model import LEVEL_IDS, Level, Operation
from ..glyphs import level_glyph
from ..shown import ShownStatic
from ..shown import ShownText as Text  # Text: strings are sanitised as they are added

KEYS = {"o": "ok", "l": "limited", "x": "outage"}


class PredictionScreen(ModalScreen[dict[str, str] | None]):
    """↑/↓ choose an operation; o / l / x (or ←/→) set ok / limited / outage; enter submits.
    After submitting, the reveal marks each cell; enter or esc closes."""

    DEFAULT_CSS = """
    PredictionScreen { align: center middle; }
    PredictionScreen > Vertical { width: 90%; max-width: 96; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("left", "cycle(-1)", "Less", show=False),
        Binding("right", "cycle(1)", "Worse", show=False),
        Binding("o", "set('ok')", "ok"),
        Binding("l", "set('limited')", "limited"),
        Binding("x", "set('outage')", "outage"),
        Binding("enter", "submit", "Submit"),
        Binding("escape", "cancel", "Later"),
        # The facilitator may stop the clock while the room discusses (the app's `p`).
        Binding("p", "app.clock", "Start/pause clock"),
    ]

    class Made(Message):
        def __init__(self, inject_id: str, levels: dict[str, str]) -> None:
            super().__init__()
            self.inject_id = inject_id
            self.levels = levels

    def __init__(
        self, inject_id: str, question: str, message: str, operations: tuple[Operation, ...]
    ) -> None:
        super().__init__()
        self.inject_id = inject_id
        self.question = question
        self.message = message
        self.operations = operations
        self.levels = {op.id: "ok" for op in operations}
        self.row = 0
        self.actual: dict[str, str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield ShownStatic(id="prediction")

    def on_mount(self) -> None:
        self.render_form()

    def render_form(self) -> None:
        text = Text()
        text.append(f"Inject {self.inject_id}\n", style="bold")
        text.append(self.message + "\n\n")
        text.append(self.question + "\n\n", style="bold")
        for index, op in enumerate(self.operations):
            chosen = self.levels[op.id]
            cursor = "▶ " if index == self.row and self.actual is None else "  "
            text.append(f"{cursor}{op.title:<28}", style="bold" if index == self.row else "")
            for level in LEVEL_IDS:
                mark = (
                    f"[{level_glyph(Level.parse(level))} {level}]"
                    if level == chosen
                    else f" {level} "
                )
                text.append(f" {mark} ", style="reverse" if level == chosen else "dim")
            if self.actual is not None:
                want = self.actual[op.id]
                if want == chosen:
                    text.append("  ✅ right", style="green")
                else:
                    text.append(f"  ❌ wrong — it is {want}", style="bold red")
            text.append("\n")
        if self.actual is None:
            text.append(
                "\n↑↓ operation · o/l/x or ←→ level · enter submits · esc answers later · p pauses the clock",
                style="dim",
            )
        else:
            right = sum(1 for op in self.operations if self.actual[op.id] == self.levels[op.id])
            text.append(
                f"\n{right}/{len(self.operations)} right. The impact pane shows the reasons. Enter closes.",
                style="bold",
            )
        self.query_one("#prediction", ShownStatic).update(text)

    def action_move(self, step: int) -> None:
        self.row = (self.row + step) % len(self.operations)
        self.render_form()

    def action_cycle(self, step: int) -> None:
        if self.actual is not None:
            return
        op = self.operations[self.row].id
        index = LEVEL_IDS.index(self.levels[op])
        self.levels[op] = LEVEL_IDS[max(0, min(2, index + step))]
        self.render_form()

    def action_set(self, level: str) -> None:
        if self.actual is not None:
            return
        self.levels[self.operations[self.row].id] = level
        self.row = min(self.row + 1, len(self.operations) - 1)
        self.render_form()

    def action_submit(self) -> None:
        if self.actual is not None:
            self.dismiss(None)
            return
        # The app records the prediction first, then calls reveal() with the engine's answer.
        self.post_message(self.Made(self.inject_id, dict(self.levels)))

    def reveal(self, actual: dict[str, str]) -> None:
        self.actual = actual
        self.render_form()

    def action_cancel(self) -> None:
        self.dismiss(None)
