"""What a text value may hold: the id syntax, and no control or invisible characters."""

from __future__ import annotations

import re

from .yamlsrc import Node, Source

ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_id(src: Source, value: str | None, line: int, what: str) -> bool:
    """Ids are lowercase DNS-label-like: safe in refs, file names, Markdown and the UI."""
    if not value:
        return False  # a missing id is reported as missing, not also as malformed
    if not ID_RE.match(value):
        src.problem(
            line,
            f"{what} '{value[:40]}' is not a valid id (lowercase letters, digits and '-', at most 63)",
        )
        return False
    return True


# Characters no estate value needs, that can drive a terminal or hide what a person reads or
# pastes: C0 controls (tab and line breaks included), DEL, C1 controls, zero-width characters,
# bidirectional embeddings, overrides and isolates, line and paragraph separators, the BOM.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def invisible_character(text: str, newlines: bool = False) -> str | None:
    """The first control or invisible character in `text` (line breaks allowed if `newlines`)."""
    for match in _INVISIBLE.finditer(text):
        if not (newlines and match.group() == "\n"):
            return match.group()
    return None


def describe_character(ch: str) -> str:
    if ch in "\r\n\u2028\u2029":
        name = "a line break"
    elif ch == "\x1b":
        name = "an escape character"
    elif "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069" or ch in "\u200e\u200f":
        name = "a bidirectional-text control"
    elif ch in "\u200b\u200c\u200d\u2060\ufeff":
        name = "a zero-width character"
    else:
        name = "a control character"
    return f"{name} (U+{ord(ch):04X})"


def refuse_invisible(
    node: Node, src: Source, what: str, multiline: frozenset[str] = frozenset()
) -> None:
    """Report every text value or key under `node` that holds a control or invisible character.

    Line breaks are allowed only in the values whose dotted path is in `multiline` (free text
    such as `support.severity`). Shell metacharacters are not refused here: values substituted
    into commands are shell-quoted where they are used; this keeps out what quoting cannot make
    visible or safe on a terminal. Each problem is at the value's line.
    """
    found: list[tuple[int, str]] = []
    pending: list[tuple[Node, str]] = [(node, "")]
    while pending:
        current, path = pending.pop()
        value = current.value
        if isinstance(value, str):
            ch = invisible_character(value, newlines=path in multiline)
            if ch is not None:
                found.append(
                    (
                        current.line,
                        f"{what}: '{path}' contains {describe_character(ch)}; remove it (estate text is shown to people and pasted into shells)",
                    )
                )
        elif isinstance(value, dict):
            key_lines = current.key_lines or {}
            for key, child in value.items():
                ch = invisible_character(key)
                if ch is not None:
                    found.append(
                        (
                            key_lines.get(key, current.line),
                            f"{what}: a key contains {describe_character(ch)}; remove it",
                        )
                    )
                    continue
                pending.append((child, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            pending.extend((child, f"{path}[{i}]") for i, child in enumerate(value))
    for line, message in sorted(found):
        src.problem(line, message)
