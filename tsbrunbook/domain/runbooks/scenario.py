"""A scenario document: its trigger, impact per operation and scope, and its checklists.

Cross-checks against the graph and the other scenarios are in `checks`.
"""

from __future__ import annotations

from ..model import LEVEL_IDS, Level, OperationImpact, Scenario
from .fields import read_duration, read_sources
from .mapping import Obj
from .steps import read_checklist
from .textrules import check_id

QUEUES = ("affected-cluster", "all-clusters", "none")


def read_scenario(obj: Obj, file: str) -> Scenario:
    src = obj.src
    scenario_id = obj.text("id")
    check_id(src, scenario_id, obj.line, "scenario id")
    impact: dict[str, OperationImpact] = {}
    lines = {key: obj.line_of(key) for key in ("id", "trigger", "impact", "queues_changes")}
    imp = obj.obj("impact", "impact")
    if imp is not None:
        for op_id in list(imp.items):
            lines[f"impact.{op_id}"] = imp.line_of(op_id)
            o = imp.obj(op_id, f"impact of {op_id}")
            assert o is not None
            level = o.choice("level", LEVEL_IDS)
            scopes: dict[str, Level] = {}
            sc = o.obj("scopes", f"scopes of {op_id}")
            if sc is not None:
                for scope in list(sc.items):
                    value = sc.choice(scope, LEVEL_IDS)
                    scopes[scope] = Level.parse(value)
                sc.seen.update(sc.items)
            if sc is not None:
                lines[f"impact.{op_id}.scopes"] = sc.line
            lines[f"impact.{op_id}.explanation"] = o.line_of("explanation")
            impact[op_id] = OperationImpact(Level.parse(level), scopes, o.text("explanation"))
            o.done()
    scenario = Scenario(
        id=scenario_id or "",
        title=obj.text("title"),
        trigger=obj.text("trigger"),
        summary=obj.text("summary"),
        sources=read_sources(obj),
        queues_changes=obj.choice("queues_changes", QUEUES, "none"),
        escalate_after=read_duration(obj, "escalate_after"),
        impact=impact,
        recovery=read_checklist(obj.obj("recovery", "recovery"), "recovery"),
        restoration=read_checklist(obj.obj("restoration", "restoration"), "restoration"),
        file=file,
        lines=lines,
    )
    obj.done()
    return scenario
