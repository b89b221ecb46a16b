"""An incident as a record: GitHub-flavoured Markdown for the ticket and the postmortem.

What the incident commander needs comes first: the summary (status, times, what is and was down
and for how long, the worst each operation reached, every escalation with its case numbers, who
did how much), then the steps that were worked with their notes, then the timeline. The steps
nobody touched are one line per checklist; `full=True` (`incident export --full`) adds the
impact in detail, every checklist in full with its commands and every escalation point.

Built from the folded state alone (through incident_queries), so it can always be rebuilt from
the events. It reuses the shared pieces (export.impact_table, export.task_list /
checklist_markdown) and passes every text that comes from YAML, the estate or a user through the
escaping helpers of markdown.py, so a title like ``| # `x` <script>`` cannot break a table or the
document structure.
"""

from __future__ import annotations

from datetime import datetime

from .. import __version__
from . import export, site_policy, template
from . import markdown as md
from .author import shown_author
from .clock import behind_warning
from .event_text import event_text
from .events import EventType
from .impact import Impact, ImpactEngine
from .incident import (
    ChecklistView,
    Event,
    IncidentState,
    StepView,
    assessable,
    checklists,
    clock_anomalies,
    in_progress,
    readiness_checklist,
    readiness_gaps,
    utcnow,
)
from .incident_queries import (
    Actions,
    EscalationPoint,
    actions_by_actor,
    down_periods,
    escalation_points,
    severity,
    step_values,
    worst_levels,
    worst_moment,
)
from .model import MANAGEMENT_SCOPE, Level
from .timefmt import BEHIND_TOLERANCE_S, CLOCK_FLAG, duration, short_span, span, stamp

# What one event is, counted ("2 notes"): (one, many), in the order the summary lists them.
ACTION_WORDS: dict[str, tuple[str, str]] = {
    EventType.STARTED: ("start", "starts"),
    EventType.DOWN: ("marked down", "marked down"),
    EventType.UP: ("marked up", "marked up"),
    EventType.STEP: ("step change", "step changes"),
    EventType.NOTE: ("note", "notes"),
    EventType.ESCALATION: ("escalation", "escalations"),
    EventType.TIMER_EXPIRED: ("timer expiry", "timer expiries"),
    EventType.CHAT: ("chat switch", "chat switches"),
    EventType.CLOSED: ("close", "closes"),
    EventType.RENAMED: ("rename", "renames"),
    EventType.EXERCISE_CLOCK: ("clock change", "clock changes"),
    EventType.EXERCISE_INJECT: ("inject", "injects"),
    EventType.EXERCISE_PREDICTION: ("prediction", "predictions"),
    EventType.CLAIMED: ("claim", "claims"),
    EventType.RELEASED: ("release", "releases"),
}
assert set(ACTION_WORDS) == set(EventType)


def incident_markdown(
    state: IncidentState, engine: ImpactEngine, now: datetime | None = None, full: bool = False
) -> str:
    """The whole incident as one GitHub-flavoured Markdown document: summary, worked steps,
    notes, timeline, the untouched steps counted per checklist, readiness gaps. `full`: also the
    impact in detail, every checklist step by step with its commands, every escalation point."""
    now = now or utcnow()
    impact = engine.assess(assessable(engine, state.down))
    views = checklists(state, engine, impact)
    readiness = readiness_checklist(state, engine)
    shown = views + ([readiness] if _touched(readiness) else [])
    points = escalation_points(state, engine, views + [readiness])
    # Replaying the incident's down/up marks costs an assessment per distinct set: once here.
    peak = worst_moment(state, engine)
    parts = [
        _summary(state, engine, impact, peak, points, now, full),
        _worked_section(state, engine, shown),
        _notes_section(state, shown),
        _timeline_section(state),
    ]
    if full:
        parts.append(_impact_section(state, engine, impact, peak))
    parts.append(_checklists_section(state, engine, views, readiness, full))
    if full:
        parts.append(_escalations_section(points))
    command = f"tsbrunbook incident export {state.id}" + (" --full" if full else "")
    parts += [
        _readiness_section(engine),
        (
            f"---\n\n_Exported by tsbrunbook {__version__} at {stamp(now)} from "
            f"{len(state.timeline)} events. Rebuild it with {md.code_span(command)}._\n"
        ),
    ]
    return "\n".join(p.rstrip() + "\n" for p in parts)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _full_hint(state: IncidentState) -> str:
    return md.code_span(f"tsbrunbook incident export {state.id} --full") + " lists them"


# ---------------------------------------------------------------------------------------------
# The summary: everything the incident commander asks first, under the title


def _summary(
    state: IncidentState,
    engine: ImpactEngine,
    impact: Impact,
    peak: tuple[Event, Impact] | None,
    points: list[EscalationPoint],
    now: datetime,
    full: bool,
) -> str:
    meta = state.meta
    kind = state.kind or "incident"
    out = [f"# {md.inline(kind.capitalize())} {md.inline(state.id)}: {md.inline(state.title)}", ""]
    status = f"closed {stamp(state.closed_at)}" if state.closed else f"open (as of {stamp(now)})"
    closed = stamp(state.closed_at) if state.closed else "not yet"
    if (
        state.closed_at
        and state.started_at
        and (state.started_at - state.closed_at).total_seconds() > BEHIND_TOLERANCE_S
    ):
        closed += f" {CLOCK_FLAG} before the start (the system clock went back)"
    end = state.closed_at or max(now, state.last_at or now)
    length = span(state.started_at, end) if state.started_at else duration(0)
    estate_name = meta.get("estate_name") or engine.estate.name
    estate_file = meta.get("estate_file")
    where = md.code_span(estate_file) if estate_file else "the bundled demo estate"
    pack = (
        f"{md.inline(engine.pack.name)} {md.inline(meta.get('pack_version', '?'))}, "
        f"checksum {md.code_span(str(meta.get('pack_checksum', '?')))}"
    )
    if meta.get("pack_checksum") and meta.get("pack_checksum") != engine.pack.checksum:
        pack += (
            f" (this export was rendered with {md.inline(engine.pack.version)}, "
            f"checksum {md.code_span(engine.pack.checksum)})"
        )
    support = engine.estate.support
    out += [
        f"- **Kind:** {md.inline(kind)}",
        f"- **Status:** {status}",
        f"- **Started:** {stamp(state.started_at)}",
        f"- **Closed:** {closed}",
        f"- **Duration:** {length}" + ("" if state.closed else " so far"),
        f"- **Down now:** {_down_now(state, impact)}",
        f"- **Worst impact:** {_worst_words(peak)}",
        f"- **Escalations:** {_escalation_words(state, points, full)}",
        f"- **Who did what:** {_actions_words(actions_by_actor(state))}",
        f"- **Estate:** {md.inline(estate_name)} ({where})",
        f"- **TSB version:** {md.inline(meta.get('tsb_version') or engine.estate.tsb_version)}",
        f"- **Runbook pack:** {pack}",
        f"- **Support:** {md.inline(support.vendor)} {md.inline(support.contact)}"
        + (f", account {md.inline(support.account)}" if support.account else ""),
    ]
    out += [f"- **Clock:** {CLOCK_FLAG} {md.inline(line)}" for line in clock_lines(state, now)]
    for table in (
        _down_table(state, now),
        _worst_table(state, engine, impact, peak),
        _escalations_table(points),
    ):
        if table:
            out += ["", table]
    return "\n".join(out)


def _down_now(state: IncidentState, impact: Impact) -> str:
    if not state.down:
        if down_periods(state):
            return "nothing: every component marked down was marked up again"
        return "nothing was marked down"
    words = ", ".join(md.code_span(c) for c in state.down)
    implied = sorted(impact.effective_down - set(state.down))
    if implied:
        words += "; down with them (they run on it): " + ", ".join(md.code_span(c) for c in implied)
    return words


def _down_table(state: IncidentState, now: datetime) -> str:
    """Each stretch of time a component was down: since, until, for how long."""
    rows = []
    for p in down_periods(state):
        end = p.until or state.closed_at or max(now, state.last_at or now)
        rows.append(
            [
                md.cell_code(p.component),
                stamp(p.since),
                stamp(p.until) if p.until else "**still down**",
                span(p.since, end),
            ]
        )
    return md.table(["Component", "Down since", "Back up", "Down for"], rows) if rows else ""


def _worst_words(worst: tuple[Event, Impact] | None) -> str:
    if worst is None:
        return "none: no component was marked down"
    event, peak = worst
    words = (
        f"{export.level_cell(peak.worst)}, after event {event.seq} ({stamp(event.at)}), with "
        + ", ".join(md.code_span(c) for c in peak.down)
        + " down"
    )
    if not peak.changes_accepted:
        words += "; no TSB configuration changes could be made then"
    return words


def _worst_table(
    state: IncidentState, engine: ImpactEngine, impact: Impact, peak: tuple[Event, Impact] | None
) -> str:
    """Per operation: the worst level it reached during the incident, and its level now."""
    if peak is None:
        return ""
    worst = worst_levels(state, engine)
    rows = [
        [
            md.inline(op.title),
            export.level_cell(worst[op.id]),
            export.level_cell(impact.operations[op.id].level),
        ]
        for op in engine.pack.graph.operations
    ]
    return md.table(["Operation", "Worst reached", "At close" if state.closed else "Now"], rows)


def _escalation_words(state: IncidentState, points: list[EscalationPoint], full: bool) -> str:
    raised = [p for p in points if p.history or p.raised]
    others = len(points) - len(raised)
    said = []
    for p in raised:
        cases = p.cases
        if cases:
            word = "cases" if len(cases) > 1 else "case"
            said.append(f"{word} {', '.join(md.inline(c) for c in cases)} on {md.code_span(p.ref)}")
        else:
            said.append(f"raised on {md.code_span(p.ref)} without a case number")
    hint = "" if full or not others else f" ({_full_hint(state)})"
    if not points:
        return "none: no escalation point in the checklists that appeared, and none was raised"
    if not raised:
        return f"none raised; {_plural(others, 'escalation point')} in the checklists{hint}"
    if others:
        said.append(f"{_plural(others, 'other escalation point')} not raised{hint}")
    return "; ".join(said)


def _escalations_table(points: list[EscalationPoint]) -> str:
    """One row per escalation raised, grouped by step: every case number is kept."""
    rows = [
        [
            md.cell_code(p.ref),
            md.inline(p.title),
            stamp(r.at),
            md.inline(r.case) or "—",
            md.inline(shown_author(r.actor)) or " ",
        ]
        for p in points
        for r in p.history
    ]
    return md.table(["Step", "Title", "Raised", "Case", "By"], rows) if rows else ""


def _actions_words(people: list[Actions]) -> str:
    if not people:
        return "nobody: no event was recorded"
    said = []
    for person in people:
        known = [t for t in ACTION_WORDS if person.counts[t]]
        other = [t for t in person.counts if t not in ACTION_WORDS]
        counts = [_plural(person.counts[t], *ACTION_WORDS[t]) for t in known]
        counts += [f"{person.counts[t]} {md.inline(t)}" for t in other]
        said.append(
            f"{md.inline(shown_author(person.actor)) or 'unknown'}: {_plural(person.total, 'action')}"
            f" ({', '.join(counts)})"
        )
    return "; ".join(said)


# ---------------------------------------------------------------------------------------------
# Worked steps, notes


def _touched(view: ChecklistView) -> bool:
    return any(_worked(sv) for sv in view.steps)


def _worked(sv: StepView) -> bool:
    """A step someone did something with: a state other than pending, a note, an escalation,
    or someone working on it now."""
    st = sv.state
    return (
        st.state != "pending"
        or bool(st.notes)
        or bool(st.escalations)
        or bool(st.escalated)
        or st.claim is not None
    )


def _worked_section(state: IncidentState, engine: ImpactEngine, views: list[ChecklistView]) -> str:
    out = ["## Worked steps"]
    worked = [(view, [sv for sv in view.steps if _worked(sv)]) for view in views]
    worked = [(view, steps) for view, steps in worked if steps]
    if not worked:
        return "\n".join(out + ["", "No step was worked: every step is still pending."])
    for view, steps in worked:
        values = step_values(engine, view)
        out += [
            "",
            f"### {md.inline(view.title)}: {view.phase}",
            "",
            f"Ref {md.code_span(view.instance + '/' + view.phase)} · {_counts(view)}",
            "",
        ]
        for sv in steps:
            out += _worked_step(sv, values)
    return "\n".join(out)


def _worked_step(sv: StepView, values: dict[str, str]) -> list[str]:
    """One worked step as a task item: state, when, by whom; its notes and escalations below."""
    st = sv.state
    box, marker = export.STATE_MARKS.get(st.state, export.STATE_MARKS["pending"])
    when = ""
    if st.at and st.state != "pending":
        by = f" by {md.inline(shown_author(st.actor))}" if st.actor else ""
        when = f" _({md.inline(st.state)} {stamp(st.at)}{by})_"
    if st.claim is not None:
        when += f" _({md.inline(in_progress(st))}, since {stamp(st.claim.at)})_"
    out = [
        f"- {box} "
        + (f"{marker} " if marker else "")
        + f"**{md.inline(template.fill(sv.step.title, values))}**{when} {md.code_span(sv.step.id)}"
    ]
    if sv.step.destructive:
        out.append(f"  ⚠️ **DESTRUCTIVE:** {md.inline(sv.step.destructive_reason or '')}")
    said = [(n.at, "📝", md.inline(n.text), n.actor) for n in st.notes]
    said += [
        (
            r.at,
            "🆘",
            "escalation raised" + (f", case {md.inline(r.case)}" if r.case else ""),
            r.actor,
        )
        for r in st.escalations
    ]
    for at, glyph, text, who in sorted(said, key=lambda s: s[0]):  # stable: a note comes first
        out.append(
            f"  - {glyph} {stamp(at)}"
            + (f" ({md.inline(shown_author(who))})" if who else "")
            + f": {text}"
        )
    return out


def _counts(view: ChecklistView) -> str:
    counts = {
        s: sum(1 for sv in view.steps if sv.state.state == s)
        for s in ("done", "skipped", "failed", "blocked")
    }
    extra = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != "done")
    return f"{counts['done']}/{len(view.steps)} done" + (f" ({extra})" if extra else "")


def _notes_section(state: IncidentState, views: list[ChecklistView]) -> str:
    """Notes on the incident as a whole (a step's notes are listed under the step), and notes on
    steps no checklist shows any more (the runbook pack changed since)."""
    out = ["## Notes", ""]
    on_shown = {sv.ref for view in views for sv in view.steps}
    notes = [n for n in state.notes if not n.ref or n.ref not in on_shown]
    if not notes:
        return "\n".join(out + ["No notes on the incident as a whole (step notes are above)."])
    for n in notes:
        out.append(
            f"- {stamp(n.at)}"
            + (f" ({md.inline(shown_author(n.actor))})" if n.actor else "")
            + (f" on {md.code_span(n.ref)}" if n.ref else "")
            + f": {md.inline(n.text)}"
        )
    return "\n".join(out)


def _timeline_section(state: IncidentState) -> str:
    rows = []
    out_of_order = {e.seq for e, _ in clock_anomalies(state)}
    for event in state.timeline:
        text = event_text(event)
        what, details = text.what, text.details
        when = stamp(event.at) + (f" {CLOCK_FLAG}" if event.seq in out_of_order else "")
        rows.append(
            [
                str(event.seq),
                when,
                md.inline(what),
                md.inline(details) or " ",
                md.inline(shown_author(event.actor)) or " ",
            ]
        )
    return "\n".join(["## Timeline", "", md.table(["#", "Time", "Event", "Details", "By"], rows)])


# ---------------------------------------------------------------------------------------------
# The details: the impact, the checklists (collapsed, or in full), the escalation points


def _hit_scopes(impact: Impact) -> list[str]:
    hit = [
        s for s in impact.scopes if any(r.scopes[s] > Level.OK for r in impact.operations.values())
    ]
    return [MANAGEMENT_SCOPE] + [s for s in hit if s != MANAGEMENT_SCOPE]


def _impact_block(engine: ImpactEngine, impact: Impact) -> list[str]:
    scopes = _hit_scopes(impact)
    out = [export.impact_table(engine.pack, impact, scopes).rstrip()]
    spared = [s for s in impact.scopes if s not in scopes]
    if spared and len(scopes) > 1:
        out += ["", "Every operation ✅ OK on: " + ", ".join(md.inline(s) for s in spared)]
    if not impact.changes_accepted:
        out += [
            "",
            "**No TSB configuration changes could be made** (management operations are out).",
        ]
    return out


def _impact_section(
    state: IncidentState, engine: ImpactEngine, impact: Impact, worst: tuple[Event, Impact] | None
) -> str:
    out = ["## Impact", ""]
    label = "At close" if state.closed else "Now"
    if not worst:
        return "\n".join(out + ["No component was marked down, so nothing was impacted."])
    if impact.down:
        out += [
            f"### {label}: " + ", ".join(md.code_span(c) for c in impact.down) + " down",
            "",
        ] + _impact_block(engine, impact)
    else:
        out += [f"### {label}", "", "Nothing is marked down: every operation is ✅ OK."]
    event, peak = worst
    if severity(peak) > severity(impact):
        out += [
            "",
            f"### At its worst: after event {event.seq} ({stamp(event.at)}), with "
            + ", ".join(md.code_span(c) for c in peak.down)
            + " down",
            "",
        ]
        out += _impact_block(engine, peak)
    return "\n".join(out)


def _checklists_section(
    state: IncidentState,
    engine: ImpactEngine,
    views: list[ChecklistView],
    readiness: ChecklistView,
    full: bool,
) -> str:
    out = ["## Checklists", ""]
    if not views and not _touched(readiness):
        return "\n".join(out + ["No scenario matched, so no checklist appeared."])
    listed = views + ([readiness] if _touched(readiness) else [])
    rows = [
        [
            md.cell_code(f"{view.instance}/{view.phase}"),
            md.inline(view.title),
            stamp(state.instances.get(view.instance)) if view.scenario else "—",
            ("yes" if view.active else "no") if view.scenario else "—",
            _counts(view),
        ]
        for view in listed
    ]
    out.append(md.table(["Checklist", "Scenario", "Appeared", "Matches now", "Progress"], rows))
    if not full:
        out.append("")
        out += [_collapsed(state, engine, view) for view in listed]
        return "\n".join(out)
    out += [
        "",
        "Only done steps are ticked; skipped, failed and blocked steps are marked in words.",
    ]
    for view in views:
        assert view.scenario is not None
        states = {sv.step.id: sv.state for sv in view.steps}
        out += [
            "",
            export.checklist_markdown(
                view.scenario,
                view.phase,
                engine.estate,
                view.cluster,
                states,
                heading="###",
                support_contact=False,
            ).rstrip(),
        ]
    if _touched(readiness):
        out += [
            "",
            f"### {md.inline(readiness.title)}: readiness",
            "",
            f"Ref {md.code_span(readiness.instance + '/readiness')}",
            "",
        ]
        states = {sv.step.id: sv.state for sv in readiness.steps}
        out += export.task_list(
            engine.pack.readiness.checklist,
            engine.estate,
            template.variables(engine.estate, None),
            states,
            support_contact=False,
        )
    return "\n".join(out)


def _collapsed(state: IncidentState, engine: ImpactEngine, view: ChecklistView) -> str:
    """One line for the steps of a checklist nobody touched: how many, and how to see them."""
    ref = md.code_span(f"{view.instance}/{view.phase}")
    rest = sum(1 for sv in view.steps if not _worked(sv))
    if not view.steps:
        line = f"- {ref}: the guide documents no steps for this phase"
    elif not rest:
        line = f"- {ref}: every step was worked (above)"
    else:
        more = "more " if rest < len(view.steps) else ""
        line = f"- {ref}: {_plural(rest, more + 'step')} not started — {_full_hint(state)}"
    timer = site_policy.escalate_after(view.scenario, engine.estate) if view.scenario else None
    return line + (f" ⏰ {md.inline(timer['label'])}" if timer else "")


def _escalations_section(points: list[EscalationPoint]) -> str:
    out = ["## Escalation points", ""]
    if not points:
        return "\n".join(
            out + ["No escalation point in the checklists that appeared, and none was raised."]
        )
    rows = []
    for p in points:
        raised = f"✅ {stamp(p.raised)}" if p.raised else "not raised"
        rows.append(
            [
                md.cell_code(p.ref),
                md.inline(p.title),
                md.inline(p.reason) if p.reason else "raised without a runbook escalation point",
                raised,
                ", ".join(md.inline(c) for c in p.cases) or "—",
            ]
        )
    out.append(
        md.table(["Step", "Title", "Why Tetrate support is needed", "Raised", "Cases"], rows)
    )
    return "\n".join(out)


def _readiness_section(engine: ImpactEngine) -> str:
    out = ["## Readiness gaps", ""]
    gaps = readiness_gaps(engine)
    if not gaps:
        return "\n".join(
            out + ["None: every readiness fact of the estate is known to be in place."]
        )
    steps = {s.fact: s for s in engine.pack.readiness.checklist.steps if s.fact}
    values = template.variables(engine.estate, None)
    for fact, value in gaps:
        word = "❌ no" if value is False else "❓ unknown"
        step = steps.get(fact)
        fix = (
            f" — see readiness step {md.code_span(step.id)}: {md.inline(template.fill(step.title, values))}"
            if step
            else ""
        )
        out.append(f"- {md.code_span(fact)}: {word}{fix}")
    return "\n".join(out)


def clock_lines(state: IncidentState, now: datetime) -> list[str]:
    """What to say about the clocks behind this record: events stamped earlier than events
    before them, and a system clock behind the last event now. [] when all is in order."""
    out = []
    anomalies = clock_anomalies(state)
    if anomalies:
        first, gap = anomalies[0]
        more = f" (and {len(anomalies) - 1} more event(s) after it)" if len(anomalies) > 1 else ""
        out.append(
            f"the system clock went back while this was recorded: event {first.seq} is stamped "
            f"{short_span(gap)} before an earlier event{more}; such times are marked {CLOCK_FLAG} and "
            f"durations that would be negative are shown as 0s {CLOCK_FLAG}"
        )
    warning = behind_warning(state.last_at, now)
    if warning and not state.closed:
        out.append(warning)
    return out
