"""An incident as JSON: what `tsbrunbook incident show --format json` prints.

Built from the folded state alone (through incident_queries), like the Markdown export. Times are
in the store's format (ISO-8601 UTC with microseconds); `impact` has the shape of
`tsbrunbook impact --format json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import template
from .impact import ImpactEngine
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
from .incident_queries import escalation_points, step_values
from .serialize import impact_dict
from .timefmt import iso


def view_dict(engine: ImpactEngine, view: ChecklistView) -> dict[str, Any]:
    values = step_values(engine, view)
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
                "actor": sv.state.actor,  # who recorded the state ("" while pending)
                # who is working on it now ("in progress — alice"), None when no one said so
                "claimed_by": sv.state.claim.by if sv.state.claim else None,
                "claimed_at": iso(sv.state.claim.at) if sv.state.claim else None,
                "destructive": sv.step.destructive,
                "destructive_reason": sv.step.destructive_reason,
                "notes": [
                    {"at": iso(n.at), "text": n.text, "actor": n.actor} for n in sv.state.notes
                ],
                "escalation": (
                    {
                        "reason": sv.step.escalation,
                        "raised": iso(sv.state.escalated),
                        "case": sv.state.case,
                    }
                    if sv.step.escalation or sv.state.escalated
                    else None
                ),
                # every escalation raised on the step, each case number kept
                "escalations": [
                    {"ref": sv.ref, "case": r.case, "at": iso(r.at), "actor": r.actor}
                    for r in sv.state.escalations
                ],
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
                "cases": list(p.cases),
            }
            for p in escalation_points(state, engine, views + [readiness])
        ],
        "notes": [
            {"at": iso(n.at), "text": n.text, "ref": n.ref, "actor": n.actor} for n in state.notes
        ],
        "timeline": [
            {"seq": e.seq, "at": iso(e.at), "type": e.type, "data": e.data, "actor": e.actor}
            for e in state.timeline
        ],
    }
