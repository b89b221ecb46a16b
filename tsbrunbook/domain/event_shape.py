"""The shape each stored event's data must have for the fold, the exports and the exercise to use it.

A store decodes every event through `problem()` before handing it out, so a row written by another
program, an older bug or a hand edit can only make its own incident unreadable (with the event
named), never crash a fold, an export or a listing halfway. Unknown event types are not checked:
they are kept in the timeline only (a newer tsbrunbook may have written them).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .incident import STEP_STATES


@dataclass(frozen=True)
class Kind:
    """What a field may hold: a Python test, and the same as SQLite's json_type() names (plus
    allowed values), so a store can find damaged rows without decoding them in Python."""

    test: Callable[[Any], bool]
    json_types: tuple[str, ...]
    values: tuple[str, ...] = ()


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


TEXT = Kind(_is_text, ("text",))
TEXT_OR_NULL = Kind(lambda v: v is None or isinstance(v, str), ("text", "null"))
FLAG = Kind(lambda v: isinstance(v, bool), ("true", "false"))
NUMBER = Kind(_is_number, ("integer", "real"))
TEXTS = Kind(lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), ("array",))
LEVELS = Kind(
    lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()), ("object",)
)
STEP_STATE = Kind(lambda v: v in STEP_STATES, ("text",), STEP_STATES)

# type → {field: (required, kind)}. Only what readers index or compute with; other keys are free.
SHAPES: dict[str, dict[str, tuple[bool, Kind]]] = {
    "started": {
        "title": (False, TEXT),
        "kind": (False, TEXT),
        "estate_file": (False, TEXT_OR_NULL),
        "estate_yaml": (False, TEXT_OR_NULL),
        "exercise_id": (False, TEXT),
        "exercise_file": (False, TEXT),
        "participants": (False, TEXTS),
    },
    "down": {"components": (True, TEXTS)},
    "up": {"components": (True, TEXTS)},
    "step": {"ref": (True, TEXT), "state": (True, STEP_STATE), "note": (False, TEXT_OR_NULL)},
    "note": {"text": (True, TEXT), "ref": (False, TEXT_OR_NULL), "gap": (False, FLAG)},
    "escalation": {"ref": (True, TEXT), "case": (False, TEXT_OR_NULL)},
    "timer-expired": {
        "instance": (True, TEXT),
        "deadline": (False, TEXT),
        "matched": (False, TEXT),
        "after_seconds": (False, NUMBER),
    },
    "chat": {"enabled": (True, FLAG)},
    "closed": {},
    "exercise-clock": {
        "action": (False, TEXT),
        "offset": (True, NUMBER),
        "running": (True, FLAG),
        "speed": (False, NUMBER),
    },
    "exercise-inject": {"inject": (True, TEXT), "message": (False, TEXT)},
    "exercise-prediction": {"inject": (True, TEXT), "levels": (False, LEVELS)},
}


def problem(type_: str, data: Any) -> str | None:
    """What is wrong with an event's decoded data, in a few words; None when it can be used."""
    if not isinstance(data, dict):
        return f"its data is {_json_kind(data)}, not a JSON object"
    for name, (required, kind) in SHAPES.get(type_, {}).items():
        if name not in data:
            if required:
                return f"a {type_} event without '{name}'"
        elif not kind.test(data[name]):
            return f"'{name}' of a {type_} event cannot be {_json_kind(data[name])} ({_short(data[name])})"
    return None


def _short(value: Any, width: int = 40) -> str:
    text = reprlib.repr(value)  # bounded however large the value is
    return text if len(text) <= width else text[: width - 1] + "…"


def sql_shape_problem(data: str = "data", type_: str = "type") -> str:
    """An SQLite expression, true when a row's (valid JSON object) data breaks its type's shape:
    what `problem()` says of the decoded data, except that list items and object values are not
    looked into. Field names and values are ours (no quoting needed)."""
    cases = []
    for name, fields in SHAPES.items():
        tests = []
        for field, (required, kind) in fields.items():
            got = f"json_type({data}, '$.{field}')"
            allowed = ", ".join(f"'{t}'" for t in kind.json_types)
            wrong = f"{got} NOT IN ({allowed})"
            if kind.values:
                values = ", ".join(f"'{v}'" for v in kind.values)
                wrong += f" OR json_extract({data}, '$.{field}') NOT IN ({values})"
            tests.append(
                f"({got} IS NULL OR {wrong})" if required else f"({got} IS NOT NULL AND ({wrong}))"
            )
        if tests:
            cases.append(f"WHEN {type_} = '{name}' THEN " + " OR ".join(tests))
    return "CASE " + " ".join(cases) + " ELSE 0 END" if cases else "0"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
