"""The events an incident is made of: their types, a typed payload class per type, and how a
payload is read from (`decode`) and written to (`encode`) the JSON object the store keeps.

The payload classes are the one statement of each event's shape. The store decodes every event
through `decode` before handing it out, so a row written by another program, an older bug or a
hand edit can only make its own incident unreadable (with the event named), never crash a fold,
an export or a listing halfway; `sql_shape_problem` states the same shapes to SQLite so a store
can find damaged rows without decoding them in Python.

Stored JSON stays as it always was: `encode` writes exactly the keys this version has always
written, and `decode` accepts everything older versions wrote (other keys are free). A type this
version does not know decodes to `Unknown`: a newer tsbrunbook may have written it, and it is
kept in the timeline only.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal, get_args


class EventType(StrEnum):
    STARTED = "started"
    DOWN = "down"
    UP = "up"
    STEP = "step"
    NOTE = "note"
    ESCALATION = "escalation"
    TIMER_EXPIRED = "timer-expired"
    CHAT = "chat"
    CLOSED = "closed"
    RENAMED = "renamed"
    EXERCISE_CLOCK = "exercise-clock"
    EXERCISE_INJECT = "exercise-inject"
    EXERCISE_PREDICTION = "exercise-prediction"
    CLAIMED = "claimed"
    RELEASED = "released"


StepStatus = Literal["pending", "done", "skipped", "failed", "blocked"]
STEP_STATUSES: tuple[str, ...] = get_args(StepStatus)


# ---------------------------------------------------------------------------------------------
# What a stored field may hold


@dataclass(frozen=True)
class Kind:
    """What a field may hold: a Python test, the same in SQLite's json_type() names (plus the
    allowed values), and how the JSON value becomes the field's value."""

    test: Callable[[Any], bool]
    json_types: tuple[str, ...]
    values: tuple[str, ...] = ()
    read: Callable[[Any], Any] = lambda v: v
    write: Callable[[Any], Any] = lambda v: v


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def _is_levels(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(x, str) for x in value.values())


TEXT = Kind(lambda v: isinstance(v, str), ("text",))
TEXT_OR_NULL = Kind(lambda v: v is None or isinstance(v, str), ("text", "null"))
FLAG = Kind(lambda v: isinstance(v, bool), ("true", "false"))
NUMBER = Kind(_is_number, ("integer", "real"))
TEXTS = Kind(_is_texts, ("array",), read=tuple, write=list)
LEVELS = Kind(_is_levels, ("object",), read=dict, write=dict)
STEP_STATUS = Kind(lambda v: v in STEP_STATUSES, ("text",), STEP_STATUSES)

_REQUIRED: Any = dataclasses.MISSING
_SPEC = "tsbrunbook.stored"


@dataclass(frozen=True)
class _Spec:
    kind: Kind
    required: bool
    omit_default: bool  # written only when it differs from its default


def stored(kind: Kind, default: Any = _REQUIRED, *, omit_default: bool = False) -> Any:
    """A payload field kept under its own name in the stored JSON object."""
    spec = {_SPEC: _Spec(kind, default is _REQUIRED, omit_default)}
    if isinstance(default, dict | list):
        factory = type(default)
        return field(default_factory=factory, metadata=spec)
    return field(default=default, metadata=spec)


# ---------------------------------------------------------------------------------------------
# The payloads


@dataclass(frozen=True, kw_only=True)
class Payload:
    """What one event says. `TYPE` is the event type it is stored under."""

    TYPE: ClassVar[EventType]


@dataclass(frozen=True, kw_only=True)
class Started(Payload):
    """The first event of an incident or exercise run (written by the store's `create`)."""

    TYPE = EventType.STARTED
    title: str = stored(TEXT, "")
    kind: str = stored(TEXT, "incident")
    estate_file: str | None = stored(TEXT_OR_NULL, None, omit_default=True)
    estate_yaml: str | None = stored(TEXT_OR_NULL, None, omit_default=True)
    exercise_id: str | None = stored(TEXT, None, omit_default=True)
    exercise_file: str | None = stored(TEXT, None, omit_default=True)
    participants: tuple[str, ...] = stored(TEXTS, (), omit_default=True)
    # Everything else the store was given (estate name, pack version and checksum …), unchecked.
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Down(Payload):
    """Components marked down (only those that were not down yet)."""

    TYPE = EventType.DOWN
    components: tuple[str, ...] = stored(TEXTS)


@dataclass(frozen=True, kw_only=True)
class Up(Payload):
    """Components marked up again (only those that were down)."""

    TYPE = EventType.UP
    components: tuple[str, ...] = stored(TEXTS)


@dataclass(frozen=True, kw_only=True)
class StepChanged(Payload):
    """A checklist step's new state, with the note given with it."""

    TYPE = EventType.STEP
    ref: str = stored(TEXT)
    state: StepStatus = stored(STEP_STATUS)
    note: str | None = stored(TEXT_OR_NULL, "")


@dataclass(frozen=True, kw_only=True)
class Note(Payload):
    """A note on the incident, or on a step; `gap` flags a runbook gap (exercises)."""

    TYPE = EventType.NOTE
    text: str = stored(TEXT)
    ref: str | None = stored(TEXT_OR_NULL, None, omit_default=True)
    gap: bool = stored(FLAG, False, omit_default=True)


@dataclass(frozen=True, kw_only=True)
class Escalation(Payload):
    """Tetrate support was engaged for a step, with the support case number if known."""

    TYPE = EventType.ESCALATION
    ref: str = stored(TEXT)
    case: str | None = stored(TEXT_OR_NULL, "")


@dataclass(frozen=True, kw_only=True)
class TimerExpired(Payload):
    """A scenario's escalate_after passed without recovery (recorded once per match)."""

    TYPE = EventType.TIMER_EXPIRED
    instance: str = stored(TEXT)
    deadline: str | None = stored(TEXT, None, omit_default=True)  # a stored timestamp
    matched: str | None = stored(TEXT, None, omit_default=True)  # a stored timestamp
    after_seconds: float | None = stored(NUMBER, None, omit_default=True)


@dataclass(frozen=True, kw_only=True)
class Chat(Payload):
    """Chat updates switched on or off for the incident."""

    TYPE = EventType.CHAT
    enabled: bool = stored(FLAG)


@dataclass(frozen=True, kw_only=True)
class Closed(Payload):
    TYPE = EventType.CLOSED


@dataclass(frozen=True, kw_only=True)
class Renamed(Payload):
    """The incident's title changed (the `started` event keeps the first one)."""

    TYPE = EventType.RENAMED
    title: str = stored(TEXT)


@dataclass(frozen=True, kw_only=True)
class ExerciseClock(Payload):
    """The exercise clock changed: where it stood (`offset`, exercise seconds), whether it runs."""

    TYPE = EventType.EXERCISE_CLOCK
    action: str | None = stored(TEXT, None, omit_default=True)  # start, pause, resume, jump, speed
    offset: float = stored(NUMBER)
    running: bool = stored(FLAG)
    speed: float | None = stored(NUMBER, None, omit_default=True)


@dataclass(frozen=True, kw_only=True)
class ExerciseInject(Payload):
    """An inject of the exercise script fired (after its components were marked)."""

    TYPE = EventType.EXERCISE_INJECT
    inject: str = stored(TEXT)
    message: str = stored(TEXT, "")


@dataclass(frozen=True, kw_only=True)
class ExercisePrediction(Payload):
    """The participants' prediction of each operation's level after an inject; or, `skipped`,
    that the dialog was left without one (the question stays open and can be answered later)."""

    TYPE = EventType.EXERCISE_PREDICTION
    inject: str = stored(TEXT)
    levels: dict[str, str] = stored(LEVELS, {})
    skipped: bool = stored(FLAG, False, omit_default=True)


@dataclass(frozen=True, kw_only=True)
class Claimed(Payload):
    """Someone (the event's author) is working on a step, so others leave it alone; taken over
    from `taken_from` when it was claimed by someone else."""

    TYPE = EventType.CLAIMED
    ref: str = stored(TEXT)
    taken_from: str = stored(TEXT, "", omit_default=True)


@dataclass(frozen=True, kw_only=True)
class Released(Payload):
    """The step's holder stopped working on it without an outcome (an outcome releases it
    without an event of its own: see IncidentState.apply)."""

    TYPE = EventType.RELEASED
    ref: str = stored(TEXT)


@dataclass(frozen=True)
class Unknown:
    """An event of a type this version does not know (a newer tsbrunbook wrote it): its data as
    stored, shown by name only."""

    type: str
    data: Mapping[str, Any]


PAYLOADS: dict[str, type[Payload]] = {
    cls.TYPE: cls
    for cls in (
        Started,
        Down,
        Up,
        StepChanged,
        Note,
        Escalation,
        TimerExpired,
        Chat,
        Closed,
        Renamed,
        ExerciseClock,
        ExerciseInject,
        ExercisePrediction,
        Claimed,
        Released,
    )
}
assert set(PAYLOADS) == set(EventType)


def _stored_fields(cls: type[Payload]) -> list[tuple[str, _Spec, dataclasses.Field[Any]]]:
    return [(f.name, f.metadata[_SPEC], f) for f in dataclasses.fields(cls) if _SPEC in f.metadata]


# ---------------------------------------------------------------------------------------------
# Reading and writing


def decode(type_: str, data: Any) -> Payload | Unknown:
    """The payload of a stored event; ValueError saying what is wrong, in a few words, when its
    data does not have its type's shape."""
    if not isinstance(data, dict):
        raise ValueError(f"its data is {_json_kind(data)}, not a JSON object")
    cls = PAYLOADS.get(type_)
    if cls is None:
        return Unknown(type_, dict(data))
    values: dict[str, Any] = {}
    for name, spec, _ in _stored_fields(cls):
        if name not in data:
            if spec.required:
                raise ValueError(f"a {type_} event without '{name}'")
            continue
        value = data[name]
        if not spec.kind.test(value):
            raise ValueError(
                f"'{name}' of a {type_} event cannot be {_json_kind(value)} ({_short(value)})"
            )
        values[name] = spec.kind.read(value)
    if cls is Started:
        named = {name for name, _, _ in _stored_fields(cls)}
        values["extra"] = {k: v for k, v in data.items() if k not in named}
    return cls(**values)


def encode(payload: Payload | Unknown) -> dict[str, Any]:
    """The JSON object to store for a payload: the keys this version has always written."""
    if isinstance(payload, Unknown):
        return dict(payload.data)
    out: dict[str, Any] = dict(payload.extra) if isinstance(payload, Started) else {}
    for name, spec, f in _stored_fields(type(payload)):
        value = getattr(payload, name)
        if spec.omit_default and value == _default(f):
            continue
        out[name] = spec.kind.write(value)
    return out


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def shapes() -> dict[str, list[tuple[str, bool, Kind]]]:
    """Each event type's stored fields as (name, required, kind): for a store that finds
    damaged rows in its own SQL dialect (the PostgreSQL store)."""
    return {
        str(name): [(fname, spec.required, spec.kind) for fname, spec, _ in _stored_fields(cls)]
        for name, cls in PAYLOADS.items()
    }


def sql_shape_problem(data: str = "data", type_: str = "type") -> str:
    """An SQLite expression, true when a row's (valid JSON object) data breaks its type's shape:
    what `decode` refuses, except that list items and object values are not looked into. Field
    names and values are ours (no quoting needed)."""
    cases = []
    for name, cls in PAYLOADS.items():
        tests = []
        for fname, spec, _ in _stored_fields(cls):
            got = f"json_type({data}, '$.{fname}')"
            allowed = ", ".join(f"'{t}'" for t in spec.kind.json_types)
            wrong = f"{got} NOT IN ({allowed})"
            if spec.kind.values:
                values = ", ".join(f"'{v}'" for v in spec.kind.values)
                wrong += f" OR json_extract({data}, '$.{fname}') NOT IN ({values})"
            tests.append(
                f"({got} IS NULL OR {wrong})"
                if spec.required
                else f"({got} IS NOT NULL AND ({wrong}))"
            )
        if tests:
            cases.append(f"WHEN {type_} = '{name}' THEN " + " OR ".join(tests))
    return "CASE " + " ".join(cases) + " ELSE 0 END" if cases else "0"


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
