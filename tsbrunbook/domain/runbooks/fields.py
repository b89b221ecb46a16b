"""Fields and vocabularies shared by several runbook documents: sources, duplicate ids, durations.

Each reader takes an `Obj` and reports its problems to the file being read.
"""

from __future__ import annotations

import re

from ..model import Source
from .mapping import Obj
from .yamlsrc import Source as YamlFile

PLACEMENTS = ("external", "embedded")
DATASTORES = ("postgres", "elasticsearch")
DURATION_RE = re.compile(r"^(\d+)\s*(s|m|h)$")
MAX_DURATION = 7 * 24 * 3600  # escalation timers: anything longer is a typo


def read_sources(obj: Obj) -> tuple[Source, ...]:
    """`sources:` (title and url of each page the document rests on); at least one."""
    out = []
    for s in obj.objects("sources", "source"):
        out.append(Source(title=s.text("title"), url=s.text("url")))
        s.done()
    if not out and obj.ok:
        obj.src.problem(obj.line, f"{obj.what}: cite at least one source page in 'sources'")
    return tuple(out)


def report_duplicates(src: YamlFile, items: list[tuple[str, int]], what: str) -> None:
    """A problem at each (id, line) whose id came earlier in `items`."""
    seen: set[str] = set()
    for value, line in items:
        if value in seen:
            src.problem(line, f"duplicate {what} id '{value}'")
        seen.add(value)


def read_duration(obj: Obj, key: str) -> int | None:
    """A duration such as `30m`, `2h` or `90s` in seconds (at most 7 days); None if absent or bad."""
    raw = obj.get(key, str)
    if raw is None:
        return None
    match = DURATION_RE.match(raw)
    if not match:
        obj.src.problem(
            obj.line_of(key),
            f"{obj.what}: '{key}' is '{raw}', expected a duration like 30m, 2h or 90s",
        )
        return None
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    if seconds > MAX_DURATION:
        obj.src.problem(
            obj.line_of(key),
            f"{obj.what}: '{key}' is '{raw[:40]}', longer than 7 days; give a duration like 30m, 2h or 90s",
        )
        return None
    return seconds
