"""An incident as a record: GitHub-flavoured Markdown for the ticket and the postmortem, and the
JSON of `tsbrunbook incident show --format json`.

Both are built from the folded state alone, so they can always be rebuilt from the events. The
Markdown reuses the shared pieces (export.impact_table, export.task_list / checklist_markdown)
and passes every text that comes from YAML, the estate or a user through the escaping helpers of
markdown.py, so a title like ``| # `x` <script>`` cannot break a table or the document structure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import __version__
from . import export, template
from . import markdown as md
from .clock import BEHIND_TOLERANCE_S, behind_warning, short_span
from .impact import Impact, ImpactEngine
from .incident import (
    ChecklistView,
    Event,
    IncidentState,
    StepState,
    assessable,
    checklists,
    clock_anomalies,
    down_sets,
    readiness_checklist,
    readiness_gaps,
    utcnow,
)
from .model import MANAGEMENT_SCOPE, Level
from .serialize import impact_dict

EVENT_WORDS = {
    "started": "started",
    "down": "marked down",
    "up": "marked up",
    "step": "step",
    "note": "note",
    "escalation": "escalation raised",
    "timer-expired": "timer expired",
    "chat": "chat updates",
    "closed": "closed",
}


def stamp(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else "—"


def iso(at: datetime | None) -> str | None:
    """The store's format: ISO-8601 UTC with microseconds."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if at else None


def duration(seconds: float) -> str:
    """`45s`, `12m 05s`, `1h 02m 03s`, `2d 03h 04m`. Never negative: a span that ends before
    it starts (a clock set back) is `0s`; callers flag it with `span`."""
    s = max(0, int(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {s:02d}s"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{s}s"


CLOCK_FLAG = "⚠"


def span(start: datetime, end: datetime) -> str:
    """The duration from start to end, `0s ⚠` when the end was recorded before the start."""
    seconds = (end - start).total_seconds()
    return f"{duration(0)} {CLOCK_FLAG}" if seconds < -BEHIND_TOLERANCE_S else duration(seconds)


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


@dataclass(frozen=True)
class DownPeriod:
    component: str
    since: datetime
    until: datetime | None  # None: still down


def down_periods(state: IncidentState) -> list[DownPeriod]:
    """Every stretch of time a component was marked down, from the timeline, in start order."""
    open_: dict[str, datetime] = {}
    out: list[DownPeriod] = []
    for event in state.timeline:
        for cid in event.data.get("components", []) if event.type in ("down", "up") else []:
            if event.type == "down":
                open_.setdefault(cid, event.at)
            elif cid in open_:
                out.append(DownPeriod(cid, open_.pop(cid), event.at))
    out += [DownPeriod(cid, since, None) for cid, since in open_.items()]
    return sorted(out, key=lambda p: p.since)


@dataclass(frozen=True)
class EscalationPoint:
    ref: str
    title: str  # the step title, placeholders filled
    reason: str | None  # why the runbook says to call support; None if raised on another step
    raised: datetime | None
    case: str


def escalation_points(
    state: IncidentState, engine: ImpactEngine, views: list[ChecklistView]
) -> list[EscalationPoint]:
    """Every escalation point of the checklists that appeared, then any escalation raised elsewhere."""
    out = []
    seen = set()
    for view in views:
        values = _values(engine, view)
        for sv in view.steps:
            if sv.step.escalation or sv.state.escalated:
                seen.add(sv.ref)
                out.append(
                    EscalationPoint(
                        sv.ref,
                        template.fill(sv.step.title, values),
                        sv.step.escalation,
                        sv.state.escalated,
                        sv.state.case,
                    )
                )
    for at, ref, case in state.escalations:
        if ref not in seen:
            seen.add(ref)
            st = state.steps.get(ref, StepState())
            out.append(EscalationPoint(ref, ref, None, st.escalated or at, st.case or case))
    return out


def event_columns(event: Event) -> tuple[str, str]:
    """(what happened, details) in plain words, for timelines."""
    d = event.data
    what = EVENT_WORDS.get(event.type, event.type)
    if event.type == "started":
        return what, f"{d.get('kind', 'incident')}: {d.get('title', '')}"
    if event.type in ("down", "up"):
        return what, ", ".join(map(str, d.get("components", [])))
    if event.type == "step":
        return f"step {d.get('state', '?')}", str(d.get("ref", "")) + (
            f": {d['note']}" if d.get("note") else ""
        )
    if event.type == "note":
        return what, (f"on {d['ref']}: " if d.get("ref") else "") + str(d.get("text", ""))
    if event.type == "escalation":
        return what, str(d.get("ref", "")) + (f", case {d['case']}" if d.get("case") else "")
    if event.type == "timer-expired":
        deadline = str(d.get("deadline", ""))[:19].replace("T", " ")
        return (
            what,
            f"{d.get('instance', '')}: escalate_after (site policy) passed at {deadline} UTC without recovery",
        )
    if event.type == "chat":
        return what, "on" if d.get("enabled") else "off"
    if event.type == "closed":
        return what, ""
    return what, json.dumps(d, ensure_ascii=False, sort_keys=True) if d else ""


def _values(engine: ImpactEngine, view: ChecklistView) -> dict[str, str]:
    return template.variables(engine.estate, view.cluster)


def all_views(
    state: IncidentState, engine: ImpactEngine, impact: Impact | None = None
) -> list[ChecklistView]:
    return checklists(state, engine, impact) + [readiness_checklist(state, engine)]


def worst_moment(state: IncidentState, engine: ImpactEngine) -> tuple[Event, Impact] | None:
    """The event after which the impact was at its worst (earliest of equals), replaying down/up."""
    best: tuple[tuple[int, int, int], Event, Impact] | None = None
    cache: dict[frozenset[str], Impact] = {}
    for event, ids in down_sets(state, engine):
        if ids not in cache:
            cache[ids] = engine.assess(ids)
        impact = cache[ids]
        score = _severity(impact)
        if best is None or score > best[0]:
            best = (score, event, impact)
    return (best[1], best[2]) if best else None


def _severity(impact: Impact) -> tuple[int, int, int]:
    ops = impact.operations.values()
    return (
        int(impact.worst),
        sum(int(r.level) for r in ops),
        sum(int(v) for r in ops for v in r.scopes.values()),
    )


# ---------------------------------------------------------------------------------------------
# Markdown


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
    if _severity(peak) > _severity(impact):
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
    actors = {(e.at, e.data.get("text")): e.actor for e in state.timeline if e.type == "note"}
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
        what, details = event_columns(event)
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


# ---------------------------------------------------------------------------------------------
# JSON (`tsbrunbook incident show --format json`)


def view_dict(engine: ImpactEngine, view: ChecklistView) -> dict[str, Any]:
    values = _values(engine, view)
    return {
        "instance": view.instance,
        "phase": view.phase,
        "title": view.title,
        "active": view.active,
        "steps": [
            {
                "ref": sv.ref,
                "id": sv.step.id,
                "title": template.fill(sv.step.title, values),
                "state": sv.state.state,
                "at": iso(sv.state.at),
                "destructive": sv.step.destructive,
                "destructive_reason": sv.step.destructive_reason,
                "notes": [{"at": iso(at), "text": text} for at, text in sv.state.notes],
                "escalation": (
                    {
                        "reason": sv.step.escalation,
                        "raised": iso(sv.state.escalated),
                        "case": sv.state.case,
                    }
                    if sv.step.escalation or sv.state.escalated
                    else None
                ),
            }
            for sv in view.steps
        ],
    }


def incident_dict(
    state: IncidentState, engine: ImpactEngine, now: datetime | None = None
) -> dict[str, Any]:
    """Everything about the incident, JSON-ready. `impact` has the shape of `tsbrunbook impact`."""
    now = now or utcnow()
    impact = engine.assess(assessable(engine, state.down))
    views = checklists(state, engine, impact)
    readiness = readiness_checklist(state, engine)
    return {
        "id": state.id,
        "title": state.title,
        "kind": state.kind,
        "started": iso(state.started_at),
        "closed": iso(state.closed_at),
        "elapsed_seconds": round(state.elapsed(now), 3),
        # events stamped earlier than an event before them (a clock set back), and by how much
        "clock_anomalies": [
            {"seq": e.seq, "behind_seconds": round(gap, 3)} for e, gap in clock_anomalies(state)
        ],
        "estate": {
            "name": state.meta.get("estate_name") or engine.estate.name,
            "file": state.meta.get("estate_file"),
            "tsb_version": state.meta.get("tsb_version") or engine.estate.tsb_version,
        },
        "pack": {
            "version": state.meta.get("pack_version"),
            "checksum": state.meta.get("pack_checksum"),
        },
        "down": [{"component": cid, "since": iso(since)} for cid, since in state.down.items()],
        "impact": impact_dict(impact, engine.estate),
        "checklists": [view_dict(engine, v) for v in views],
        "readiness": {
            **view_dict(engine, readiness),
            "gaps": [{"fact": fact, "value": value} for fact, value in readiness_gaps(engine)],
        },
        "escalations": [
            {
                "ref": p.ref,
                "title": p.title,
                "reason": p.reason,
                "raised": iso(p.raised),
                "case": p.case,
            }
            for p in escalation_points(state, engine, views + [readiness])
        ],
        "notes": [{"at": iso(at), "text": text, "ref": ref} for at, text, ref in state.notes],
        "timeline": [
            {"seq": e.seq, "at": iso(e.at), "type": e.type, "data": e.data, "actor": e.actor}
            for e in state.timeline
        ],
    }
