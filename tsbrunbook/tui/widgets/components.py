"""The estate as a tree of components, each with its status; `/` filters, `space` marks down/up."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static, Tree
from textual.widgets.tree import TreeNode

from ...domain.graph import EstateGraph
from ...domain.impact import Impact
from ..glyphs import STATUS
from ..shown import ShownText as Text  # Text: strings are sanitised as they are added
from ..shown import ShownTree

# Per-cluster kinds shown in the tree (the data plane is not marked on its own).
LEGEND = "✖ down  ◐ affected  ● ok"


class ComponentTree(ShownTree[str]):
    """Tree of components; node data is the component id (None for group nodes)."""

    # A tree far taller than any terminal keeps its scrollbar's columns from the first layout:
    # otherwise its lines are laid out at the full width, then again when the scrollbar appears
    # (4,000 lines twice on a 1,000-cluster estate, before the first frame).
    DEFAULT_CSS = """
    ComponentTree.-tall { scrollbar-gutter: stable; }
    """
    TALL = 200  # lines: more than any screen shows

    BINDINGS = [
        Binding("space", "toggle_down", "Mark down/up"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    class ToggleRequested(Message):
        def __init__(self, component: str) -> None:
            super().__init__()
            self.component = component

    def action_toggle_down(self) -> None:
        node = self.cursor_node
        if node is not None and node.data:
            self.post_message(self.ToggleRequested(node.data))

    def action_filter(self) -> None:
        pane = self.parent
        if isinstance(pane, ComponentsPane):
            pane.open_filter()


class ComponentsPane(Vertical):
    """Filter input over the component tree."""

    DEFAULT_CSS = """
    ComponentsPane Input { display: none; height: 3; }
    ComponentsPane.-filtering Input { display: block; }
    ComponentsPane #legend { height: 1; color: $text-muted; }
    ComponentsPane #filter-hidden { display: none; height: auto; color: $warning; }
    ComponentsPane.-filtering #filter-hidden.-hiding { display: block; }
    """

    def __init__(self, graph: EstateGraph, impact: Impact | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.graph = graph
        self.nodes: dict[str, TreeNode[str]] = {}
        self.statuses: dict[str, str] = {}
        self.impact = impact
        self.filter_text = ""
        self.tree_view = ComponentTree("estate", id="component-tree")
        self.hidden_note = Static(id="filter-hidden")

    def compose(self) -> ComposeResult:
        """The tree is built here, with the statuses it starts with: the first frame shows them."""
        yield Static(LEGEND, id="legend")
        yield Input(
            placeholder="filter components (enter: go to first match, esc: clear)", id="filter"
        )
        yield self.hidden_note
        tree = self.tree_view
        tree.show_root = False
        tree.guide_depth = 2
        self.rebuild()
        yield tree

    def label(self, cid: str) -> Text:
        comp = self.graph.by_id[cid]
        status = self.impact.status(cid) if self.impact else "healthy"
        glyph, word, style = STATUS[status]
        name = self.graph.kinds[comp.kind].title
        label = Text.assemble((glyph, style), " ", name)
        if status != "healthy":
            label.append(f" ({word})", style=style)
        return label

    def cached_label(self, cid: str, labels: dict[tuple[str, str], Text]) -> Text:
        """`label(cid)`, shared by every component of the same kind and status."""
        comp = self.graph.by_id[cid]
        status = self.impact.status(cid) if self.impact else "healthy"
        key = (comp.kind, status)
        if key not in labels:
            labels[key] = self.label(cid)
        return labels[key]

    def rebuild(self) -> None:
        """Build the tree for the current filter (only on start and when the filter changes).

        The cursor stays on the component it was on while that component is shown (a cursor
        left on a line number would land on another component after the rows move); otherwise,
        and at start, it goes to the first component, never to a group heading."""
        tree = self.tree_view
        current = tree.cursor_node.data if tree.cursor_node is not None else None
        tree.clear()
        self.nodes.clear()
        wanted = self.filter_text.lower()

        def keep(cid: str, group: str) -> bool:
            return (
                not wanted
                or wanted in cid.lower()
                or wanted in group.lower()
                or wanted in self.graph.by_id[cid].title.lower()
            )

        by_scope: dict[str | None, list[str]] = {}
        for comp in self.graph.components:
            if comp.markable:
                by_scope.setdefault(comp.cluster, []).append(comp.id)
        groups: list[tuple[Text, None]] = []
        members_of: list[list[str]] = []
        mgmt_title = f"Management side ({self.graph.estate.management.cluster})"
        singles = [cid for cid in by_scope.get(None, []) if keep(cid, mgmt_title)]
        if singles:
            groups.append((Text(mgmt_title, style="bold"), None))
            members_of.append(singles)
        for cluster in self.graph.estate.clusters:
            title = f"{cluster.name} ({cluster.region})" if cluster.region else cluster.name
            members = [cid for cid in by_scope.get(cluster.name, []) if keep(cid, title)]
            if members:
                groups.append((Text(title, style="bold"), None))
                members_of.append(members)
        # In bulk: a thousand clusters are four thousand nodes (see ShownTree.add_nodes); the
        # label of each kind and status is built once.
        labels: dict[tuple[str, str], Text] = {}
        with tree.labels_shared():  # (`labels` keeps the shared label objects alive)
            for group, members in zip(
                tree.add_nodes(tree.root, groups, expand=True, leaves=False),
                members_of,
                strict=True,
            ):
                leaves = [(self.cached_label(cid, labels), cid) for cid in members]
                for cid, node in zip(members, tree.add_nodes(group, leaves), strict=True):
                    self.nodes[cid] = node
        tree.set_class(len(groups) + len(self.nodes) > tree.TALL, "-tall")
        self.statuses = {
            cid: self.impact.status(cid) if self.impact else "healthy" for cid in self.nodes
        }
        self.place_cursor(current if current in self.nodes else next(iter(self.nodes), None))
        self.show_hidden()

    def place_cursor(self, cid: str | None) -> None:
        """Put the tree's cursor on component `cid` (None: no component is shown)."""
        tree = self.tree_view
        if cid is None:
            tree.move_cursor(None)
            return
        node = self.nodes[cid]
        if not tree.is_mounted:
            # The first build (compose): the line is counted here. Asking the tree (last_line)
            # would lay out all its lines now, and again once it has its width: on a
            # 1,000-cluster estate, 4,000 lines twice before the first frame.
            # What Tree's cursor_line watcher records (it would read the lines), set directly;
            # nothing listens for a highlight before the tree is mounted.
            tree.set_reactive(Tree.cursor_line, self.line_of(node))
            tree._cursor_node = node
            node._selected = True
        elif tree.last_line >= 0:  # reading last_line lays the rebuilt tree out
            tree.move_cursor(node)

    def line_of(self, node: TreeNode[str]) -> int:
        """The line `node` (a component) is on: headings and the members of expanded groups
        before it count (the root is not shown)."""
        line = 0
        for group in self.tree_view.root.children:
            if group is node.parent:
                return line + 1 + group.children.index(node)
            line += 1 + (len(group.children) if group.is_expanded else 0)
        raise ValueError(f"{node.data} is not in the tree")

    def show_hidden(self) -> None:
        """Name the components that are not healthy but hidden by the filter: the header counts
        them, so the list must say why they are not in it."""
        hidden = [
            cid
            for cid in (self.impact.down if self.impact else ())
            if cid not in self.nodes and cid in self.graph.by_id
        ]
        note = self.hidden_note
        note.set_class(bool(hidden), "-hiding")
        if hidden:
            names = ", ".join(self.component_name(cid) for cid in hidden)
            note.update(Text(f"{len(hidden)} down hidden by the filter: {names} (esc shows all)"))

    def component_name(self, cid: str) -> str:
        """A component's name as its row shows it, with its cluster when it has one."""
        comp = self.graph.by_id[cid]
        title = self.graph.kinds[comp.kind].title
        return f"{title} ({comp.cluster})" if comp.cluster else title

    def show(self, impact: Impact) -> None:
        """Update only the labels whose status changed (cheap with hundreds of clusters)."""
        self.impact = impact
        for cid, node in self.nodes.items():
            status = impact.status(cid)
            if self.statuses.get(cid) != status:
                self.statuses[cid] = status
                node.set_label(self.label(cid))
        self.show_hidden()

    def open_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one(Input).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        tree = self.tree_view
        tree.focus()
        self.place_cursor(next(iter(self.nodes), None))

    def key_escape(self) -> None:
        if self.has_class("-filtering"):
            self.remove_class("-filtering")
            filter_input = self.query_one(Input)
            filter_input.value = ""
            self.tree_view.focus()
