"""One runbook file as a document: parse it and find its one top-level key (`pack:`, `graph:` …)."""

from __future__ import annotations

from ..errors import did_you_mean
from .mapping import Obj
from .textfile import read_text
from .yamlsrc import Source as YamlFile
from .yamlsrc import parse

TOP_KEYS = ("pack", "graph", "scenario", "readiness", "estate", "exercise")


def read_document(path: str, text: str | None = None) -> tuple[YamlFile, str | None, Obj | None]:
    """Parse a file (or `text` read from it earlier) and find its one top-level key."""
    src = YamlFile(path)
    root = parse(read_text(path) if text is None else text, src)
    if root is None:
        return src, None, None
    if not isinstance(root.value, dict) or len(root.value) != 1:
        src.problem(root.line, f"expected exactly one top-level key, one of: {', '.join(TOP_KEYS)}")
        return src, None, None
    key, node = next(iter(root.value.items()))
    if key not in TOP_KEYS:
        src.problem(
            root.line,
            f"unknown document type '{key}'; {did_you_mean(key, TOP_KEYS) or 'expected one of ' + ', '.join(TOP_KEYS)}",
        )
        return src, None, None
    return src, key, Obj(node, src, key)


def expect_document(path: str, key: str, text: str | None = None) -> tuple[YamlFile, Obj | None]:
    """`read_document`, and a problem (and no `Obj`) if the file is another kind of document."""
    src, found, obj = read_document(path, text)
    if found is not None and found != key:
        src.problem(1, f"expected a '{key}:' document here, found '{found}:'")
        return src, None
    return src, obj
