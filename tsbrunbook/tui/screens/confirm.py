"""A yes/no question (the probe's suggestion): `y` confirms, `n` or `esc` declines."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from ..shown import shown


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 80%; max-width: 90; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(shown(self.question), markup=False)
            yield Label("y: yes   n / esc: no", markup=False)

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
