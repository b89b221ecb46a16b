"""Markdown building blocks that cannot be broken by the text they carry.

Text from YAML or from users may contain pipes, backticks, HTML or newlines; everything here
escapes it so that it stays inside its table cell, list item or code block.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&!])")
_BACKTICKS = re.compile(r"`+")


def inline(text: str) -> str:
    """Escape text for use inside a paragraph, list item, heading or table cell (one line)."""
    text = " ".join(str(text).split())  # newlines would end the cell or the item
    return _SPECIAL.sub(r"\\\1", text)


def code_span(text: str) -> str:
    """Inline code that survives backticks in the text."""
    text = " ".join(str(text).split())
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
    body = "\n".join(lines)
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    out = [f"{indent}{fence}{lang}"]
    out += [f"{indent}{line}" for line in body.split("\n")]
    out.append(f"{indent}{fence}")
    return "\n".join(out)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A GFM table; cells must already be escaped with `inline()`."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        out.append("| " + " | ".join(cell or " " for cell in row) + " |")
    return "\n".join(out)


def quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))
