"""Safe YAML parsing that keeps line numbers: `parse()` and the bounded composer behind it.

PyYAML's safe composer gives nodes with marks; we walk them ourselves so every value keeps
its line, duplicate keys are caught (PyYAML silently keeps the last), alias bombs cannot
blow up memory, and tags beyond the plain ones (`!!python/...`, `!!binary`, `!foo`) are problems
rather than data read as if the tag were not there. `Source` collects the problems of one file.
Typed access to the parsed mappings is `mapping.Obj`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from ..errors import Problem

# PyYAML is imported by the first parse (`_load_yaml`), not with this module: a start that
# takes the pack and the estate from the cache (runbooks.cache) parses no YAML at all.
if TYPE_CHECKING:
    import yaml
else:
    yaml = None

MAX_NODES = 500_000  # values in one file, aliases counted as often as they are used
MAX_DEPTH = 100  # lists and mappings within each other; our documents nest about 8 deep


@dataclass(slots=True)
class Node:
    """A YAML value with the line it starts on."""

    value: Any  # dict[str, Node] | list[Node] | scalar
    line: int
    key_lines: dict[str, int] | None = None  # for mappings: the line of each key
    text: str | None = None  # for plain numbers: the scalar as written (`1.10`, not 1.1)


class Source:
    """One YAML file being read: collects problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))


# libyaml parses about ten times faster than PyYAML's pure-Python parser: it is what keeps
# start-up and a 1,000-cluster estate quick. Both only give us *events* here: the nodes are
# built by `_Composer` below, which counts values and depth as it goes, so a deep, recursive or
# exploding document stops at its line instead of exhausting the stack or the memory (PyYAML's
# own composers recurse, and the C one would build the whole tree before anyone could count).
# libyaml words syntax errors differently, so for those the pure-Python parser is asked again,
# for a bounded number of events, and its wording is used when it finds the error in that span.
_TOO_DEEP = f"lists and mappings nested more than {MAX_DEPTH} levels deep; tsbrunbook reads at most {MAX_DEPTH} (flatten the structure)"


_RETRY_EVENTS = 50_000  # about a second of the pure-Python parser


def parse(text: str, src: Source) -> Node | None:
    """Parse one YAML document into Nodes; syntax errors and excess become problems."""
    _load_yaml()
    return _parse(text, src, getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader)


class _Mark(Protocol):
    """A parser's position (yaml.error.Mark, or libyaml's own Mark class)."""

    line: int  # 0-based


def _line(mark: _Mark | None) -> int:
    """The 1-based line of a mark; 0 when the parser gave none."""
    return mark.line + 1 if mark is not None else 0


def _load_yaml() -> None:
    global yaml
    import yaml as module  # a dictionary lookup after the first time

    yaml = module


def _parse(text: str, src: Source, loader: Any) -> Node | None:
    composer = _Composer(src)
    try:
        root = composer.compose(yaml.parse(text, Loader=loader))
    except _Stop:
        return None
    except yaml.YAMLError as exc:
        del src.problems[composer.problems_before :]  # a syntax error is the one thing to fix
        if (
            isinstance(exc, yaml.MarkedYAMLError)
            and exc.problem == "exceeded maximum nesting depth"
        ):
            mark = exc.problem_mark or exc.context_mark
            src.problem(_line(mark), _TOO_DEEP)  # libyaml's limit, above ours
            return None
        if loader is not yaml.SafeLoader:
            exc = _python_wording(text, exc)
        src.problem(*_syntax_problem(exc))
        return None
    if root is None:
        src.problem(1, "the file is empty")
    elif root.value is None:
        src.problem(root.line, "the document is empty")
        return None
    return root


def _python_wording(text: str, exc: yaml.YAMLError) -> yaml.YAMLError:
    """The pure-Python parser's error for the same text, if it finds it within a bounded span."""
    try:
        for count, _ in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
            if count > _RETRY_EVENTS:
                break
    except yaml.YAMLError as slow:
        return slow
    return exc


def _syntax_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return _line(mark), f"malformed YAML: {exc.problem or exc.context or 'syntax error'}"
    return 0, f"malformed YAML: {exc}"


# The tags the safe loader gives nodes by implicit resolution (plain scalars, `[...]`, `{...}`
# and block collections). The C and the pure-Python composers tag alike, and an explicit `!!str`
# or `!!int` names one of these too. Anything else — `!!python/...`, `!!binary`, `!!set`,
# `!!omap`, a local `!foo` — would otherwise be read as if it were plain data, so it is reported.
_YAML = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp"))


SEQ_TAG = _YAML + "seq"
STR_TAG = _YAML + "str"


MAP_TAG = _YAML + "map"
MERGE_TAG = _YAML + "merge"  # a plain `<<` key


VALUE_TAG = (
    _YAML + "value"
)  # a plain `=`: PyYAML's leftover of the "value key" draft; it is just "="


def _show_tag(tag: str) -> str:
    short = "!!" + tag[len(_YAML) :] if tag.startswith(_YAML) else tag
    short = "".join(ch if ch.isprintable() else "?" for ch in short)  # %-escapes decode to anything
    return short[:60] + ("…" if len(short) > 60 else "")


def _unsupported(tag: str, where: str) -> str:
    return f"unsupported YAML tag '{_show_tag(tag)}'{where}; remove it (only plain text, numbers, true/false, lists and mappings are read)"


def _scalar(
    node: yaml.ScalarNode, line: int, src: Source, ctor: yaml.constructor.SafeConstructor
) -> Any:
    """The value of a scalar node (at `line`); a problem (and the raw text) for unsupported tags
    or values."""
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
    finally:
        ctor.constructed_objects.pop(node, None)  # its cache would keep every node alive


class _Stop(Exception):
    """The document cannot be read further (reported already)."""


@dataclass(slots=True)
class _Frame:
    """A list or mapping being composed."""

    node: Node
    anchor: str | None
    size: int = 1  # values in it, itself included, aliases counted at their full size
    key: str | None = None  # mappings: the key whose value comes next
    skip: bool = False  # mappings: the value that comes next belongs to a rejected key
    expect_key: bool = True


class _Composer:
    """Builds Nodes from parser events without recursion, within MAX_NODES and MAX_DEPTH.

    Aliases share the node of their anchor (nothing is copied) but count at that node's full
    size, so a document that expands beyond the budget is refused wherever the expansion is.
    An alias to a list or mapping that is still open (`&a [*a]`) is a recursive structure and
    is refused at its line.
    """

    def __init__(self, src: Source) -> None:
        self.src = src
        self.problems_before = len(src.problems)
        self.ctor = yaml.constructor.SafeConstructor()
        self.resolver = yaml.resolver.Resolver()
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.count = 0

    def compose(self, events: Any) -> Node | None:
        root: Node | None = None
        documents = 0
        for event in events:
            kind = type(event)
            if kind is yaml.ScalarEvent:
                node = self._scalar(event)
                if node is not None:
                    root = self._add(node, 1, event, event.anchor) or root
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                self._start(event)
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                frame = self.stack.pop()
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                root = self._add(frame.node, frame.size, event, frame.anchor) or root
            elif kind is yaml.AliasEvent:
                root = self._alias(event) or root
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    self._stop(
                        event,
                        "malformed YAML: expected a single document in the stream, found another; keep one document per file",
                    )
        return root

    def _stop(self, event: yaml.Event, message: str) -> NoReturn:
        self.src.problem(_line(event.start_mark), message)
        raise _Stop

    def _spend(self, amount: int, event: Any, alias: str | None = None) -> None:
        self.count += amount
        if self.count > MAX_NODES:
            if alias is not None:
                self._stop(
                    event,
                    f"alias '*{_show(alias)}' expands the document past {MAX_NODES} values (an alias bomb?); write the values out instead",
                )
            self._stop(
                event,
                f"more than {MAX_NODES} values in one file; tsbrunbook reads at most {MAX_NODES} (is it the right file? split it)",
            )

    def _start(self, event: Any) -> None:
        line = _line(event.start_mark)
        if len(self.stack) >= MAX_DEPTH:
            self._stop(event, _TOO_DEEP)
        self._spend(1, event)
        is_map = isinstance(event, yaml.MappingStartEvent)
        tag = event.tag
        if tag is None or tag == "!":
            tag = MAP_TAG if is_map else SEQ_TAG
        if tag != (MAP_TAG if is_map else SEQ_TAG):
            self.src.problem(line, _unsupported(tag, " on a mapping" if is_map else " on a list"))
        node = Node({}, line, {}) if is_map else Node([], line)
        if event.anchor is not None:
            self._check_anchor(event)
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(node, event.anchor))

    def _check_anchor(self, event: Any) -> None:
        if event.anchor in self.anchors or event.anchor in self.open_anchors:
            self._stop(event, f"malformed YAML: found duplicate anchor '{_show(event.anchor)}'")

    def _scalar(self, event: yaml.ScalarEvent) -> Node | None:
        self._spend(1, event)
        line = _line(event.start_mark)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.expect_key and isinstance(frame.node.value, dict):
            self._key(frame, event, tag, line)
            return None
        if event.anchor is not None:
            self._check_anchor(event)
        if tag == STR_TAG:
            return Node(event.value, line)
        node = yaml.ScalarNode(tag, event.value, style=event.style or None)
        value = _scalar(node, line, self.src, self.ctor)
        # libyaml gives plain scalars the style '', PyYAML None.
        plain_number = (
            not event.style and isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        return Node(value, line, text=event.value if plain_number else None)

    def _key(self, frame: _Frame, event: yaml.ScalarEvent, tag: str, line: int) -> None:
        """A mapping key: a plain string, once per mapping; otherwise its value is skipped."""
        frame.expect_key = False
        frame.skip = True
        if tag == MERGE_TAG:
            self.src.problem(
                line, "merge keys ('<<') are not supported; write the keys out in full"
            )
            return
        if tag == STR_TAG:
            key = event.value
        else:
            before = len(self.src.problems)
            node = yaml.ScalarNode(tag, event.value, style=event.style or None)
            key = str(_scalar(node, line, self.src, self.ctor))
            if len(self.src.problems) > before:
                return  # reported; its value is not read
        if key in frame.node.value:
            self.src.problem(line, f"duplicate key '{_show(key)}'")
            return
        frame.key, frame.skip = key, False
        assert frame.node.key_lines is not None
        frame.node.key_lines[key] = line
        if event.anchor is not None:
            self._check_anchor(event)
            self.anchors[event.anchor] = (Node(event.value, line), 1)

    def _alias(self, event: yaml.AliasEvent) -> Node | None:
        name = event.anchor or ""  # the parsers always name it: `*` alone is a syntax error
        if name in self.open_anchors:
            self._stop(
                event,
                f"alias '*{_show(name)}' refers to itself (a list or mapping that contains itself); write the values out instead",
            )
        if name not in self.anchors:
            self._stop(event, f"malformed YAML: found undefined alias '{_show(name)}'")
        node, size = self.anchors[name]
        self._spend(size, event, alias=name)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.expect_key and isinstance(frame.node.value, dict):
            frame.expect_key, frame.skip = False, True
            self.src.problem(_line(event.start_mark), "keys must be plain strings")
            return None
        return self._add(node, size, event, None, counted=True)

    def _add(
        self, node: Node, size: int, event: Any, anchor: str | None, counted: bool = False
    ) -> Node | None:
        """Put a finished node into its parent; the root when there is no parent."""
        if anchor is not None:
            self.anchors[anchor] = (node, size)
        if not self.stack:
            return node
        frame = self.stack[-1]
        frame.size += size
        if isinstance(frame.node.value, list):
            frame.node.value.append(node)
        elif frame.expect_key:
            # A list or mapping as a key: reported, and its value is skipped.
            self.src.problem(node.line, "keys must be plain strings")
            frame.expect_key, frame.skip = False, True
        else:
            if not frame.skip and frame.key is not None:
                frame.node.value[frame.key] = node
            frame.key, frame.skip, frame.expect_key = None, False, True
        return None


def _show(text: str) -> str:
    """An anchor or key in a message: printable and short."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in text)
    return shown[:60] + ("…" if len(shown) > 60 else "")
