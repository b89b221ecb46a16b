"""The TUI's choke points for text shown to a person: every widget that shows stored or loaded
text (titles, notes, reasons, estate names, runbook text, answers from servers) builds it here.

Each goes through the one display sanitiser (`domain.text.display`), so no escape sequence,
control character, bidirectional override or zero-width character reaches the terminal. Strings
become `Text` (never markup), so `[bold]` or `[@click=app.quit]` in a note shows as written.

Two layers, because Rich gets in the way of one: `Text()` and `Text.append()` silently drop BEL
and CR, which leaves `ESC ] 52 ; … BEL` without its terminator. So the widgets build their text
with `ShownText`, which sanitises each string *as it is added* (sequences go whole, payload and
all). `ShownStatic` and `ShownTree` then clean whatever they are finally given, str or `Text`,
keeping styles (each style run on its own): a net under text built some other way.

Colours that carry meaning are written as theme variables (`bold $error`, `$warning`,
`$success`; see `glyphs`). Rich cannot parse those, so `themed` resolves them against the
app's current theme when the widget renders: switching theme from the palette recolours them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, overload

from rich.cells import cell_len
from rich.style import Style
from rich.text import Span, Text
from textual._context import active_app
from textual.widget import Widget
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from ..domain.text import display


class ShownText(Text):
    """Rich `Text` whose strings pass the display sanitiser as they are added (constructor,
    `append`, `assemble`); line breaks are kept (`ShownStatic.MULTILINE` and `ShownTree` decide
    whether a widget shows them)."""

    def __init__(self, text: str = "", *args, **kwargs) -> None:
        super().__init__(display(text, multiline=True), *args, **kwargs)

    @classmethod
    def assemble(cls, *parts: Any, **kwargs: Any) -> ShownText:
        """Rich's `assemble`, typed as what it builds here: each part goes through `append`."""
        text = super().assemble(*parts, **kwargs)
        assert isinstance(text, ShownText)
        return text

    def append(self, text: str | Text, style=None) -> ShownText:
        if isinstance(text, str):
            text = display(text, multiline=True)
        elif not isinstance(text, ShownText):
            text = shown_text(text)
        super().append(text, style)
        return self


@overload
def shown(value: str | Text, multiline: bool = True) -> Text: ...
@overload
def shown(value: object, multiline: bool = True) -> object: ...
def shown(value: object, multiline: bool = True) -> object:
    """`value` made safe to show: a str becomes literal `Text`, a `Text` is sanitised keeping
    its styles; other renderables (built by our code from constants) pass as they are."""
    if isinstance(value, str):
        return Text(display(value, multiline))
    if isinstance(value, Text):
        return shown_text(value, multiline)
    return value


def shown_text(text: Text, multiline: bool = True) -> Text:
    """A copy of `text` without what `display` removes, each style run cleaned on its own
    (the common case, nothing to remove, returns `text` itself)."""
    plain = text.plain
    if display(plain, multiline) == plain:
        return text
    cuts = sorted(
        {
            offset
            for span in text.spans
            for offset in (span.start, span.end)
            if 0 < offset < len(plain)
        }
    )
    out = text.blank_copy()
    for piece in text.divide(cuts):
        cleaned = display(piece.plain, multiline)
        # Cut at every span edge, so each span of a piece covers all of it.
        out.append_text(
            Text(cleaned, spans=[Span(0, len(cleaned), span.style) for span in piece.spans])
        )
    return out


_THEME_VARIABLE = re.compile(r"\$([a-z][a-z0-9-]*)")


def resolve_style(style: str | Style, variables: dict[str, str]) -> str | Style:
    """`style` with each `$variable` replaced by its value in the theme (`$error` → `#ba3c5b`);
    one the theme lacks is left out (Rich would refuse it whole)."""
    if not isinstance(style, str) or "$" not in style:
        return style
    return _THEME_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), style)


def themed(text: Text, variables: dict[str, str]) -> Text:
    """A copy of `text` whose theme-variable styles are resolved (`text` itself when it has none)."""
    if "$" not in str(text.style) and not any(
        isinstance(span.style, str) and "$" in span.style for span in text.spans
    ):
        return text
    out = text.copy()
    out.style = resolve_style(text.style, variables)
    out.spans = [Span(sp.start, sp.end, resolve_style(sp.style, variables)) for sp in text.spans]
    return out


# Marks at the end of a label that carry meaning and must survive a cut: 🆘 escalation point,
# 📝 notes, ⚠ destructive, ⏰ an escalation countdown, a checklist's n/m count and its
# "(no longer matching)", ▸ who is on a step.
_KEPT_TAIL = re.compile(
    r"(?:\s+(?:🆘|📝\S*|⚠ \w+|⏰ .*|▸ in progress — .*|\d+/\d+|\(no longer matching\)))+\s*$"
)


def fit_label(label: Text, width: int, keep_marks: bool = True) -> Text:
    """`label` cut at a word boundary with "…" to fit `width` cells, keeping its trailing
    marks (see `_KEPT_TAIL`) after the ellipsis when they take at most half the width."""
    if label.cell_len <= width:
        return label
    plain = label.plain
    tail_at = len(plain)
    found = _KEPT_TAIL.search(plain) if keep_marks else None
    if found and cell_len(found.group()) <= width // 2:
        tail_at = found.start()
    head, tail = label[:tail_at], label[tail_at:]
    room = width - tail.cell_len - 1  # the ellipsis
    cut = _word_cut(head.plain, room)
    out = head[:cut]
    out.rstrip()
    out.append("…")
    out.append_text(tail)
    return out


def _word_cut(plain: str, room: int) -> int:
    """Where to cut `plain` so what is kept fits `room` cells and ends with a whole word
    (and without the punctuation before the cut); a first word that does not fit is cut."""
    end = 0
    while end < len(plain) and cell_len(plain[: end + 1]) <= room:
        end += 1
    if end < len(plain) and plain[end] != " ":
        space = plain.rfind(" ", 0, end)
        token_end = plain.find(" ", end)
        token = (token_end if token_end >= 0 else len(plain)) - (space + 1)
        # A word goes whole; a token longer than half the room (an id, a path) is no word a
        # reader would mistake: what fits of it says more than nothing.
        if space > 0 and token <= room // 2:
            end = space
    while end > 0 and plain[end - 1] in " ,;:·—–-/":
        end -= 1
    return end


class Hanging:
    """Paragraphs wrapped to the width they are drawn at, each paragraph's continuation lines
    indented under its text (a hanging indent) instead of flush left; theme colours resolved
    as drawn. Every paragraph is sanitised as it is added."""

    def __init__(self) -> None:
        self.paragraphs: list[tuple[Text, int, bool]] = []

    def add(
        self, text: str | Text, indent: int = 0, style: str = "", path: bool = False
    ) -> Hanging:
        """Add one paragraph; lines after its first start `indent` columns in. A `path` (a step
        ref: one long token of ids and `/`) breaks after a `/`, not at spaces (it has none)."""
        if isinstance(text, str):
            text = Text(display(text, multiline=True), style=style)
        self.paragraphs.append((shown_text(text), indent, path))
        return self

    @property
    def plain(self) -> str:
        return "\n".join(text.plain for text, _, _ in self.paragraphs)

    def __str__(self) -> str:  # like Text: what it says, unwrapped
        return self.plain

    def __rich_console__(self, console, options):
        theme = theme_variables()
        for text, indent, path in self.paragraphs:
            text, width = themed(text, theme), options.max_width
            if path:
                yield from path_lines(text, width, indent)
            else:
                yield from hanging_lines(text, width, indent, console)


def hanging_lines(text: Text, width: int, indent: int, console) -> list[Text]:
    """`text` wrapped at word boundaries to `width`, lines after the first indented by
    `indent` (no indent when that would leave too little room)."""
    if text.cell_len <= width or "\n" in text.plain or width - indent < 12:
        return [text]
    first = text.wrap(console, width)[0]
    rest = text[len(first.plain) :]
    rest = rest[len(rest.plain) - len(rest.plain.lstrip(" ")) :]
    lines = [first]
    for line in rest.wrap(console, width - indent):
        lines.append(Text(" " * indent, end="\n") + line)
    return lines


def path_lines(text: Text, width: int, indent: int) -> list[Text]:
    """`text`, one token such as `edge-control-plane-failure@eu-west/recovery/check-edge-pods`,
    broken to `width` after a `/` (after `@`, `-`, `_` or `.` only when a part between slashes is
    longer than a line; folded only when not even that fits), lines after the first indented by
    `indent`. (Rich breaks at spaces only, so it would fold such a token mid-word.)"""
    plain = text.plain
    if text.cell_len <= width or width - indent < 12 or "\n" in plain:
        return [text]
    lines: list[Text] = []
    start, room = 0, width
    while start < len(plain):
        end = len(plain) if cell_len(plain[start:]) <= room else _path_cut(plain, start, room)
        piece = text[start:end]
        lines.append(piece if not lines else Text(" " * indent, end="\n") + piece)
        start, room = end, width - indent
    return lines


def _path_cut(plain: str, start: int, room: int) -> int:
    """Where the line that starts at `start` ends: after the last separator that fits."""
    limit = start
    while limit < len(plain) and cell_len(plain[start : limit + 1]) <= room:
        limit += 1
    for separators in ("/", "@-_."):
        at = max(plain.rfind(sep, start, limit) for sep in separators)
        if at > start:
            return at + 1
    return max(limit, start + 1)


def shown_line(value: str | Text) -> Text:
    """One line of literal text: for labels, table cells and options."""
    result = shown(value, multiline=False)
    assert isinstance(result, Text)
    return result


class ShownStatic(Static):
    """A Static that shows what it is given literally and sanitised, however it is updated.
    `MULTILINE = False` for one-line bars (line breaks become spaces)."""

    MULTILINE = True

    def __init__(self, content: object = "", **kwargs) -> None:
        kwargs.setdefault("markup", False)
        self.shown_content = shown(content, self.MULTILINE)
        super().__init__(self._themed(), **kwargs)  # type: ignore[arg-type]

    def update(self, content: object = "", *, layout: bool = True) -> None:
        self.shown_content = shown(content, self.MULTILINE)
        super().update(self._themed(), layout=layout)  # type: ignore[arg-type]

    def _themed(self) -> object:
        content = self.shown_content
        return themed(content, theme_variables()) if isinstance(content, Text) else content

    def render(self):
        """The content with its theme colours resolved now (rendered again on a theme switch)."""
        if isinstance(self.shown_content, Text):
            return self._themed()
        return super().render()


def theme_variables() -> dict[str, str]:
    """The running app's theme variables (`error`, `warning`, …); none outside an app."""
    try:
        return active_app.get().theme_variables
    except LookupError:
        return {}


NodeData = TypeVar("NodeData")


class ShownTree(Tree[NodeData]):
    """A Tree whose labels (added or set later) are literal, sanitised, one line each."""

    _room: int | None = None  # the width labels are fitted to, while the lines are built
    _done: dict[int, Text] | None = None  # labels processed in this add_nodes, by identity

    def process_label(self, label: str | Text) -> Text:
        """One literal, sanitised line. (Tree's own processing only takes the first line, which
        `shown_line` already made the only one: skipped, it copies every label.)"""
        done = self._done
        if done is not None and id(label) in done:
            return done[id(label)]
        text = shown_line(label)
        if done is not None:
            done[id(label)] = done[id(text)] = text
        return text

    def render_label(self, node, base_style, style) -> Text:
        """The label as drawn: cut at a word to the width left after the guides (markers such
        as 🆘 kept), its theme colours resolved now (a theme switch redraws every line)."""
        label = super().render_label(node, base_style, style)
        room = self.label_room() - self.label_indent(node)
        if room > 0:
            label = fit_label(label, room)
        return themed(label, theme_variables())

    @contextlib.contextmanager
    def labels_shared(self) -> Iterator[None]:
        """Within: each distinct label object is processed once, however many nodes and
        `add_nodes` calls share it. The caller keeps the labels alive meanwhile (the memo's keys
        are their ids)."""
        if self._done is not None:  # already within: the outer one ends it
            yield
            return
        self._done = {}
        try:
            yield
        finally:
            self._done = None

    def add_nodes(
        self,
        parent: TreeNode[NodeData],
        items: Sequence[tuple[Text, NodeData | None]],
        *,
        expand: bool = False,
        leaves: bool = True,
    ) -> list[TreeNode[NodeData]]:
        """Add many children to `parent` at once, in order: what `TreeNode.add` does for each,
        with one invalidation of the tree for all of them, and each distinct label object
        processed once. (`add` invalidates the whole tree per node and splits its label into
        lines: ~60 µs a node, and a 1,000-cluster estate has 4,000.) Relies on Tree's node
        internals, which textual is pinned for (8.2.x)."""
        nodes = []
        with self.labels_shared():
            for label, data in items:
                node = self._add_node(parent, self.process_label(label), data)
                node._expanded = expand
                node._allow_expand = not leaves
                parent._children.append(node)
                nodes.append(node)
        parent._updates += 1
        self._invalidate()
        return nodes

    def label_room(self) -> int:
        return self._room if self._room is not None else self.scrollable_content_region.width

    def get_label_width(self, node) -> int:
        """The width of a line's label, for the tree's virtual width: what `render_label` would
        draw is never wider than the room left after the guides, so the full label is measured
        (not drawn) and capped there. Tree's own way renders every label of every line on each
        build: ~50 µs a line, and a 1,000-cluster estate has 4,000 of them."""
        label, expandable, expanded = node._label, node._allow_expand, node._expanded
        parent = node.parent
        depth = 0 if parent is None else 1 if parent.parent is None else None
        # Within one build the leaves of a kind share their label object: measured once.
        key = (id(label), expandable, expanded, depth)
        widths = self._widths
        if widths is not None and depth is not None and key in widths:
            return widths[key]
        icon = ""
        if expandable:
            icon = self.ICON_NODE_EXPANDED if expanded else self.ICON_NODE
        width: int = cell_len(icon) + label.cell_len
        room = self.label_room() - self.label_indent(node)
        width = min(width, room) if room > 0 else width
        if widths is not None and depth is not None:
            widths[key] = width
        return width

    _widths: dict[tuple[int, bool, bool, int | None], int] | None = None

    def notify_style_update(self) -> None:
        """Styles changed (focus, the theme, a class): every line is drawn again, but which lines
        there are and how wide stays as it was. (Tree rebuilds all of its lines for it, 4,000 on a
        1,000-cluster estate, several times before the first frame; a resize still does.) No
        style of ours changes a tree's padding or scrollbars, which would change the widths."""
        Widget.notify_style_update(self)
        self._line_cache.clear()
        self.refresh()

    async def _on_idle(self, event) -> None:
        """Tree builds its lines whenever it is idle; not before it has a width, for they are
        built again once it has one (a 1,000-cluster estate's 4,000 lines, twice before the
        first frame). Whatever needs the lines before that still builds them on demand.
        (Textual calls each class's handler in turn: prevent_default stops Tree's.)"""
        if self.scrollable_content_region.width <= 0:
            event.prevent_default()

    _built_for: int | None = None  # the room the current lines were built for

    def _on_resize(self, event) -> None:
        """A resize that leaves the labels' room as it was (the first layout's Resize arrives
        after the lines were built for that very size) redraws the lines without laying them
        out again; any other goes to Tree, which rebuilds them."""
        if (
            self._tree_lines_cached is not None
            and self._built_for == self.scrollable_content_region.width
        ):
            self._line_cache.grow(event.size.height)
            self._line_cache.clear()
            self.refresh()
            event.prevent_default()

    def _build(self) -> None:
        # The room is the same for every line of one build: measured once, not per line.
        self._room = self.scrollable_content_region.width
        self._widths = {}
        try:
            super()._build()
            self._built_for = self._room
        finally:
            self._room = self._widths = None

    def label_indent(self, node) -> int:
        """Columns the guides take before `node`'s label (one `guide_depth` per level)."""
        depth = 0
        while node.parent is not None:
            depth += 1
            node = node.parent
        return max(depth - (0 if self.show_root else 1), 0) * self.guide_depth
