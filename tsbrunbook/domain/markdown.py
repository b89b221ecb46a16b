"""Markdown building blocks that cannot be broken by the text they carry.

Text from YAML or from users may contain pipes, backticks, HTML or newlines; everything here
escapes it so that it stays inside its table cell, list item or code block. It may also carry
terminal control sequences (ESC, BEL, the C1 CSI ...) that would act on a terminal the export is
`cat` to, or bidirectional overrides and zero-width characters: every helper passes the text
through the one display sanitiser (`text.display`), keeping only the newlines and tabs a code
block or a quote can hold.
"""

from __future__ import annotations

import re

from .text import display

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&!])")
_BACKTICKS = re.compile(r"`+")


def printable(text: object) -> str:
    """The text without any control character, escape sequence or invisible character: what may
    appear on one Markdown line. Line breaks and tabs become spaces."""
    return display(text)


def block_text(text: object) -> str:
    """The text without control characters other than tab and newline (CRLF and CR become
    newlines): what may appear in a code block or a quote."""
    return display(text, multiline=True, keep_tabs=True)


def inline(text: str) -> str:
    """Escape text for use inside a paragraph, list item, heading or table cell (one line)."""
    text = " ".join(printable(text).split())  # newlines would end the cell or the item
    return _SPECIAL.sub(r"\\\1", text)


def code_span(text: str) -> str:
    """Inline code that survives backticks in the text."""
    text = " ".join(printable(text).split())
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell_code(text: str) -> str:
    """Inline code inside a GFM table cell: a pipe must be escaped even inside the code span,
    or it ends the cell (GFM unescapes `\\|` there before parsing the span)."""
    return code_span(text).replace("|", "\\|")


def code_block(lines: list[str] | tuple[str, ...], lang: str = "sh", indent: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside it."""
    body = block_text("\n".join(str(line) for line in lines))
    lang = printable(lang).replace("`", "").strip()
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    out = [f"{indent}{fence}{lang}"]
    out += [f"{indent}{line}" for line in body.split("\n")]
    out.append(f"{indent}{fence}")
    return "\n".join(out)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A GFM table; cells must already be escaped with `inline()` (control characters are
    dropped here too, whatever the caller did)."""
    out = [
        "| " + " | ".join(printable(h) for h in headers) + " |",
        "|" + "|".join(" --- " for _ in headers) + "|",
    ]
    for row in rows:
        out.append("| " + " | ".join(printable(cell) if cell else " " for cell in row) + " |")
    return "\n".join(out)


def quote(text: str) -> str:
    """A block quote; the text must already be escaped (control characters are dropped here)."""
    text = block_text(text)
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def link(title: str, url: str) -> str:
    """`[title](<url>)`: the title escaped, the URL without controls, spaces or angle brackets."""
    target = display(url).replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
    return f"[{inline(title)}](<{target}>)"
