"""The after-action report of a tabletop exercise, as GitHub-flavoured Markdown."""

from __future__ import annotations

from . import markdown as md
from .event_text import TextContext, event_text
from .events import ExercisePrediction, Note
from .exercise_run import Progress
from .impact import ImpactEngine
from .incident import Event, IncidentState, checklists
from .model import Level
from .timefmt import clock, offset

RESULT = {"met": "✅ met", "late": "⚠️ late", "missed": "❌ missed", "open": "⏳ not due yet"}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _event_line(e: Event, prog: Progress) -> str:
    """The What of the timeline: the event's line, with the score of a prediction."""
    context = TextContext()
    if isinstance(e.payload, ExercisePrediction):
        inject = e.payload.inject
        score = next((p for p in prog.predictions if p.inject == inject), None)
        if score:
            context = TextContext(prediction=(len(score.right), len(score.actual)))
    return event_text(e, context).line.markdown()


def _answered(prog: Progress) -> str:
    asked = len(prog.predictions) + len(prog.unanswered)
    text = f"{len(prog.predictions)}/{asked}"
    later = sum(1 for p in prog.predictions if p.later)
    notes = [f"{len(prog.unanswered)} not answered"] if prog.unanswered else []
    notes += [f"{later} answered later, after the impact was on screen"] if later else []
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _predictions(prog: Progress, engine: ImpactEngine) -> list[str]:
    """Each asked inject in script order: its prediction cell by cell, or "not answered"."""
    ops = engine.pack.graph.operations
    scores = {p.inject: p for p in prog.predictions}
    open_ = {q.inject: q for q in prog.unanswered}
    rows = []
    for inject in prog.exercise.injects:
        if (p := scores.get(inject.id)) is not None:
            cells = []
            for op in ops:
                want, said = p.actual.get(op.id, "ok"), p.predicted.get(op.id, "?")
                mark = "✅" if want == said else "❌"
                cells.append(f"{mark} said {said}, was {Level.parse(want).glyph} {want}")
            at = offset(p.offset) + (" (answered later)" if p.later else "")
            rows.append([md.inline(p.inject), at, *cells, _pct(p.score)])
        elif (q := open_.get(inject.id)) is not None:
            rows.append(
                [md.inline(q.inject), f"not answered (fired {offset(q.fired_at)})"]
                + ["—"] * len(ops)
                + ["not answered"]
            )
    out = [md.table(["Inject", "At", *[md.inline(o.short) for o in ops], "Score"], rows)]
    if prog.unanswered:
        out += [
            "",
            "Not answered (not in the accuracy): "
            + ", ".join(md.inline(q.inject) for q in prog.unanswered)
            + (
                "." if prog.finished_at else ". While the run is open, `a` in the app answers them."
            ),
        ]
    return out


def exercise_report(prog: Progress, state: IncidentState, engine: ImpactEngine) -> str:
    ex = prog.exercise
    out = [f"# After-action report: {md.inline(ex.title)}", ""]
    participants = state.meta.get("participants") or []
    facts = [
        ("Exercise", md.code_span(ex.id)),
        ("Run", md.code_span(state.id)),
        ("Started", f"{state.started_at:%Y-%m-%d %H:%M} UTC" if state.started_at else "—"),
        ("Participants", md.inline(", ".join(participants)) or "—"),
        ("Audience", md.inline(ex.audience) or "—"),
        ("Estate", md.inline(engine.estate.name)),
        (
            "Runbook pack",
            md.inline(
                f"{state.meta.get('pack_version', '?')} ({state.meta.get('pack_checksum', '?')})"
            ),
        ),
        (
            "Exercise clock",
            f"{offset(prog.clock.offset)} of {offset(ex.duration)} planned",
        ),
        (
            "Finished",
            f"{state.closed_at:%Y-%m-%d %H:%M} UTC, at exercise clock {offset(prog.clock.offset)}"
            if state.closed_at
            else "not yet (the run is open)",
        ),
    ]
    out += [md.table(["", ""], [[f"**{k}**", v] for k, v in facts]), ""]
    out += ["## Objectives", ""] + [f"- {md.inline(o)}" for o in ex.objectives] + [""]

    got, total = prog.points
    met = sum(1 for r in prog.expectations if r.status == "met")
    raised = sum(1 for _, at in prog.escalation_points if at is not None)
    reactions = [r.first_action_after for r in prog.injects if r.first_action_after is not None]
    out += ["## Score", ""]
    out.append(
        md.table(
            ["Measure", "Result"],
            [
                [
                    "Prediction accuracy (cells right)",
                    f"{_pct(prog.prediction_score)} ({sum(len(p.right) for p in prog.predictions)}/{sum(len(p.actual) for p in prog.predictions)})",
                ],
                ["Predictions answered", _answered(prog)],
                ["Expectations met in time", f"{met}/{len(prog.expectations)}"],
                ["Expectation points", f"{got}/{total}"],
                ["Escalation points raised", f"{raised}/{len(prog.escalation_points)}"],
                ["Injects fired", f"{len(prog.fired)}/{len(ex.injects)}"],
                [
                    "Mean time from inject to first action",
                    offset(sum(reactions) / len(reactions)) if reactions else "—",
                ],
            ],
        )
    )
    out.append("")

    if prog.predictions or prog.unanswered:
        out += ["### Predictions", ""] + _predictions(prog, engine) + [""]

    out += ["### Injects", ""]
    rows = []
    for r in prog.injects:
        rows.append(
            [
                md.inline(r.inject.id),
                offset(r.inject.at),
                offset(r.fired_at) if r.fired_at is not None else "not fired",
                md.inline(", ".join(r.instances)) or "—",
                offset(r.first_action_after) if r.first_action_after is not None else "—",
            ]
        )
    out += [
        md.table(["Inject", "Planned", "Fired", "Scenarios it caused", "First action after"], rows),
        "",
    ]

    if prog.expectations:
        out += ["### Expectations", ""]
        rows = [
            [
                md.inline(r.inject),
                r.expectation.kind,
                md.code_span(r.expectation.ref),
                offset(r.expectation.by),
                offset(r.met_at) if r.met_at is not None else "—",
                RESULT[r.status],
                f"{r.points}/{r.expectation.points}",
            ]
            for r in prog.expectations
        ]
        out += [md.table(["Inject", "Kind", "Ref", "Due", "Done", "Result", "Points"], rows), ""]

    missed = [r for r in prog.expectations if r.status in ("late", "missed")]
    out += ["## Missed expectations", ""]
    open_ = [r for r in prog.expectations if r.status == "open"]
    out += [
        f"- {RESULT[r.status]}: {r.expectation.kind} {md.code_span(r.expectation.ref)} due {offset(r.expectation.by)}"
        + (f", done {offset(r.met_at)}" if r.met_at is not None else "")
        for r in missed
    ]
    if not missed:
        out.append("None so far." if open_ else "None: every expectation was met in time.")
    if open_:
        out.append("")
        out.append(f"Not due yet when this report was written: {len(open_)} expectation(s).")
    out.append("")

    views = checklists(state, engine)
    troubled = [
        (v, s) for v in views for s in v.steps if s.state.state in ("skipped", "failed", "blocked")
    ]
    out += ["## Steps skipped, failed or blocked", ""]
    out += [
        f"- **{s.state.state.upper()}** {md.code_span(s.ref)}: {md.inline(s.step.title)}"
        + (f" — {md.inline(s.state.note)}" if s.state.note else "")
        for _, s in troubled
    ] or ["None."]
    out.append("")

    out += [
        "## Runbook gaps",
        "",
        "Feed these back into the runbooks: steps that failed or were blocked, and notes flagged as gaps.",
        "",
    ]
    gaps = [
        f"- Step {md.code_span(s.ref)} {s.state.state}: {md.inline(s.state.note or 'no note')}"
        for _, s in troubled
        if s.state.state in ("failed", "blocked")
    ]
    gaps += [
        f"- Note{(' on ' + md.code_span(note.ref)) if note.ref else ''}: {md.inline(note.text)}"
        for note in (e.payload for e in state.timeline)
        if isinstance(note, Note) and note.gap
    ]
    out += gaps or ["None recorded."]
    out.append("")

    out += ["## Timeline", ""]
    rows = [
        [
            offset(prog.offsets.get(e.seq, 0)),
            clock(e.at),
            md.inline(e.actor) or "—",
            _event_line(e, prog),
        ]
        for e in sorted(state.timeline, key=lambda e: e.seq)
    ]
    out += [md.table(["Clock", "UTC", "Who", "What"], rows), ""]
    return "\n".join(out).rstrip() + "\n"
