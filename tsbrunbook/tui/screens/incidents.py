"""Switch to another open incident, or start a new one."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ..shown import ShownText as Text  # Text: strings are sanitised as they are added
from ..shown import shown_line


class IncidentsScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with ("open", id), ("new", title) or None."""

    DEFAULT_CSS = """
    IncidentsScreen { align: center middle; }
    IncidentsScreen > Vertical { width: 90%; max-width: 100; height: 80%; border: thick $accent; background: $surface; padding: 1 2; }
    IncidentsScreen OptionList { height: 1fr; }
    IncidentsScreen Label { margin: 1 0 0 0; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, incidents: list, current: str) -> None:
        """`incidents`: the store's summaries (`.id`, `.title`), newest first."""
        super().__init__()
        self.incidents = incidents
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Open incidents (enter switches):")
            options = []
            for inc in self.incidents:
                label = Text.assemble(
                    (inc.id, "bold"),
                    "  ",
                    inc.title,
                    ("  (current)" if inc.id == self.current else "", "dim"),
                )
                if getattr(inc, "damaged", None):
                    label.append(
                        "  (damaged: cannot be opened)", "bold"
                    )  # listed, so it is not thought lost
                options.append(Option(shown_line(label), id=inc.id))
            yield OptionList(*options, id="incident-list")
            yield Label("Or start a new incident — title:")
            yield Input(placeholder="e.g. eu-west edge down after upgrade", id="new-title")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(("open", event.option.id or ""))

    @on(Input.Submitted)
    def _new(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(("new", event.value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)
