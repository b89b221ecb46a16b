"""The matched scenarios' checklists (recovery or restoration), the steps with their state, and
the highlighted step's detail: text, commands, what to expect, escalation, notes and history."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static, Tree

from ...domain import site_policy, template
from ...domain.author import shown_author
from ...domain.incident import ChecklistView, StepView, in_progress
from ...domain.model import Estate
from ..glyphs import DESTRUCTIVE, ERROR, ESCALATION, STEP, SUCCESS, WARNING
from ..shown import Hanging, ShownStatic, ShownTree
from ..shown import ShownText as Text  # Text: strings are sanitised as they are added


class StepTree(ShownTree[object]):
    """Node data: a StepView for steps, a ChecklistView for checklist headings."""

    BINDINGS = [
        Binding("space", "step('done')", "Done/undo"),
        Binding("s", "step('skip')", "Skip"),
        Binding("f", "step('fail')", "Failed"),
        Binding("b", "step('block')", "Blocked"),
        Binding("x", "step('escalate')", "Escalate"),
        Binding("w", "claim", "Claim/release"),
        Binding("c", "copy", "Copy cmd"),
        Binding("r", "phase", "Recovery/restoration"),
        Binding("right_square_bracket", "next_checklist", "Next active", key_display="]"),
    ]

    class StepAction(Message):
        def __init__(self, view: StepView, action: str) -> None:
            super().__init__()
            self.view = view
            self.action = action

    class ClaimToggled(Message):
        """Claim the step, or release it when it is already yours (the app knows who "you" is
        and asks before taking over someone else's)."""

        def __init__(self, view: StepView) -> None:
            super().__init__()
            self.view = view

    class CopyRequested(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class PhaseToggled(Message):
        pass

    def current_step(self) -> StepView | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, StepView) else None

    def action_step(self, action: str) -> None:
        view = self.current_step()
        if view is None:
            self.notify("Highlight a step first", severity="warning")
            return
        if action == "done" and view.state.state == "done":
            action = "reset"
        if action == "done" and view.step.destructive:
            self._confirm_destructive(view)
            return
        self.post_message(self.StepAction(view, action))

    def action_claim(self) -> None:
        view = self.current_step()
        if view is None:
            self.notify("Highlight a step first", severity="warning")
            return
        self.post_message(self.ClaimToggled(view))

    def _confirm_destructive(self, view: StepView) -> None:
        """Ask before recording a destructive step as done; record it only on yes."""
        # Lazily: modal screens stay off the path to the first frame.
        from ..screens.confirm import ConfirmScreen

        pane = self.pane
        title = pane.fill(view, view.step.title) if pane else view.step.title
        question = f"{DESTRUCTIVE} DESTRUCTIVE: {view.step.destructive_reason or ''}\n\nMark “{title}” done?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.post_message(self.StepAction(view, "done"))

        self.app.push_screen(ConfirmScreen(question), answered)

    @property
    def pane(self) -> ChecklistsPane | None:
        pane = self.parent.parent if self.parent else None
        return pane if isinstance(pane, ChecklistsPane) else None

    def action_copy(self) -> None:
        pane = self.pane
        view = self.current_step()
        if view is None or not view.step.commands or pane is None:
            self.notify("This step has no command to copy", severity="warning")
            return
        self.post_message(self.CopyRequested("\n".join(pane.commands(view))))

    def action_phase(self) -> None:
        self.post_message(self.PhaseToggled())

    def action_next_checklist(self) -> None:
        pane = self.pane
        if pane is not None and not pane.jump_to_next_active():
            self.notify("No checklist matches now", severity="warning")


class ChecklistsPane(Vertical):
    DEFAULT_CSS = """
    ChecklistsPane #phase { height: 1; color: $text-muted; }
    ChecklistsPane StepTree { height: 1fr; min-height: 5; }
    ChecklistsPane #step-detail { height: 1fr; min-height: 5; border-top: solid $panel; }
    """

    def __init__(self, estate: Estate, views: list[ChecklistView] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.estate = estate
        # The placeholder values per cluster: the estate never changes under a pane, and every
        # rebuild fills every step's title (finding a cluster's sole services scans the estate).
        self._values: dict[str | None, dict[str, str]] = {}
        self.phase = "recovery"
        self.views: list[ChecklistView] = views or []
        self.timers: dict[str, str] = {}  # instance → countdown text
        # Checklists that no longer match start collapsed; these the user opened again.
        self.opened_stale: set[str] = set()
        self.phase_line = Static(id="phase")
        self.tree_view: StepTree = StepTree("checklists", id="step-tree")
        self.detail = ShownStatic(id="step-text")

    def compose(self) -> ComposeResult:
        """The checklists are built here, the cursor on the first step of the current one: the
        first frame shows them and that step's detail."""
        self.tree_view.show_root = False
        self.show(self.views)
        yield self.phase_line
        with Vertical(id="steps-box"):
            yield self.tree_view
        with VerticalScroll(id="step-detail"):
            yield self.detail

    def values(self, cluster: str | None) -> dict[str, str]:
        if cluster not in self._values:
            self._values[cluster] = template.variables(self.estate, cluster)
        return self._values[cluster]

    def fill(self, view: StepView, text: str) -> str:
        """Display text of a step, placeholders filled (not shell-quoted)."""
        return template.fill(text, self.values(self.cluster_of(view)))

    def commands(self, view: StepView) -> list[str]:
        """The step's commands exactly as the exports show them (shell-quoted, expanded per
        cluster in an estate-wide checklist): what the detail shows and `c` copies."""
        return template.commands(view.step, self.estate, self.cluster_of(view))

    @staticmethod
    def cluster_of(view: StepView) -> str | None:
        return view.ref.split("/", 1)[0].partition("@")[2] or None

    @staticmethod
    def current_work_first(views: list[ChecklistView]) -> list[ChecklistView]:
        """Checklists that match now, the most recently matched first, then those that no longer
        match: the work at hand is at the top, however long the incident has run."""
        latest_first = list(reversed(views))
        return [v for v in latest_first if v.active] + [v for v in latest_first if not v.active]

    def show(self, views: list[ChecklistView]) -> None:
        """Rebuild the step tree from the folded state, keeping the cursor on the same step.

        Checklists that no longer match are collapsed at the bottom, unless the user opened one
        again (that stays open across rebuilds)."""
        self.views = views
        tree = self.tree_view
        current = tree.current_step()
        keep = current.ref if current else None
        self.opened_stale = {
            node.data.instance
            for node in tree.root.children
            if isinstance(node.data, ChecklistView) and not node.data.active and node.is_expanded
        }
        tree.clear()
        shown = self.current_work_first([v for v in views if v.phase == self.phase])
        other = "restoration" if self.phase == "recovery" else "recovery"
        self.phase_line.update(
            Text.assemble(("▸ " + self.phase.upper(), "bold"), f"   (r: show {other})")
        )
        cursor = None
        first_step = None
        for view in shown:
            expand = view.active or view.instance in self.opened_stale
            node = tree.root.add(self.heading(view), data=view, expand=expand)
            if view.not_documented and not view.steps:
                node.add_leaf(Text("ℹ " + view.not_documented, style="italic"), data=view)
            for sv in view.steps:
                leaf = node.add_leaf(self.step_label(sv), data=sv)
                if expand:
                    first_step = first_step or leaf
                if sv.ref == keep:
                    cursor = leaf if expand else node  # a collapsed checklist: its heading
        if not shown:
            tree.root.add_leaf(
                Text(
                    "Nothing is down: no checklist applies. Mark a component down in the components pane.",
                    style="dim",
                )
            )
        target = cursor or first_step
        if target is not None and not self.is_mounted and tree.last_line >= 0:
            # The first build (compose): reading last_line numbers the lines, no layout needed;
            # no scrolling either, so the first heading stays in sight.
            tree.cursor_line = target.line
            self.show_detail()
        elif target is not None:
            self.call_after_refresh(self._restore_cursor, target)
        else:
            self.show_detail()

    def _restore_cursor(self, node) -> None:
        # The tree was rebuilt: put the cursor back and redraw the detail even if the line is the same.
        self.tree_view.move_cursor(node)
        if self.tree_view.cursor_line <= 1:
            self.tree_view.scroll_home(animate=False)  # keep the first heading in sight
        self.show_detail()

    def heading(self, view: ChecklistView) -> Text:
        heading = Text.assemble(
            ("● " if view.active else "○ ", "bold" if view.active else "dim"), (view.title, "bold")
        )
        heading.append(f"  {view.done}/{len(view.steps)}", style="dim")
        if not view.active:
            heading.append("  (no longer matching)", style="dim")
        timer = self.timers.get(view.instance)
        if timer and view.active:
            heading.append(f"  {timer}", style=ERROR if timer.endswith(" over") else WARNING)
        return heading

    def show_timers(self, timers: dict[str, str]) -> None:
        """Refresh the countdowns on the headings only (every second, without a rebuild)."""
        if timers == self.timers:
            return
        self.timers = timers
        for node in self.tree_view.root.children:
            if isinstance(node.data, ChecklistView):
                node.set_label(self.heading(node.data))

    def step_label(self, sv: StepView) -> Text:
        mark, word, style = STEP[sv.state.state]
        label = Text.assemble((mark, style), " ")
        if word:
            label.append(word + " ", style=style)
        label.append(self.fill(sv, sv.step.title))
        if sv.step.destructive:
            label.append(f" {DESTRUCTIVE} destructive", style=f"bold {WARNING}")
        if sv.step.escalation:
            label.append(f" {ESCALATION}", style=ERROR if not sv.state.escalated else "dim")
        if sv.state.notes:
            label.append(f" 📝{len(sv.state.notes)}", style="dim")
        claimed = in_progress(sv.state)
        if claimed:  # last, and kept by a cut (shown._KEPT_TAIL): it says "leave this one"
            label.append(f" ▸ {claimed}", style=f"bold {WARNING}")
        return label

    @on(Tree.NodeHighlighted)
    def _node_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        view = self.tree_view.current_step()
        out = self.detail
        if view is None:
            out.update(
                Text(
                    "Highlight a step to see what to do, the commands and what to expect.",
                    style="dim",
                )
            )
            return
        step = view.step
        mark, word, style = STEP[view.state.state]
        head = Text(self.fill(view, step.title), style="bold")
        head.append(f"   {mark} {word or view.state.state}", style=style)
        # The ref is one long token: it breaks after a `/`, never mid-word (see path_lines).
        shown = Hanging().add(head, indent=2).add(Text(view.ref, style="dim"), 2, path=True)
        claim = view.state.claim
        if claim is not None:
            shown.add(
                Text(
                    f"▸ {in_progress(view.state)} (claimed {claim.at:%H:%M:%S} UTC; w releases "
                    "or takes it over)",
                    style=f"bold {WARNING}",
                ),
                indent=2,
            )
        shown.add("")
        text = Text()
        if step.destructive:
            text.append(
                f"{DESTRUCTIVE} DESTRUCTIVE: {step.destructive_reason or ''}\n",
                style=f"bold {WARNING}",
            )
            text.append("   You are asked to confirm before it is marked done.\n\n", style="dim")
        text.append(self.fill(view, step.detail) + "\n")
        for command in self.commands(view):
            text.append("\n  $ ", style="dim")
            text.append(command, style="bold $accent")
        if step.commands:
            text.append("\n  (c copies)\n", style="dim")
        text.append("\nExpect: ", style="bold")
        text.append(
            self.fill(view, step.verify).removeprefix("Expect ").removeprefix("expect ") + "\n"
        )
        timer = self._escalate_after()
        if timer:
            text.append(f"\n⏰ If it is not recovered, {timer['label']}.\n", style="dim")
        if step.escalation:
            support = self.estate.support
            text.append(f"\n{ESCALATION} Tetrate support required: ", style=ERROR)
            text.append(step.escalation + "\n")
            text.append(f"   Contact {support.vendor}: {support.contact}", style="bold")
            if support.account:
                text.append(f" (account {support.account})")
            text.append("\n")
            if view.state.escalated:
                text.append(
                    f"   Raised {view.state.escalated:%H:%M:%S} UTC {', '.join(view.state.cases)}\n",
                    style=SUCCESS,
                )
        for note in view.state.notes:
            by = shown_author(note.actor)
            text.append(f"\n📝 {note.at:%H:%M:%S}" + (f" ({by}) " if by else " "), style="dim")
            text.append(note.text)
        if view.state.history:
            text.append("\n\nHistory:", style="bold")
            for change in view.state.history:
                by = shown_author(change.actor)
                text.append(
                    f"\n  {change.at:%H:%M:%S} {change.state}"
                    + (f" — {change.note}" if change.note else "")
                    + (f" (by {by})" if by else ""),
                    style="dim",
                )
        out.update(shown.add(text))

    def _escalate_after(self) -> dict | None:
        """The escalation timer of the highlighted step's scenario (site policy), if any."""
        node = self.tree_view.cursor_node
        checklist = node.parent.data if node is not None and node.parent is not None else None
        if not isinstance(checklist, ChecklistView) or checklist.scenario is None:
            return None
        return site_policy.escalate_after(checklist.scenario, self.estate)

    def toggle_phase(self) -> None:
        self.phase = "restoration" if self.phase == "recovery" else "recovery"
        self.show(self.views)

    def jump_to(self, instance: str) -> bool:
        for node in self.tree_view.root.children:
            if isinstance(node.data, ChecklistView) and node.data.instance == instance:
                self.enter(node)
                return True
        return False

    def jump_to_next_active(self) -> bool:
        """Move to the first step of the next checklist that matches now (round to the first
        after the last); False when none does."""
        tree = self.tree_view
        headings = [n for n in tree.root.children if isinstance(n.data, ChecklistView)]
        here = tree.cursor_node
        while here is not None and here.parent is not None and here.parent is not tree.root:
            here = here.parent
        start = headings.index(here) + 1 if here in headings else 0
        for node in headings[start:] + headings[:start]:
            if isinstance(node.data, ChecklistView) and node.data.active:
                self.enter(node)
                return True
        return False

    def enter(self, heading) -> None:
        """Open a checklist and put the cursor on its first step (its heading when it has none)."""
        heading.expand()
        tree = self.tree_view
        # Reading last_line lays the tree out, so the nodes know their lines.
        if tree.last_line >= 0:
            tree.move_cursor(heading.children[0] if heading.children else heading)
        tree.focus()
