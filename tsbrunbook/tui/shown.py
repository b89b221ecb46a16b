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
"""

from __future__ import annotations

from typing import TypeVar

from rich.text import Span, Text
from textual.widgets import Static, Tree

from ..domain.text import display


class ShownText(Text):
    """Rich `Text` whose strings pass the display sanitiser as they are added (constructor,
    `append`, `assemble`); line breaks are kept (`ShownStatic.MULTILINE` and `ShownTree` decide
    whether a widget shows them)."""

    def __init__(self, text: str = "", *args, **kwargs) -> None:
        super().__init__(display(text, multiline=True), *args, **kwargs)

    def append(self, text: str | Text, style=None) -> ShownText:
        if isinstance(text, str):
            text = display(text, multiline=True)
        elif not isinstance(text, ShownText):
            text = shown_text(text)
        super().append(text, style)
        return self


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
        super().__init__(shown(content, self.MULTILINE), **kwargs)  # type: ignore[arg-type]

    def update(self, content: object = "", *, layout: bool = True) -> None:
        super().update(shown(content, self.MULTILINE), layout=layout)  # type: ignore[arg-type]


NodeData = TypeVar("NodeData")


class ShownTree(Tree[NodeData]):
    """A Tree whose labels (added or set later) are literal, sanitised, one line each."""

    def process_label(self, label: str | Text) -> Text:
        return super().process_label(shown_line(label))
