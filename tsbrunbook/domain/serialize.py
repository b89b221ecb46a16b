"""JSON-ready dicts of the domain objects: one shape shared by the CLI, exports and tests."""

from __future__ import annotations

from typing import Any

from . import site_policy, template
from .graph import EstateGraph
from .impact import Impact, Reason
from .model import Checklist, Estate, Pack, Scenario, Step


def reason_dict(reason: Reason) -> dict[str, Any]:
    return {
        "component": reason.components[0]
        if len(reason.components) == 1
        else ",".join(reason.components),
        "components": list(reason.components),
        "scenario": reason.instance,
        "level": reason.level.id,
        "scopes": {k: v.id for k, v in reason.concrete_scopes().items()},
        "path": list(reason.path),
        "text": reason.text,
    }


def impact_dict(impact: Impact, estate: Estate) -> dict[str, Any]:
    """The shape of `tsbrunbook impact --format json`."""
    return {
        "estate": estate.name,
        "down": list(impact.down),
        "implied_down": sorted(impact.effective_down - set(impact.down)),
        "operations": {
            op: {
                "level": res.level.id,
                "glyph": res.level.glyph,
                "scopes": {scope: level.id for scope, level in res.scopes.items()},
                "reasons": [reason_dict(r) for r in res.reasons],
            }
            for op, res in impact.operations.items()
        },
        "scenarios": [
            {
                "id": m.scenario.id,
                "instance": m.instance,
                "component": m.component,
                "cluster": m.cluster,
                "implies": list(m.implies),
                "title": m.scenario.title,
            }
            for m in impact.scenarios
        ],
        "queued": [{"cluster": q.cluster, "because": list(q.because)} for q in impact.queued],
        "changes_accepted": impact.changes_accepted,
        "services": [
            {
                "name": s.name,
                "level": s.level.id,
                "clusters": list(s.clusters),
                "down_clusters": list(s.down_clusters),
            }
            for s in impact.services
        ],
        "affected": dict(sorted(impact.affected.items())),
    }


def step_dict(step: Step, estate: Estate, cluster: str | None) -> dict[str, Any]:
    """One step for this estate (and cluster): display text filled in, commands shell-quoted
    and, in an estate-wide checklist, expanded per cluster (template.commands)."""
    values = template.variables(estate, cluster)
    return {
        "id": step.id,
        "title": template.fill(step.title, values),
        "detail": template.fill(step.detail, values),
        "commands": template.commands(step, estate, cluster),
        "verify": template.fill(step.verify, values),
        "escalation": step.escalation,
        "destructive": step.destructive,
        "destructive_reason": step.destructive_reason,
        **({"fact": step.fact} if step.fact else {}),
    }


def applicable_steps(checklist: Checklist, estate: Estate) -> tuple[Step, ...]:
    """The steps that apply to this estate (a `when: {postgres: embedded}` step only there)."""
    return tuple(
        s
        for s in checklist.steps
        if all(estate.datastores[k].placement == v for k, v in s.when.items())
    )


def checklist_dict(
    scenario: Scenario, phase: str, estate: Estate, cluster: str | None
) -> dict[str, Any]:
    checklist = scenario.checklist(phase)
    instance = f"{scenario.id}@{cluster}" if cluster else scenario.id
    return {
        "scenario": scenario.id,
        "instance": instance,
        "cluster": cluster,
        "phase": phase,
        "title": scenario.title,
        "summary": checklist.summary,
        "not_documented": checklist.not_documented,
        "steps": [
            {"ref": f"{instance}/{phase}/{s.id}", **step_dict(s, estate, cluster)}
            for s in applicable_steps(checklist, estate)
        ],
        "escalate_after": site_policy.escalate_after(scenario, estate),
        "sources": [{"title": s.title, "url": s.url} for s in scenario.sources],
    }


def components_list(graph: EstateGraph) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "kind": c.kind,
            "cluster": c.cluster,
            "title": c.title,
            "markable": c.markable,
            "hosted_by": graph.host_of.get(c.id),
        }
        for c in graph.components
    ]


def scenarios_list(pack: Pack) -> list[dict[str, Any]]:
    kinds = {k.id: k for k in pack.graph.kinds}
    return [
        {
            "id": s.id,
            "title": s.title,
            "trigger": s.trigger,
            "per_cluster": kinds[s.trigger].per_cluster,
            "levels": {op: imp.level.id for op, imp in s.impact.items()},
            "recovery_steps": len(s.recovery.steps),
            "restoration_steps": len(s.restoration.steps),
            "escalate_after_seconds": s.escalate_after,
        }
        for s in pack.scenarios
    ]
