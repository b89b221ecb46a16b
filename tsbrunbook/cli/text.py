"""Plain-text tables for the terminal (no colour needed: glyph and word carry the meaning)."""

from __future__ import annotations

# The one display sanitiser; re-exported so `from .text import one_line` keeps working.
from ..domain.text import escape_invisible, one_line

__all__ = ["json_text", "one_line", "out", "report_problems", "table"]


def out(text: str) -> None:
    """One result line (or block) on stdout."""
    import sys

    sys.stdout.write(text + "\n")


def json_text(data: object) -> str:
    """JSON for stdout: the data exactly, non-ASCII text readable, but DEL, C1, bidirectional
    and zero-width characters escaped (`\\u202e`) so they cannot act on the terminal."""
    import json

    return escape_invisible(json.dumps(data, indent=2, ensure_ascii=False))


def table(headers: list[str], rows: list[list[str]]) -> str:
    from rich.cells import cell_len  # only for tables: `impact --format json` never needs rich

    widths = [cell_len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], cell_len(cell))

    def line(cells: list[str]) -> str:
        # strict=False: a short row leaves its last columns empty.
        return "  ".join(
            c + " " * (w - cell_len(c)) for c, w in zip(cells, widths, strict=False)
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def report_problems(problems: list, checked: int, noun: str) -> int:
    """`file:line: message` per problem on stderr, then a count; the exit status (0 or 2)."""
    import sys

    for problem in problems:
        print(one_line(str(problem)), file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {checked} {noun}(s)", file=sys.stderr)
        return 2
    print(f"ok: {checked} {noun}(s), no problems")
    return 0
