"""Markdown renderings: the impact table and checklists (incident exports build on these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import markdown as md
from . import site_policy, template
from .author import shown_author
from .impact import Impact
from .model import MANAGEMENT_SCOPE, Checklist, Estate, Level, Pack, Scenario
from .serialize import applicable_steps

STATE_MARKS = {
    # state → (task box, marker words). Only `done` ticks the box: a skip never looks like success.
    "done": ("[x]", ""),
    "pending": ("[ ]", ""),
    "skipped": ("[ ]", "**SKIPPED** ⏭️"),
    "failed": ("[ ]", "**FAILED** ❌"),
    "blocked": ("[ ]", "**BLOCKED** ⛔"),
}


def level_cell(level: Level) -> str:
    return f"{level.glyph} {level.word}"


def impact_table(pack: Pack, impact: Impact, scopes: list[str] | None = None) -> str:
    """Operations × (overall, scopes) with glyph and word, then the reasons per operation."""
    scopes = scopes if scopes is not None else list(impact.scopes)
    headers = ["Operation", "Overall", *[md.inline(s) for s in scopes]]
    rows = []
    for op in pack.graph.operations:
        res = impact.operations[op.id]
        rows.append(
            [
                md.inline(op.title),
                level_cell(res.level),
                *[level_cell(res.scopes[s]) for s in scopes],
            ]
        )
    out = [md.table(headers, rows), ""]
    for op in pack.graph.operations:
        res = impact.operations[op.id]
        if not res.reasons:
            continue
        out.append(f"**{md.inline(op.title)}: {level_cell(res.level)}**")
        out.append("")
        for r in res.reasons:
            via = " → ".join(r.path) if len(r.path) > 1 else ""
            who = ", ".join(r.components) or "estate"
            where = ", ".join(
                f"{md.inline(k)} {v.glyph}" for k, v in r.concrete_scopes().items() if v > Level.OK
            )
            out.append(
                f"- {r.level.glyph} {md.code_span(who)}"
                + (f" ({md.inline(r.instance)})" if r.instance else "")
                + (f" — path {md.inline(via)}" if via else "")
                + (f" — scopes: {where}" if where else "")
                + f": {md.inline(r.text)}"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def impact_markdown(pack: Pack, estate: Estate, impact: Impact) -> str:
    out = [f"# Impact: {md.inline(estate.name)}", ""]
    if impact.down:
        out.append("Down: " + ", ".join(md.code_span(c) for c in impact.down))
    else:
        out.append("Nothing is marked down.")
    out += ["", impact_table(pack, impact)]
    if impact.scenarios:
        out += ["## Matched scenarios", ""]
        out += [
            f"- {md.inline(m.scenario.title)} ({md.code_span(m.instance)})"
            for m in impact.scenarios
        ]
        out.append("")
    if impact.queued:
        out += ["## Queued changes", ""]
        out += [
            f"- {md.inline(q.cluster)}: queued because {', '.join(md.code_span(b) for b in q.because)} is down"
            for q in impact.queued
        ]
        out.append("")
    if not impact.changes_accepted:
        out += [
            "**No TSB configuration changes can be made right now** (management operations are out).",
            "",
        ]
    if estate.services:
        out += ["## Services", ""]
        out.append(
            md.table(
                ["Service", "Level", "Clusters", "Down on"],
                [
                    [
                        md.inline(s.name),
                        level_cell(s.level),
                        md.inline(", ".join(s.clusters)),
                        md.inline(", ".join(s.down_clusters)) or "—",
                    ]
                    for s in impact.services
                ],
            )
        )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def checklist_markdown(
    scenario: Scenario,
    phase: str,
    estate: Estate,
    cluster: str | None,
    states: Mapping[str, Any] | None = None,
    heading: str = "##",
    support_contact: bool = True,
) -> str:
    """One checklist as a GFM task list. `states` maps step id → an object with
    `state`, `at` (datetime or None), `notes` (list of (datetime, text)), `escalated` (datetime
    or None) and optionally `case` (the latest support case number) or `cases` (every one)."""
    checklist = scenario.checklist(phase)
    values = template.variables(estate, cluster)
    instance = f"{scenario.id}@{cluster}" if cluster else scenario.id
    title = template.fill(scenario.title, values) + (f" — {cluster}" if cluster else "")
    out = [
        f"{heading} {md.inline(title)}: {phase}",
        "",
        f"Ref {md.code_span(instance + '/' + phase)}",
        "",
    ]
    timer = site_policy.escalate_after(scenario, estate)
    if timer:
        out += [f"⏰ If it is not recovered, {md.inline(timer['label'])}.", ""]
    out += task_list(checklist, estate, values, states, support_contact, cluster=cluster)
    return "\n".join(out).rstrip() + "\n"


def task_list(
    checklist: Checklist,
    estate: Estate,
    values: dict[str, str],
    states: Mapping[str, Any] | None = None,
    support_contact: bool = True,
    cluster: str | None = None,
) -> list[str]:
    """The summary and steps of a checklist as Markdown lines (shared by scenario and readiness
    checklists). With `states` (an incident), escalation points also say whether they were raised.
    Commands are rendered for `cluster` (None: estate-wide, per-cluster commands expand)."""
    out: list[str] = []
    if checklist.summary:
        out += [md.inline(template.fill(checklist.summary, values)), ""]
    if checklist.not_documented:
        out += [md.quote("ℹ️ " + md.inline(checklist.not_documented)), ""]
    for step in applicable_steps(checklist, estate):
        st = states.get(step.id) if states else None
        state = getattr(st, "state", "pending") if st else "pending"
        box, marker = STATE_MARKS.get(state, STATE_MARKS["pending"])
        when = getattr(st, "at", None) if st else None
        stamp = (
            f" _({md.inline(state)} {when:%Y-%m-%d %H:%M:%S} UTC)_"
            if when and state != "pending"
            else ""
        )
        line = (
            f"- {box} "
            + (f"{marker} " if marker else "")
            + f"**{md.inline(template.fill(step.title, values))}**{stamp} {md.code_span(step.id)}"
        )
        out.append(line)
        if step.destructive:
            out.append(f"  ⚠️ **DESTRUCTIVE:** {md.inline(step.destructive_reason or '')}")
        out.append(f"  {md.inline(template.fill(step.detail, values))}")
        if step.commands:
            out.append("")
            out.append(md.code_block(template.commands(step, estate, cluster), "sh", indent="  "))
        out.append("")
        out.append(f"  Verify: {md.inline(template.fill(step.verify, values))}")
        if step.escalation:
            raised = getattr(st, "escalated", None) if st else None
            case = getattr(st, "case", "") if st else ""
            cases = tuple(getattr(st, "cases", ()) or ((case,) if case else ()))
            contact = (
                f" Contact: {md.inline(estate.support.vendor)} {md.inline(estate.support.contact)}."
                if support_contact
                else ""
            )
            status = ""
            if raised:
                status = (
                    f" Raised {raised:%Y-%m-%d %H:%M:%S} UTC"
                    + (f", case{'s' if len(cases) > 1 else ''} " if cases else "")
                    + ", ".join(md.inline(c) for c in cases)
                    + "."
                )
            elif states is not None:
                status = " Not raised."
            out.append("")
            out.append(
                f"  > 🆘 **Escalation point — Tetrate support required.** {md.inline(step.escalation)}{contact}{status}"
            )
        for n in (getattr(st, "notes", None) or []) if st else []:
            by = f" ({md.inline(shown_author(n.actor))})" if shown_author(n.actor) else ""
            out.append(f"  - 📝 {n.at:%H:%M:%S} UTC{by}: {md.inline(n.text)}")
        out.append("")
    return out


def sources_markdown(scenario: Scenario) -> str:
    return "Sources: " + "; ".join(md.link(s.title, s.url) for s in scenario.sources)


def scope_label(scope: str) -> str:
    return "management side" if scope == MANAGEMENT_SCOPE else f"cluster {scope}"
