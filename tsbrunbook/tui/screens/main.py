"""The incident screen: components, impact and checklists side by side (or as tabs when narrow)."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey

from ..widgets.checklists import ChecklistsPane
from ..widgets.components import ComponentsPane
from ..widgets.exercise_bar import ExerciseBar
from ..widgets.header import IncidentHeader
from ..widgets.impact import ImpactPane

PANES = ("components-pane", "impact-pane", "checklists-pane")
TITLES = ("Components", "Impact", "Checklists")


class KeyFooter(Footer):
    """The footer, with help (`?`) and quit (`q`) first: at 80 columns the pane's own keys fill
    the row, and these two must never be the ones cut off."""

    FIRST = ("help", "quit")

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        first = {
            binding.action: (binding, enabled, tooltip)
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show and binding.action in self.FIRST
        }
        for action in self.FIRST:
            if action in first:
                binding, enabled, tooltip = first[action]
                yield self._settled(
                    FooterKey(
                        binding.key,
                        self.app.get_key_display(binding),
                        binding.description,
                        binding.action,
                        disabled=not enabled,
                        tooltip=tooltip,
                    ).data_bind(compact=Footer.compact)
                )
        for widget in super().compose():
            if not (isinstance(widget, FooterKey) and widget.action in first):
                yield self._settled(widget)

    def _settled(self, widget: Widget) -> Widget:
        """A footer key that already has the footer's `compact` state before it is mounted.

        `FooterKey.compact` starts True, so every key the footer recomposes (on each focus change)
        would otherwise add `-compact` on mount and remove it again when the binding syncs: two
        restyles per key — measured as an eighth of the app's start-up CPU."""
        # The palette key is not bound to the footer's `compact` (Textual keeps it compact).
        if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
            widget.set_reactive(FooterKey.compact, self.compact)
            widget.set_class(self.compact, "-compact", update=False)
        return widget


class MainScreen(Screen[None]):
    # Below 110 columns the three panes become tabs (1 / 2 / 3 / tab switch them).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    BINDINGS = [
        Binding("1", "pane(0)", "Components", show=False),
        Binding("2", "pane(1)", "Impact", show=False),
        Binding("3", "pane(2)", "Checklists", show=False),
        Binding("tab", "cycle(1)", "Next pane", show=False),
        Binding("shift+tab", "cycle(-1)", "Previous pane", show=False),
    ]

    def __init__(self, app_ref) -> None:
        super().__init__()
        self.runbook = app_ref  # the RunbookApp (`self.app` is only set once mounted)
        self.current = 0

    def compose(self) -> ComposeResult:
        app = self.runbook
        yield IncidentHeader(id="incident-header")
        if app.exercise is not None:
            yield ExerciseBar(id="exercise-bar")
        yield Static(id="tabs")
        with Horizontal(id="panes"):
            yield ComponentsPane(app.engine.graph, id="components-pane", classes="pane -current")
            yield ImpactPane(app.engine.pack, app.engine.scopes, id="impact-pane", classes="pane")
            yield ChecklistsPane(app.engine.estate, id="checklists-pane", classes="pane")
        yield KeyFooter()

    def on_mount(self) -> None:
        for pane_id, title in zip(PANES, TITLES, strict=True):
            pane = self.query_one(f"#{pane_id}")
            pane.border_title = f"{PANES.index(pane_id) + 1} {title}"
        self.show_tabs()
        self.query_one(ComponentsPane).tree_view.focus()
        self.runbook.redraw()
        self.runbook.every_second()  # countdowns and status from the first frame on

    def pane(self, index: int) -> Widget:
        return self.query_one(f"#{PANES[index]}")

    def focus_target(self, index: int) -> Widget:
        pane = self.pane(index)
        if isinstance(pane, ComponentsPane):
            return pane.tree_view
        if isinstance(pane, ImpactPane):
            return pane.table
        assert isinstance(pane, ChecklistsPane)
        return pane.tree_view

    def action_pane(self, index: int) -> None:
        self.set_current(index)
        self.focus_target(index).focus()

    def action_cycle(self, step: int) -> None:
        self.action_pane((self.current + step) % len(PANES))

    def set_current(self, index: int) -> None:
        if index == self.current:
            return
        self.pane(self.current).remove_class("-current")
        self.current = index
        self.pane(index).add_class("-current")
        self.show_tabs()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Focus moved (mouse, tab inside a pane): the pane holding it becomes the current one."""
        for index, pane_id in enumerate(PANES):
            node: DOMNode | None = event.widget
            while node is not None:
                if getattr(node, "id", None) == pane_id:
                    self.set_current(index)
                    return
                node = node.parent

    def show_tabs(self) -> None:
        text = Text()
        for index, title in enumerate(TITLES):
            style = "bold reverse" if index == self.current else "dim"
            text.append(f" {index + 1} {title} ", style=style)
            text.append(" ")
        self.query_one("#tabs", Static).update(text)
