"""The support case brief: one Markdown page to paste into a Tetrate support case.

Built from the folded incident state and the estate alone, like the export, and shorter: what
support needs first (who we are, what runs where, what is down since when, what was tried) and
none of the full checklists. Every text from YAML, the estate or a user passes through the
escaping helpers of markdown.py. Secrets are never part of the state or the estate, so they
cannot end up here.
"""

from __future__ import annotations

from datetime import datetime

from .. import __version__
from . import export, template
from . import markdown as md
from .author import shown_author
from .escalation import escalation_timers, incident_escalation_points
from .event_text import event_text
from .events import TimerExpired
from .impact import Impact, ImpactEngine
from .incident import (
    ChecklistView,
    IncidentState,
    assessable,
    checklists,
    in_progress,
    readiness_checklist,
    utcnow,
)
from .incident_queries import down_periods, worst_moment
from .model import MANAGEMENT_SCOPE, Datastore, Estate, Level
from .timefmt import duration, span, stamp

MAX_CLUSTER_NAMES = 12
WORKED = ("done", "failed", "skipped", "blocked")
STATE_WORDS = {
    "done": "✅ done",
    "failed": "❌ FAILED",
    "skipped": "⏭️ SKIPPED",
    "blocked": "⛔ BLOCKED",
    "pending": "pending",
}
FACTS = (
    ("postgres.backups", "PostgreSQL backups"),
    ("iam_signing_key_backup", "Backup of the `iam-signing-key` secret"),
    ("postgres.redundant", "PostgreSQL redundant"),
    ("elasticsearch.backups", "ElasticSearch backups"),
    ("elasticsearch.redundant", "ElasticSearch redundant"),
)


def support_brief(state: IncidentState, engine: ImpactEngine, now: datetime | None = None) -> str:
    """The brief as GitHub-flavoured Markdown (ends with a newline)."""
    now = now or utcnow()
    impact = engine.assess(assessable(engine, state.down))
    views = checklists(state, engine, impact)
    readiness = readiness_checklist(state, engine)
    parts = [
        _header(state, impact, now),
        _contact(engine.estate),
        _estate(state, engine.estate),
        _down(state, impact, now),
        _impact(state, engine, impact),
        _scenarios(state, engine, impact, views, now),
        _work(engine.estate, views + [readiness]),
        _escalations(state, engine, impact),
        _readiness(engine.estate),
        _timeline(state),
        (
            f"_Brief prepared by tsbrunbook {__version__} at {stamp(now)} from {len(state.timeline)} events "
            f"({md.code_span('tsbrunbook incident brief ' + state.id)})._"
        ),
    ]
    return "\n\n".join(p.rstrip() for p in parts) + "\n"


def _header(state: IncidentState, impact: Impact, now: datetime) -> str:
    status = f"closed {stamp(state.closed_at)}" if state.closed else f"open, as of {stamp(now)}"
    worst = impact.worst
    return "\n".join(
        [
            f"# Support case brief: {md.inline(state.id)}: {md.inline(state.title)}",
            "",
            f"- **Status:** {status}",
            f"- **Started:** {stamp(state.started_at)} ({duration(state.elapsed(now))}"
            + (")" if state.closed else " so far)"),
            f"- **Worst level now:** {export.level_cell(worst)}",
        ]
    )


def _contact(estate: Estate) -> str:
    s = estate.support
    out = ["## Support contact", "", f"- **Vendor:** {md.inline(s.vendor)}, {md.inline(s.contact)}"]
    out.append(
        f"- **Account / contract:** {md.inline(s.account)}"
        if s.account
        else "- **Account / contract:** not set in the estate (`support.account`)"
    )
    if s.severity:
        out.append(f"- **Severity guidance:** {md.inline(s.severity)}")
    for c in s.internal:
        out.append(f"- **Internal:** {md.inline(c.name)}, {md.inline(c.contact)}")
    return "\n".join(out)


def _store_words(d: Datastore, where: str) -> str:
    placement = (
        f"embedded in the management cluster {md.inline(where)}"
        if d.placement == "embedded"
        else "external"
    )
    return f"{placement}; redundant: {_fact(d.redundant)}; backups: {_fact(d.backups)}"


def _fact(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "unknown"}[value]


def cluster_names(names: tuple[str, ...] | list[str], limit: int = MAX_CLUSTER_NAMES) -> str:
    """`a, b, c` — or the first `limit` names and `… and N more`."""
    shown = ", ".join(md.inline(n) for n in names[:limit])
    return shown + (f", … and {len(names) - limit} more" if len(names) > limit else "")


def _estate(state: IncidentState, estate: Estate) -> str:
    m = estate.management
    version = state.meta.get("tsb_version") or estate.tsb_version
    where = f"{md.inline(m.cluster)}" + (f" ({md.inline(m.region)})" if m.region else "")
    out = [
        "## Estate",
        "",
        f"- **Estate:** {md.inline(state.meta.get('estate_name') or estate.name)}",
        f"- **TSB version:** {md.inline(version)}",
        f"- **Management plane:** cluster {where}, FQDN {md.code_span(m.fqdn)}, organization {md.code_span(m.organization)}, namespace {md.code_span(m.namespace)}",
        f"- **Workload clusters ({len(estate.clusters)}):** {cluster_names(estate.cluster_names)}",
        f"- **PostgreSQL:** {_store_words(estate.datastores['postgres'], m.cluster)}",
        f"- **ElasticSearch:** {_store_words(estate.datastores['elasticsearch'], m.cluster)}",
    ]
    return "\n".join(out)


def _down(state: IncidentState, impact: Impact, now: datetime) -> str:
    out = ["## What is down, since when", ""]
    periods = down_periods(state)
    if not periods:
        return "\n".join(out + ["Nothing was marked down."])
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
    out.append(md.table(["Component", "Down since", "Back up", "Down for"], rows))
    implied = sorted(impact.effective_down - set(impact.down))
    if implied:
        out += [
            "",
            "Down with them (they run on it): " + ", ".join(md.code_span(c) for c in implied),
        ]
    return "\n".join(out)


def _hit_scopes(impact: Impact) -> list[str]:
    hit = [
        s
        for s in impact.scopes
        if s != MANAGEMENT_SCOPE and any(r.scopes[s] > Level.OK for r in impact.operations.values())
    ]
    return [MANAGEMENT_SCOPE] + hit


def _impact(state: IncidentState, engine: ImpactEngine, impact: Impact) -> str:
    out = ["## Impact", ""]
    if impact.down:
        out += [
            f"{'At close' if state.closed else 'Now'}, with "
            + ", ".join(md.code_span(c) for c in impact.down)
            + " down:",
            "",
        ]
        out.append(export.impact_table(engine.pack, impact, _hit_scopes(impact)).rstrip())
    else:
        worst = worst_moment(state, engine)
        if worst is None:
            return "\n".join(out + ["No component was marked down, so nothing was impacted."])
        event, peak = worst
        out += [
            "Nothing is marked down now. At its worst (after event "
            + f"{event.seq}, {stamp(event.at)}), with "
            + ", ".join(md.code_span(c) for c in peak.down)
            + " down:",
            "",
        ]
        out.append(export.impact_table(engine.pack, peak, _hit_scopes(peak)).rstrip())
    if not impact.changes_accepted:
        out += ["", "**No TSB configuration changes can be made** (management operations are out)."]
    return "\n".join(out)


def _scenarios(
    state: IncidentState,
    engine: ImpactEngine,
    impact: Impact,
    views: list[ChecklistView],
    now: datetime,
) -> str:
    out = ["## Matched scenarios", ""]
    seen = [v for v in views if v.phase == "recovery"]
    if not seen:
        return "\n".join(out + ["No scenario matched."])
    timers = {t.instance: t for t in escalation_timers(state, engine, impact, now)}
    expired: dict[str, datetime] = {}
    for event in state.timeline:
        if isinstance(event.payload, TimerExpired):
            expired.setdefault(event.payload.instance, event.at)
    rows = []
    for v in seen:
        assert v.scenario is not None
        timer = timers.get(v.instance)
        if timer is not None:
            if timer.expired:
                word = f"**expired** {stamp(timer.deadline)}"
            else:
                word = (
                    f"{duration(timer.remaining_seconds)} left (deadline {stamp(timer.deadline)})"
                )
        elif v.instance in expired:
            word = f"expired {stamp(expired[v.instance])}"
        else:
            word = "—"
        rows.append(
            [
                md.inline(v.title),
                md.cell_code(v.instance),
                stamp(state.instances.get(v.instance)),
                "yes" if v.active else "no (recovered)",
                word,
            ]
        )
    out.append(
        md.table(
            [
                "Scenario",
                "Instance",
                "First matched",
                "Matches now",
                "Escalation timer (site policy)",
            ],
            rows,
        )
    )
    out += [
        "",
        "The escalation timers are site policy (the runbook's or the estate's `escalate_after`), not figures from the guide.",
    ]
    return "\n".join(out)


def _work(estate: Estate, views: list[ChecklistView]) -> str:
    out = ["## Steps worked", ""]
    lines = []
    pending = 0
    for view in views:
        values = template.variables(estate, view.cluster)
        for sv in view.steps:
            st = sv.state
            if st.state not in WORKED and not st.notes and st.claim is None:
                pending += 1 if view.active and view.scenario is not None else 0
                continue
            when = f" {stamp(st.at)}" if st.at and st.state != "pending" else ""
            if when and st.actor.strip():
                when += f" by {md.inline(shown_author(st.actor))}"
            line = f"- {STATE_WORDS.get(st.state) or md.inline(st.state)}{when}: **{md.inline(template.fill(sv.step.title, values))}** ({md.code_span(sv.ref)})"
            if st.claim is not None:  # support should know someone is on it right now
                line += f" — {md.inline(in_progress(st))} since {stamp(st.claim.at)}"
            if sv.step.destructive:  # support must know what cannot be undone
                line += f" ⚠️ destructive: {md.inline(sv.step.destructive_reason or '')}"
            lines.append(line)
            for n in st.notes:
                by = f" ({md.inline(shown_author(n.actor))})" if shown_author(n.actor) else ""
                lines.append(f"  - {stamp(n.at)}{by}: {md.inline(n.text)}")
    if not lines:
        out.append("No step has been worked yet.")
    else:
        out += lines
    if pending:
        out += ["", f"{pending} step(s) of the checklists that match now are still pending."]
    return "\n".join(out)


def _escalations(state: IncidentState, engine: ImpactEngine, impact: Impact) -> str:
    out = ["## Escalation points", ""]
    points = incident_escalation_points(state, engine, impact)
    if not points:
        return "\n".join(
            out + ["No escalation point in the checklists that appeared, and none was raised."]
        )
    rows = []
    for p in points:
        raised = f"✅ {stamp(p.raised)}" if p.raised else "not raised"
        cases = ", ".join(md.inline(c) for c in p.cases)  # every case raised on the step
        rows.append([md.cell_code(p.ref), md.inline(p.title), raised, cases or "—"])
    out.append(md.table(["Step", "Title", "Raised", "Case"], rows))
    return "\n".join(out)


def _readiness(estate: Estate) -> str:
    out = ["## Readiness facts", ""]
    for fact, label in FACTS:
        out.append(f"- {label}: {_fact(estate.fact(fact))}")
    return "\n".join(out)


def _timeline(state: IncidentState) -> str:
    rows = []
    for event in state.timeline:
        text = event_text(event)
        what, details = text.what, text.details
        rows.append(
            [
                str(event.seq),
                stamp(event.at),
                md.inline(what),
                md.inline(details) or " ",
                md.inline(shown_author(event.actor)) or " ",
            ]
        )
    return "\n".join(["## Timeline", "", md.table(["#", "Time", "Event", "Details", "By"], rows)])
