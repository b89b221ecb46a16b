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
from typing import Any

from .incident import STEP_STATES

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _levels(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _step_state(value: Any) -> bool:
    return value in STEP_STATES


# type → {field: (required, check)}. Only what readers index or compute with; other keys are free.
SHAPES: dict[str, dict[str, tuple[bool, Check]]] = {
    "started": {
        "title": (False, _text),
        "kind": (False, _text),
        "estate_file": (False, _text_or_none),
        "estate_yaml": (False, _text_or_none),
        "exercise_id": (False, _text),
        "exercise_file": (False, _text),
        "participants": (False, _texts),
    },
    "down": {"components": (True, _texts)},
    "up": {"components": (True, _texts)},
    "step": {"ref": (True, _text), "state": (True, _step_state), "note": (False, _text_or_none)},
    "note": {"text": (True, _text), "ref": (False, _text_or_none), "gap": (False, _flag)},
    "escalation": {"ref": (True, _text), "case": (False, _text_or_none)},
    "timer-expired": {
        "instance": (True, _text),
        "deadline": (False, _text),
        "matched": (False, _text),
        "after_seconds": (False, _number),
    },
    "chat": {"enabled": (True, _flag)},
    "closed": {},
    "exercise-clock": {"action": (False, _text), "offset": (True, _number), "running": (True, _flag), "speed": (False, _number)},
    "exercise-inject": {"inject": (True, _text), "message": (False, _text)},
    "exercise-prediction": {"inject": (True, _text), "levels": (False, _levels)},
}


def problem(type_: str, data: Any) -> str | None:
    """What is wrong with an event's decoded data, in a few words; None when it can be used."""
    if not isinstance(data, dict):
        return f"its data is {_json_kind(data)}, not a JSON object"
    for name, (required, check) in SHAPES.get(type_, {}).items():
        if name not in data:
            if required:
                return f"a {type_} event without '{name}'"
        elif not check(data[name]):
            return f"'{name}' of a {type_} event cannot be {_json_kind(data[name])} ({_short(data[name])})"
    return None


def _short(value: Any, width: int = 40) -> str:
    text = reprlib.repr(value)  # bounded however large the value is
    return text if len(text) <= width else text[: width - 1] + "…"


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
