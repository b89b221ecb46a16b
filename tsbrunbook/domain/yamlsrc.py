"""Safe YAML reading that keeps line numbers, and a small typed reader for mappings.

PyYAML's safe composer gives nodes with marks; we walk them ourselves so every value keeps
its line, duplicate keys are caught (PyYAML silently keeps the last), alias bombs cannot
blow up memory, and tags beyond the plain ones (`!!python/...`, `!!binary`, `!foo`) are problems
rather than data read as if the tag were not there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import Problem

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 500_000


@dataclass
class Node:
    """A YAML value with the line it starts on."""

    value: Any  # dict[str, Node] | list[Node] | scalar
    line: int
    key_lines: dict[str, int] | None = None  # for mappings: the line of each key


class Source:
    """One YAML file being read: collects problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))


def read_text(path: str) -> str:
    """Read a runbook or estate file, turning OS trouble into one clear problem."""
    if os.path.isdir(path):
        raise _problem_error(path, 0, "is a directory, expected a YAML file")
    try:
        size = os.path.getsize(path)
    except OSError:
        raise _problem_error(path, 0, "no such file")
    if size > MAX_FILE_BYTES:
        raise _problem_error(path, 0, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise _problem_error(path, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        raise _problem_error(path, 0, f"cannot read: {exc.strerror}")


def _problem_error(file: str, line: int, message: str) -> Exception:
    from .errors import LoadError

    return LoadError([Problem(file, line, message)])


# libyaml composes the same nodes with the same marks as PyYAML's pure-Python parser, about ten
# times faster: it is what keeps start-up and a 1,000-cluster estate quick. It words errors
# differently, though, so it is only trusted with documents it reads without a single problem;
# anything else is read again by the pure-Python parser, whose messages the user gets as before.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def parse(text: str, src: Source) -> Node | None:
    """Parse one YAML document into Nodes; syntax errors become problems."""
    if _FAST_LOADER is not None:
        trial = Source(src.file)
        try:
            node = _parse(text, trial, _FAST_LOADER)
        except yaml.YAMLError:
            node = None
        else:
            if not trial.problems:
                return node
    return _parse(text, src, yaml.SafeLoader)


def _parse(text: str, src: Source, loader: Any) -> Node | None:
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or exc.context or "syntax error"
        src.problem(line, f"malformed YAML: {what}")
        return None
    except yaml.YAMLError as exc:
        src.problem(0, f"malformed YAML: {exc}")
        return None
    if root is None:
        src.problem(1, "the file is empty")
        return None
    budget = [MAX_NODES]
    constructor = yaml.constructor.SafeConstructor()
    try:
        return _convert(root, src, constructor, budget)
    except _TooBig:
        src.problem(root.start_mark.line + 1, f"document expands to more than {MAX_NODES} values (alias bomb?)")
        return None


class _TooBig(Exception):
    pass


# The tags the safe loader gives nodes by implicit resolution (plain scalars, `[...]`, `{...}`
# and block collections). The C and the pure-Python composers tag alike, and an explicit `!!str`
# or `!!int` names one of these too. Anything else — `!!python/...`, `!!binary`, `!!set`,
# `!!omap`, a local `!foo` — would otherwise be read as if it were plain data, so it is reported.
_YAML = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
SEQ_TAG = _YAML + "seq"
MAP_TAG = _YAML + "map"
MERGE_TAG = _YAML + "merge"  # a plain `<<` key
VALUE_TAG = _YAML + "value"  # a plain `=`: PyYAML's leftover of the "value key" draft; it is just "="


def _show_tag(tag: str) -> str:
    short = "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag
    short = "".join(ch if ch.isprintable() else "?" for ch in short)  # %-escapes decode to anything
    return short[:60] + ("…" if len(short) > 60 else "")


def _unsupported(tag: str, where: str) -> str:
    return f"unsupported YAML tag '{_show_tag(tag)}'{where}; remove it (only plain text, numbers, true/false, lists and mappings are read)"


def _scalar(node: yaml.ScalarNode, src: Source, ctor: yaml.constructor.SafeConstructor) -> Any:
    """The value of a scalar node; a problem (and the raw text) for unsupported tags or values."""
    line = node.start_mark.line + 1
    if node.tag == VALUE_TAG and node.style is None:
        return node.value
    if node.tag not in SCALAR_TAGS:
        src.problem(line, _unsupported(node.tag, ""))
        return node.value
    try:
        return ctor.construct_object(node)
    except Exception:  # noqa: BLE001 — `!!int abc` raises ValueError, `!!bool x` KeyError …
        shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
        src.problem(line, f"bad value '{shown}' for YAML tag '{_show_tag(node.tag)}'")
        return None


def _convert(node: yaml.Node, src: Source, ctor: yaml.constructor.SafeConstructor, budget: list[int]) -> Node:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        if node.tag != MAP_TAG:
            src.problem(line, _unsupported(node.tag, " on a mapping"))
        out: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                src.problem(key_node.start_mark.line + 1, "keys must be plain strings")
                continue
            if key_node.tag == MERGE_TAG:
                src.problem(key_node.start_mark.line + 1, "merge keys ('<<') are not supported; write the keys out in full")
                continue
            before = len(src.problems)
            key = str(_scalar(key_node, src, ctor))
            if len(src.problems) > before:
                continue  # reported; its value is not read
            if key in out:
                src.problem(key_node.start_mark.line + 1, f"duplicate key '{key}'")
                continue
            out[key] = _convert(value_node, src, ctor, budget)
            key_lines[key] = key_node.start_mark.line + 1
        return Node(out, line, key_lines)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != SEQ_TAG:
            src.problem(line, _unsupported(node.tag, " on a list"))
        return Node([_convert(item, src, ctor, budget) for item in node.value], line)
    return Node(_scalar(node, src, ctor), line)


_TYPE_NAMES = {str: "text", bool: "true/false", int: "a whole number", list: "a list", dict: "a mapping"}


class Obj:
    """Typed access to one YAML mapping; every unread key is reported as unknown by `done()`."""

    def __init__(self, node: Node, src: Source, what: str) -> None:
        self.src = src
        self.what = what
        self.line = node.line
        self.ok = isinstance(node.value, dict)
        if not self.ok:
            src.problem(node.line, f"{what} must be a mapping, found {_describe(node.value)}")
        self.items: dict[str, Node] = node.value if self.ok else {}
        self.key_lines = node.key_lines or {}
        self.seen: set[str] = set()

    def node(self, key: str) -> Node | None:
        self.seen.add(key)
        return self.items.get(key)

    def line_of(self, key: str) -> int:
        """The line of `key` itself (where a reader looks for it), else of the mapping."""
        return self.key_lines.get(key, self.line)

    def get(self, key: str, kind: type, default: Any = None, required: bool = False) -> Any:
        node = self.node(key)
        if node is None or node.value is None:
            if required and self.ok:
                self.src.problem(self.line, f"{self.what}: missing required key '{key}'")
            return default
        value = node.value
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # `version: 1.12` is meant as text
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.src.problem(node.line, f"{self.what}: '{key}' must be {_TYPE_NAMES.get(kind, kind.__name__)}, found {_describe(value)}")
            return default
        if kind is str:
            value = value.strip()
            if required and not value:
                self.src.problem(node.line, f"{self.what}: '{key}' must not be empty")
        return value

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        return self.get(key, str, default, required)

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.get(key, str, default, required=default is None)
        if value is not None and value not in choices:
            self.src.problem(self.line_of(key), f"{self.what}: '{key}' is '{value}', expected one of {', '.join(choices)}")
            return default or choices[0]
        return value or (default or choices[0])

    def tristate(self, key: str) -> bool | None:
        """true / false / unknown (or absent) → True / False / None."""
        node = self.node(key)
        if node is None or node.value is None or node.value == "unknown":
            return None
        if isinstance(node.value, bool):
            return node.value
        self.src.problem(node.line, f"{self.what}: '{key}' must be true, false or unknown, found {_describe(node.value)}")
        return None

    def objects(self, key: str, what: str, required: bool = True) -> list[Obj]:
        node = self.node(key)
        if node is None or node.value is None:
            if required and self.ok:
                self.src.problem(self.line, f"{self.what}: missing required key '{key}'")
            return []
        if not isinstance(node.value, list):
            self.src.problem(node.line, f"{self.what}: '{key}' must be a list, found {_describe(node.value)}")
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
            self.src.problem(node.line, f"{self.what}: '{key}' must be a list of text, found {_describe(node.value)}")
            return []
        out = []
        for item in node.value:
            if isinstance(item.value, str) and item.value.strip():
                out.append(item.value.strip())
            else:
                self.src.problem(item.line, f"{self.what}: every entry of '{key}' must be non-empty text, found {_describe(item.value)}")
        return out

    def done(self, allowed_extra: tuple[str, ...] = ()) -> None:
        """Report keys that nobody read: unknown keys are errors, with the closest known key."""
        from .errors import did_you_mean

        for key, node in self.items.items():
            if key not in self.seen and key not in allowed_extra:
                hint = did_you_mean(key, sorted(self.seen))
                self.src.problem(node.line, f"{self.what}: unknown key '{key}'" + (f"; {hint}" if hint else ""))


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
        return f"the number {value}"
    text = str(value)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_id(src: Source, value: str | None, line: int, what: str) -> bool:
    """Ids are lowercase DNS-label-like: safe in refs, file names, Markdown and the UI."""
    if not value:
        return False  # a missing id is reported as missing, not also as malformed
    if not ID_RE.match(value):
        src.problem(line, f"{what} '{value[:40]}' is not a valid id (lowercase letters, digits and '-', at most 63)")
        return False
    return True


Reader = Callable[[Obj], Any]
