"""Tabletop exercise scripts: injects at offsets, prediction questions, expectations with points.

`read_exercise()` turns YAML into the model; `check_exercise()` validates it against the pack and
the exercise's estate (every component, scenario, step and escalation it names must exist, and a
step it expects must belong to a scenario its injects actually cause).
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

from . import timefmt
from .errors import LoadError, Problem, did_you_mean
from .impact import ImpactEngine
from .model import Estate, Pack
from .runbooks.estate import load_estate
from .runbooks.mapping import Obj
from .runbooks.pack import load_pack
from .runbooks.paths import demo_estate_path, runbooks_dir
from .runbooks.textfile import read_text
from .runbooks.textrules import check_id
from .runbooks.yamlsrc import Source, parse
from .serialize import applicable_steps

DURATION_RE = re.compile(r"^(\d+)\s*(s|m|h)$")
PREDICT_DEFAULT = "Before you look: what is the impact on each operation?"
MAX_EXERCISE_SECONDS = 24 * 3600  # a tabletop exercise is hours long, never days
MAX_POINTS = 1000  # per expectation


@dataclass(frozen=True)
class Expectation:
    kind: str  # "step" (done by then) or "escalation" (raised by then)
    ref: str  # INSTANCE/PHASE/STEP
    by: int  # exercise offset in seconds
    points: int
    line: int = 0

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass(frozen=True)
class Inject:
    id: str
    at: int  # seconds from the exercise start
    down: tuple[str, ...]
    up: tuple[str, ...]
    message: str
    question: str | None  # the prediction question, None when no prediction is asked
    expectations: tuple[Expectation, ...]
    line: int = 0
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # key → line

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    audience: str
    objectives: tuple[str, ...]
    estate: str | None  # None: the bundled demo estate; else an absolute path
    duration: int
    injects: tuple[Inject, ...]
    file: str = ""
    lines: dict[str, int] = field(default_factory=dict, compare=False)

    def inject(self, inject_id: str) -> Inject:
        return next(i for i in self.injects if i.id == inject_id)


def _offset(obj: Obj, key: str, required: bool = True) -> int | None:
    raw = obj.get(key, str, required=required)
    if raw is None:
        return None
    value = timefmt.parse_offset(raw)
    if value is None or value > MAX_EXERCISE_SECONDS:
        obj.src.problem(
            obj.line_of(key),
            f"{obj.what}: '{key}' is '{raw[:40]}', expected an offset like 05:00 or 1:05:00 (at most 24:00:00)",
        )
        return None
    return value


def read_exercise(obj: Obj, file: str) -> Exercise:
    src = obj.src
    exercise_id = obj.text("id")
    check_id(src, exercise_id, obj.line_of("id"), "exercise id")
    raw_estate = obj.text("estate", required=False, default="demo") or "demo"
    estate = (
        None
        if raw_estate == "demo"
        else os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(file)), raw_estate))
    )
    if estate is not None and not os.path.isfile(estate):
        src.problem(
            obj.line_of("estate"),
            f"estate file '{raw_estate}' not found (relative to this file; or say 'demo')",
        )
    duration_raw = obj.get("duration", str, required=True)
    duration = 0
    if duration_raw is not None:
        m = DURATION_RE.match(duration_raw)
        if m and int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)] <= MAX_EXERCISE_SECONDS:
            duration = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
        else:
            src.problem(
                obj.line_of("duration"),
                f"exercise: 'duration' is '{duration_raw[:40]}', expected e.g. 45m or 1h (at most 24h)",
            )
    injects = []
    for i in obj.objects("injects", "inject"):
        inject_id = i.text("id")
        check_id(src, inject_id, i.line, "inject id")
        at = _offset(i, "at")
        predict = i.node("predict")
        question: str | None = None
        if predict is not None:
            if predict.value is True:
                question = PREDICT_DEFAULT
            elif isinstance(predict.value, str) and predict.value.strip():
                question = predict.value.strip()
            elif predict.value not in (False, None):
                src.problem(
                    predict.line, "inject: 'predict' must be true, false or the question to ask"
                )
        expectations = []
        for e in i.objects("expect", "expectation", required=False):
            step = e.get("step", str)
            escalation = e.get("escalation", str)
            if (step is None) == (escalation is None):
                src.problem(
                    e.line,
                    "expectation: give exactly one of 'step' (done by then) or 'escalation' (raised by then)",
                )
            by = _offset(e, "by")
            points = e.integer("points", 1, MAX_POINTS, default=10)
            expectations.append(
                Expectation(
                    "step" if step else "escalation",
                    step or escalation or "",
                    by if by is not None else 0,
                    points or 0,
                    e.line,
                )
            )
            e.done()
        injects.append(
            Inject(
                id=inject_id or "",
                at=at if at is not None else 0,
                down=tuple(i.strings("down")),
                up=tuple(i.strings("up")),
                message=i.text("message"),
                question=question,
                expectations=tuple(expectations),
                line=i.line,
                lines={key: i.line_of(key) for key in ("at", "down", "up", "predict")},
            )
        )
        i.done()
    exercise = Exercise(
        id=exercise_id or "",
        title=obj.text("title"),
        audience=obj.text("audience", required=False),
        objectives=tuple(obj.strings("objectives")),
        estate=estate,
        duration=duration,
        injects=tuple(injects),
        file=file,
        lines={
            "injects": obj.line_of("injects"),
            "id": obj.line_of("id"),
            "objectives": obj.line_of("objectives"),
        },
    )
    if obj.ok and not exercise.objectives:
        src.problem(obj.line, "exercise: list at least one objective")
    if obj.ok and not injects:
        src.problem(obj.line_of("injects"), "exercise: an exercise needs at least one inject")
    obj.done()
    return exercise


def check_exercise(exercise: Exercise, pack: Pack, estate: Estate) -> list[Problem]:
    """Every reference resolves, injects are in time order, expectations can be met."""
    problems: list[Problem] = []
    file = exercise.file
    engine = ImpactEngine(pack, estate)
    graph = engine.graph
    seen: set[str] = set()
    last_at = -1
    down: set[str] = set()
    appeared: set[str] = set()
    for inject in exercise.injects:
        if inject.id in seen:
            problems.append(Problem(file, inject.line, f"duplicate inject id '{inject.id}'"))
        seen.add(inject.id)
        if inject.at < last_at:
            problems.append(
                Problem(
                    file,
                    inject.line_of("at"),
                    f"inject '{inject.id}' at {timefmt.offset(inject.at)} comes before the previous one; keep injects in time order",
                )
            )
        last_at = max(last_at, inject.at)
        if exercise.duration and inject.at > exercise.duration:
            problems.append(
                Problem(
                    file,
                    inject.line_of("at"),
                    f"inject '{inject.id}' at {timefmt.offset(inject.at)} is after the end of the exercise ({timefmt.offset(exercise.duration)})",
                )
            )
        if not inject.down and not inject.up and inject.question:
            problems.append(
                Problem(
                    file,
                    inject.line,
                    f"inject '{inject.id}' asks for a prediction but changes nothing",
                )
            )
        if inject.question:
            problems.extend(_check_question(inject, exercise, engine))
        for cid in (*inject.down, *inject.up):
            where = inject.line_of("down" if cid in inject.down else "up")
            comp = graph.by_id.get(cid)
            if comp is None:
                problems.append(
                    Problem(
                        file,
                        where,
                        f"inject '{inject.id}': unknown component '{cid}'; {did_you_mean(cid, graph.markable_ids) or 'see tsbrunbook components'}",
                    )
                )
            elif not comp.markable:
                problems.append(
                    Problem(
                        file,
                        where,
                        f"inject '{inject.id}': component '{cid}' cannot be marked down",
                    )
                )
        down |= {c for c in inject.down if c in graph.by_id and graph.by_id[c].markable}
        down -= set(inject.up)
        appeared |= {m.instance for m in engine.match(down)[2]}
        for exp in inject.expectations:
            problems.extend(_check_expectation(exp, inject, exercise, engine, appeared))
    return problems


SENTENCE_RE = re.compile(r"[^.?!]+[.?!]*")


def asks(question: str) -> list[str]:
    """The sentences of a prediction question that ask something: those ending in `?`, else
    the last one ("Predict the impact on each operation."). The others are context."""
    sentences = [s.strip() for s in SENTENCE_RE.findall(question) if s.strip()]
    return [s for s in sentences if s.endswith("?")] or sentences[-1:] or [question.strip()]


def _names(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE) is not None


def _check_question(inject: Inject, exercise: Exercise, engine: ImpactEngine) -> list[Problem]:
    """A question may ask only what the prediction dialog records: one level (ok, limited,
    outage) per operation, estate-wide. So each asking sentence is about the impact or the
    operations, and names no service (the dialog has no per-service answer); what the room
    should know goes in a sentence before the question."""
    words = ["impact", "operation", "operations"]
    for op in engine.pack.graph.operations:
        words += [op.id, op.title, op.short]
    where = inject.line_of("predict")
    problems = []
    for sentence in asks(inject.question or ""):
        services = [s.name for s in engine.estate.services if _names(sentence, s.name)]
        if services:
            problems.append(
                Problem(
                    exercise.file,
                    where,
                    f"inject '{inject.id}': the question asks about service '{services[0]}', but the "
                    "prediction dialog records only each operation's level, estate-wide; name the "
                    "service in a sentence before the question, and ask about the operations",
                )
            )
        elif not any(_names(sentence, w) for w in words):
            problems.append(
                Problem(
                    exercise.file,
                    where,
                    f"inject '{inject.id}': '{sentence[:60]}' asks something the prediction dialog "
                    "cannot record (it records each operation's level: ok, limited or outage); "
                    "ask about the impact on each operation",
                )
            )
    return problems


def _check_expectation(
    exp: Expectation, inject: Inject, exercise: Exercise, engine: ImpactEngine, appeared: set[str]
) -> list[Problem]:
    file = exercise.file
    parts = exp.ref.split("/")
    if len(parts) != 3:
        return [
            Problem(
                file,
                exp.line,
                f"expectation ref '{exp.ref}' must be INSTANCE/PHASE/STEP, e.g. workload-cluster-failure@eu-west/recovery/check-tsb-pods",
            )
        ]
    instance, phase, step_id = parts
    scenario_id, _, cluster = instance.partition("@")
    ids = [s.id for s in engine.pack.scenarios]
    if scenario_id not in ids:
        return [
            Problem(
                file,
                exp.line,
                f"expectation: unknown scenario '{scenario_id}'; {did_you_mean(scenario_id, ids)}".rstrip(
                    "; "
                ),
            )
        ]
    scenario = engine.pack.scenario(scenario_id)
    per_cluster = engine.pack.graph.kind(scenario.trigger).per_cluster
    if per_cluster and cluster not in engine.estate.cluster_names:
        return [
            Problem(
                file,
                exp.line,
                f"expectation: '{instance}' needs a cluster of the estate after '@'; {did_you_mean(cluster, engine.estate.cluster_names)}".rstrip(
                    "; "
                ),
            )
        ]
    if not per_cluster and cluster:
        return [
            Problem(
                file,
                exp.line,
                f"expectation: scenario '{scenario_id}' is estate-wide; drop '@{cluster}'",
            )
        ]
    if phase not in ("recovery", "restoration"):
        return [
            Problem(file, exp.line, f"expectation: phase '{phase}' must be recovery or restoration")
        ]
    steps = {s.id: s for s in applicable_steps(scenario.checklist(phase), engine.estate)}
    if step_id not in steps:
        return [
            Problem(
                file,
                exp.line,
                f"expectation: no step '{step_id}' in {scenario_id} {phase}; {did_you_mean(step_id, list(steps)) or 'steps: ' + ', '.join(steps)}",
            )
        ]
    problems = []
    if exp.kind == "escalation" and not steps[step_id].escalation:
        problems.append(
            Problem(
                file,
                exp.line,
                f"expectation: step '{step_id}' is not an escalation point; expect it as a step instead",
            )
        )
    if instance not in appeared:
        problems.append(
            Problem(
                file,
                exp.line,
                f"expectation: scenario '{instance}' has not been caused by any inject up to '{inject.id}', so its checklist will not be there",
            )
        )
    if exp.by < inject.at:
        problems.append(
            Problem(
                file,
                exp.line,
                f"expectation: due at {timefmt.offset(exp.by)}, before its inject at {timefmt.offset(inject.at)}",
            )
        )
    if exercise.duration and exp.by > exercise.duration:
        problems.append(
            Problem(
                file,
                exp.line,
                f"expectation: due at {timefmt.offset(exp.by)}, after the end of the exercise",
            )
        )
    return problems


def exercises_dir() -> str:
    return os.path.join(runbooks_dir(), "exercises")


def load_exercise_file(path: str) -> tuple[Exercise | None, list[Problem]]:
    """Parse and read one exercise file (no cross-checks)."""
    src = Source(path)
    try:
        root = parse(read_text(path), src)
    except LoadError as exc:
        return None, exc.problems
    if root is None:
        return None, src.problems
    if not isinstance(root.value, dict) or list(root.value) != ["exercise"]:
        src.problem(root.line, "expected an 'exercise:' document")
        return None, src.problems
    exercise = read_exercise(Obj(root.value["exercise"], src, "exercise"), path)
    return exercise, src.problems


def check_exercise_file(path: str, pack: Pack) -> tuple[Exercise | None, list[Problem]]:
    exercise, problems = load_exercise_file(path)
    if (
        exercise is None
        or any(p.line == 0 for p in problems)
        or (exercise.estate and not os.path.isfile(exercise.estate))
    ):
        return exercise, problems  # cross-checks need a readable file and estate
    try:
        estate = (
            load_estate(exercise.estate) if exercise.estate else load_estate(demo_estate_path())
        )
    except LoadError as exc:
        return exercise, problems + exc.problems
    return exercise, sorted(problems + check_exercise(exercise, pack, estate), key=lambda p: p.line)


def check_exercise_path(path: str) -> list[Problem]:
    """The problems of one exercise file, checked against the bundled pack (for `validate`)."""
    return check_exercise_file(path, load_pack())[1]


def list_exercises(pack: Pack) -> list[Exercise]:
    out = []
    for path in sorted(glob.glob(os.path.join(exercises_dir(), "*.yaml"))):
        exercise, problems = load_exercise_file(path)
        if exercise is not None and not problems:
            out.append(exercise)
    return out


def find_exercise(exercise_id: str, pack: Pack) -> Exercise:
    """An exercise by id (or a path to an exercise file), fully checked; LoadError otherwise."""
    from .errors import UserError

    if exercise_id.endswith((".yaml", ".yml")) or os.sep in exercise_id:
        path = exercise_id
    else:
        path = os.path.join(exercises_dir(), f"{exercise_id}.yaml")
        if not os.path.isfile(path):
            known = [e.id for e in list_exercises(pack)]
            raise UserError(
                f"unknown exercise '{exercise_id[:60]}'",
                did_you_mean(exercise_id, known) or "run `tsbrunbook exercise list`",
            )
    exercise, problems = check_exercise_file(path, pack)
    if problems or exercise is None:
        raise LoadError(problems or [Problem(path, 0, "not an exercise")])
    return exercise
