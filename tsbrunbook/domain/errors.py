"""Problems found in user input, always with a place (file:line or an id) and a hint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return f"{place}: {self.message}"


class UserError(Exception):
    """Bad input from the user: shown as one line with a hint, exit status 2."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class LoadError(UserError):
    """One or more problems in runbook or estate files."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = (
            f" (and {len(problems) - 1} more problem(s); run `tsbrunbook validate`)"
            if len(problems) > 1
            else ""
        )
        super().__init__(f"{problems[0]}{more}")

    def __str__(self) -> str:
        return self.message


def closest(word: str, candidates: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The candidates that look most like `word`, best first (for "did you mean" hints)."""
    import difflib

    candidates = list(dict.fromkeys(candidates))
    found = difflib.get_close_matches(word, candidates, n=n, cutoff=0.5)
    if not found:
        # A suffix or prefix match helps with ids like `eu-west` for `workload-cluster/eu-west`.
        found = [c for c in candidates if c.endswith("/" + word) or c.startswith(word)][:n]
    return found


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    found = closest(word, candidates)
    if found:
        return "did you mean " + ", ".join(found) + "?"
    return ""
