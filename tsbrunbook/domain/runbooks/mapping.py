"""`Obj`: typed access to one parsed YAML mapping, every problem at its line.

Each getter checks the value's type; `done()` reports every key nobody read as unknown, with a
did-you-mean hint.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast, overload

from ..errors import did_you_mean
from .yamlsrc import Node, Source

T = TypeVar("T")

MAX_INT = 2**53  # any whole number we read is far smaller; beyond this, a typo or an attack
_TYPE_NAMES = {
    str: "text",
    bool: "true/false",
    int: "a whole number",
    list: "a list",
    dict: "a mapping",
}


class Obj:
    """Typed access to one YAML mapping; every unread key is reported as unknown by `done()`."""

    def __init__(self, node: Node, src: Source, what: str) -> None:
        self.src = src
        self.what = what
        self.line = node.line
        self.ok = isinstance(node.value, dict)
        if not self.ok:
            src.problem(node.line, f"{what} must be a mapping, found {_describe(node.value)}")
        self.node_read = node  # the mapping itself, for checks over all of its values
        self.items: dict[str, Node] = node.value if self.ok else {}
        self.key_lines = node.key_lines or {}
        self.seen: set[str] = set()

    def node(self, key: str) -> Node | None:
        self.seen.add(key)
        return self.items.get(key)

    def line_of(self, key: str) -> int:
        """The line of `key` itself (where a reader looks for it), else of the mapping."""
        return self.key_lines.get(key, self.line)

    @overload
    def get(
        self, key: str, kind: type[T], default: None = None, required: bool = False
    ) -> T | None: ...
    @overload
    def get(self, key: str, kind: type[T], default: T, required: bool = False) -> T: ...
    def get(
        self, key: str, kind: type[T], default: T | None = None, required: bool = False
    ) -> T | None:
        """The value of `key` if it is a `kind` (text is stripped; a plain number read as text is
        the number as written); a problem at its line, and `default`, otherwise."""
        node = self.node(key)
        if node is None or node.value is None:
            if required and self.ok:
                self.src.problem(self.line, f"{self.what}: missing required key '{key}'")
            return default
        value: Any = node.value
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = node.text if node.text is not None else str(value)  # `version: 1.10` is text
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.src.problem(
                node.line,
                f"{self.what}: '{key}' must be {_TYPE_NAMES.get(kind, kind.__name__)}, found {_describe(value)}",
            )
            return default
        if kind is int and isinstance(value, int) and abs(value) > MAX_INT:
            self.src.problem(
                node.line, f"{self.what}: '{key}' is {_describe(value)}, too large to mean anything"
            )
            return default
        if kind is str and isinstance(value, str):
            value = value.strip()
            if required and not value:
                self.src.problem(node.line, f"{self.what}: '{key}' must not be empty")
        return cast(T, value)  # a `kind`: checked above

    def integer(
        self, key: str, low: int, high: int, default: int | None = None, required: bool = False
    ) -> int | None:
        """A whole number from `low` to `high`; a problem (and `default`) for anything else,
        including numbers too large to mean anything (`10**400`), `.inf` and `.nan`."""
        value = self.get(key, int, None, required)
        if value is None:
            return default
        if not low <= value <= high:
            span = f"positive and at most {high}" if low == 1 else f"from {low} to {high}"
            self.src.problem(
                self.line_of(key), f"{self.what}: '{key}' must be {span}, found {_describe(value)}"
            )
            return default
        return value

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        return self.get(key, str, default, required)

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.get(key, str, default, required=default is None)
        if value is not None and value not in choices:
            self.src.problem(
                self.line_of(key),
                f"{self.what}: '{key}' is '{value}', expected one of {', '.join(choices)}",
            )
            return default or choices[0]
        return value or (default or choices[0])

    def tristate(self, key: str) -> bool | None:
        """true / false / unknown (or absent) → True / False / None."""
        node = self.node(key)
        if node is None or node.value is None or node.value == "unknown":
            return None
        if isinstance(node.value, bool):
            return node.value
        self.src.problem(
            node.line,
            f"{self.what}: '{key}' must be true, false or unknown, found {_describe(node.value)}",
        )
        return None

    def objects(self, key: str, what: str, required: bool = True) -> list[Obj]:
        node = self.node(key)
        if node is None or node.value is None:
            if required and self.ok:
                self.src.problem(self.line, f"{self.what}: missing required key '{key}'")
            return []
        if not isinstance(node.value, list):
            self.src.problem(
                node.line, f"{self.what}: '{key}' must be a list, found {_describe(node.value)}"
            )
            return []
        return [Obj(item, self.src, what) for item in node.value]

    def obj(self, key: str, what: str, required: bool = True) -> Obj | None:
        node = self.node(key)
        if node is None:
            if required and self.ok:
                self.src.problem(self.line, f"{self.what}: missing required key '{key}'")
            return None
        return Obj(node, self.src, what)

    def strings(self, key: str) -> list[str]:
        node = self.node(key)
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.src.problem(
                node.line,
                f"{self.what}: '{key}' must be a list of text, found {_describe(node.value)}",
            )
            return []
        out = []
        for item in node.value:
            if isinstance(item.value, str) and item.value.strip():
                out.append(item.value.strip())
            else:
                self.src.problem(
                    item.line,
                    f"{self.what}: every entry of '{key}' must be non-empty text, found {_describe(item.value)}",
                )
        return out

    def done(self, allowed_extra: tuple[str, ...] = ()) -> None:
        """Report keys that nobody read: unknown keys are errors, with the closest known key."""
        for key, node in self.items.items():
            if key not in self.seen and key not in allowed_extra:
                hint = did_you_mean(key, sorted(self.seen))
                self.src.problem(
                    node.line, f"{self.what}: unknown key '{key}'" + (f"; {hint}" if hint else "")
                )


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        shown = (
            repr(value)
            if isinstance(value, float)
            else str(value)
            if abs(value) < 10**40
            else f"{str(value)[:12]}… ({len(str(abs(value)))} digits)"
        )
        return f"the number {shown}"
    text = str(value)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"
