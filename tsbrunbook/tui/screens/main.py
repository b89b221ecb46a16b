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
from ..widgets.header import IncidentHeader
from ..widgets.impact import ImpactPane

PANES = ("components-pane", "impact-pane", "checklists-pane")
TITLES = ("Components", "Impact", "Checklists")


class KeyFooter(Footer):
    """The footer, with help (`?`) and quit (`q`) first: at 80 columns the pane's own keys fill
    the row, and these two must never be the ones cut off."""

    FIRST = ("help", "quit")
    _shown: tuple | None = None  # what the keys on screen were composed from

    def _keys(self) -> tuple | None:
        """Everything the footer's keys are composed from: the shown bindings, whether each is
        enabled, and the footer's own compact state (None before the bindings are known)."""
        if not self._bindings_ready:
            return None
        return (
            self.compact,
            tuple(
                (b.key, b.key_display, b.description, b.action, b.group, enabled, tooltip)
                for (_, b, enabled, tooltip) in self.screen.active_bindings.values()
                if b.show
            ),
        )

    async def recompose(self) -> None:
        """Rebuild the keys only when they would differ. Textual asks on every focus change and
        screen resume (five times while the app starts), mostly for the same keys."""
        if self.is_attached and self._keys() == self._shown:
            return
        await super().recompose()

    def compose(self) -> ComposeResult:
        self._shown = self._keys()
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
    # Focus starts on the components tree (on_mount), and only there: Textual's auto focus would
    # first focus the first focusable widget, the filter input, restyling it and the tree twice
    # before the first frame. (Not AUTO_FOCUS = the tree: Textual applies it only when the app
    # has focus, which a browser session's app has not yet when the screen is composed.)
    AUTO_FOCUS = ""

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
        """Every pane is built with what it shows, so the first frame is the full picture (no
        second layout pass for data filled in after mounting)."""
        app = self.runbook
        # The breakpoint class Textual would add at the first resize, added now: adding it then
        # restyles and lays the whole screen out a second time before the first frame.
        width = app.size.width
        applies = max(b for b in self.HORIZONTAL_BREAKPOINTS if width >= b[0])[1]
        for _min_width, name in self.HORIZONTAL_BREAKPOINTS:
            # No restyle now: the screen is styled as a whole when it is first shown.
            self.set_class(name == applies, name, update=False)
        impact, views, recent = app.picture()
        header = IncidentHeader(id="incident-header")
        header.show(app.session.state, views, impact.worst)
        yield header
        if app.exercise is not None:
            from ..widgets.exercise_bar import ExerciseBar  # exercise mode only

            bar = ExerciseBar(id="exercise-bar")
            prog = app.exercise_progress()
            bar.show(prog, prog.clock.now(app.exercise.clocks.wall()))
            yield bar
        yield Static(self.tabs_text(), id="tabs")
        panes = (
            ComponentsPane(app.engine.graph, impact, id=PANES[0], classes="pane -current"),
            ImpactPane(
                app.engine.pack, app.engine.scopes, impact, recent, id=PANES[1], classes="pane"
            ),
            ChecklistsPane(app.engine.estate, views, id=PANES[2], classes="pane"),
        )
        with Horizontal(id="panes"):
            for index, pane in enumerate(panes):
                pane.border_title = f"{index + 1} {TITLES[index]}"
                yield pane
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ComponentsPane).tree_view.focus()
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
        self.query_one("#tabs", Static).update(self.tabs_text())

    def tabs_text(self) -> Text:
        text = Text()
        for index, title in enumerate(TITLES):
            style = "bold reverse" if index == self.current else "dim"
            text.append(f" {index + 1} {title} ", style=style)
            text.append(" ")
        return text
