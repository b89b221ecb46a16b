"""An incident as a record: GitHub-flavoured Markdown for the ticket and the postmortem.

Built from the folded state alone (through incident_queries), so it can always be rebuilt from
the events. It reuses the shared pieces (export.impact_table, export.task_list /
checklist_markdown) and passes every text that comes from YAML, the estate or a user through the
escaping helpers of markdown.py, so a title like ``| # `x` <script>`` cannot break a table or the
document structure.
"""

from __future__ import annotations

from datetime import datetime

from .. import __version__
from . import export, template
from . import markdown as md
from .clock import behind_warning
from .event_text import event_text
from .events import Note
from .impact import Impact, ImpactEngine
from .incident import (
    ChecklistView,
    IncidentState,
    assessable,
    checklists,
    clock_anomalies,
    readiness_checklist,
    readiness_gaps,
    utcnow,
)
from .incident_queries import down_periods, escalation_points, severity, worst_moment
from .model import MANAGEMENT_SCOPE, Level
from .timefmt import BEHIND_TOLERANCE_S, CLOCK_FLAG, duration, short_span, span, stamp


def incident_markdown(
    state: IncidentState, engine: ImpactEngine, now: datetime | None = None
) -> str:
    """The whole incident as one GitHub-flavoured Markdown document."""
    now = now or utcnow()
    impact = engine.assess(assessable(engine, state.down))
    views = checklists(state, engine, impact)
    readiness = readiness_checklist(state, engine)
    parts = [
        _header(state, engine, now),
        _down_section(state, impact, now),
        _impact_section(state, engine, impact),
        _checklists_section(state, engine, views, readiness),
        _escalations_section(state, engine, views + [readiness]),
        _notes_section(state),
        _timeline_section(state),
        _readiness_section(engine),
        (
            f"---\n\n_Exported by tsbrunbook {__version__} at {stamp(now)} from {len(state.timeline)} events. "
            f"Rebuild it with {md.code_span('tsbrunbook incident export ' + state.id)}._\n"
        ),
    ]
    return "\n".join(p.rstrip() + "\n" for p in parts)


def _header(state: IncidentState, engine: ImpactEngine, now: datetime) -> str:
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
    pack = f"{md.inline(engine.pack.name)} {md.inline(meta.get('pack_version', '?'))}, checksum {md.code_span(str(meta.get('pack_checksum', '?')))}"
    if meta.get("pack_checksum") and meta.get("pack_checksum") != engine.pack.checksum:
        pack += f" (this export was rendered with {md.inline(engine.pack.version)}, checksum {md.code_span(engine.pack.checksum)})"
    out += [
        f"- **Kind:** {md.inline(kind)}",
        f"- **Status:** {status}",
        f"- **Started:** {stamp(state.started_at)}",
        f"- **Closed:** {closed}",
        f"- **Duration:** {length}" + ("" if state.closed else " so far"),
        f"- **Estate:** {md.inline(estate_name)} ({where})",
        f"- **TSB version:** {md.inline(meta.get('tsb_version') or engine.estate.tsb_version)}",
        f"- **Runbook pack:** {pack}",
    ]
    out += [f"- **Clock:** {CLOCK_FLAG} {md.inline(line)}" for line in clock_lines(state, now)]
    return "\n".join(out)


def _down_section(state: IncidentState, impact: Impact, now: datetime) -> str:
    out = ["## Components down", ""]
    periods = down_periods(state)
    if not periods:
        return "\n".join(out + ["No component was marked down."])
    if state.down:
        out.append("Down now: " + ", ".join(md.code_span(c) for c in state.down))
        implied = sorted(impact.effective_down - set(state.down))
        if implied:
            out.append("")
            out.append(
                "Down with them (they run on it): " + ", ".join(md.code_span(c) for c in implied)
            )
    else:
        out.append("Nothing is down now: every component marked down was marked up again.")
    rows = []
    for p in periods:
        end = p.until or state.closed_at or max(now, state.last_at or now)
        rows.append(
            [
                md.cell_code(p.component),
                stamp(p.since),
                stamp(p.until) if p.until else "**still down**",
                span(p.since, end),
            ]
        )
    out += ["", md.table(["Component", "Down since", "Back up", "Down for"], rows)]
    return "\n".join(out)


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


def _impact_section(state: IncidentState, engine: ImpactEngine, impact: Impact) -> str:
    out = ["## Impact", ""]
    label = "At close" if state.closed else "Now"
    worst = worst_moment(state, engine)
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


def _touched(view: ChecklistView) -> bool:
    return any(
        sv.state.state != "pending" or sv.state.notes or sv.state.escalated for sv in view.steps
    )


def _counts(view: ChecklistView) -> str:
    counts = {
        s: sum(1 for sv in view.steps if sv.state.state == s)
        for s in ("done", "skipped", "failed", "blocked")
    }
    extra = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != "done")
    return f"{counts['done']}/{len(view.steps)} done" + (f" ({extra})" if extra else "")


def _checklists_section(
    state: IncidentState, engine: ImpactEngine, views: list[ChecklistView], readiness: ChecklistView
) -> str:
    out = ["## Checklists", ""]
    if not views and not _touched(readiness):
        return "\n".join(out + ["No scenario matched, so no checklist appeared."])
    rows = []
    for view in views:
        first = state.instances.get(view.instance)
        rows.append(
            [
                md.cell_code(f"{view.instance}/{view.phase}"),
                md.inline(view.title),
                stamp(first),
                "yes" if view.active else "no",
                _counts(view),
            ]
        )
    if _touched(readiness):
        rows.append(
            [
                md.cell_code(f"{readiness.instance}/readiness"),
                md.inline(readiness.title),
                "—",
                "—",
                _counts(readiness),
            ]
        )
    out += [md.table(["Checklist", "Scenario", "Appeared", "Matches now", "Progress"], rows), ""]
    out.append("Only done steps are ticked; skipped, failed and blocked steps are marked in words.")
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


def _escalations_section(
    state: IncidentState, engine: ImpactEngine, views: list[ChecklistView]
) -> str:
    out = ["## Escalation points", ""]
    points = escalation_points(state, engine, views)
    support = engine.estate.support
    if not points:
        out.append("No escalation point in the checklists that appeared, and none was raised.")
    else:
        rows = []
        for p in points:
            raised = f"✅ {stamp(p.raised)}" if p.raised else "not raised"
            rows.append(
                [
                    md.cell_code(p.ref),
                    md.inline(p.title),
                    md.inline(p.reason)
                    if p.reason
                    else "raised without a runbook escalation point",
                    raised,
                    md.inline(p.case) or "—",
                ]
            )
        out.append(
            md.table(["Step", "Title", "Why Tetrate support is needed", "Raised", "Case"], rows)
        )
    out += [
        "",
        f"Support: {md.inline(support.vendor)} {md.inline(support.contact)}"
        + (f", account {md.inline(support.account)}" if support.account else "")
        + ".",
    ]
    if support.severity:
        out += ["", f"Severity: {md.inline(support.severity)}"]
    for contact in support.internal:
        out += ["", f"Internal: {md.inline(contact.name)} {md.inline(contact.contact)}"]
    return "\n".join(out)


def _notes_section(state: IncidentState) -> str:
    out = ["## Notes", ""]
    if not state.notes:
        return "\n".join(out + ["No notes."])
    actors = {
        (e.at, e.payload.text): e.actor for e in state.timeline if isinstance(e.payload, Note)
    }
    for at, text, ref in state.notes:
        who = actors.get((at, text), "")
        out.append(
            f"- {stamp(at)}"
            + (f" ({md.inline(who)})" if who else "")
            + (f" on {md.code_span(ref)}" if ref else "")
            + f": {md.inline(text)}"
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
                md.inline(event.actor) or " ",
            ]
        )
    return "\n".join(["## Timeline", "", md.table(["#", "Time", "Event", "Details", "By"], rows)])


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
