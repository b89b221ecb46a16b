"""`impact`, `components`, `scenarios`, `checklist`, `graph`, `validate`: the runbook commands."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..domain import serialize
from ..domain.errors import UserError, did_you_mean
from ..domain.impact import Impact, ImpactEngine
from ..domain.model import Level
from ..domain.text import one_line
from .text import json_text, out, report_problems, table

if TYPE_CHECKING:
    from ..workspace import Workspace


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    p = sub.add_parser(
        "impact",
        help="what a set of down components does to the four operations",
        description="Assess the impact of components being down.",
    )
    p.add_argument(
        "--down",
        action="append",
        default=[],
        metavar="ID",
        help="a component that is down (repeat for more); ids from `tsbrunbook components`",
    )
    estate_arg(p)
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.set_defaults(func=cmd_impact)

    p = sub.add_parser(
        "components",
        help="list the components of the estate",
        description="List the components of the estate and their ids.",
    )
    estate_arg(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_components)

    p = sub.add_parser(
        "scenarios",
        help="list the scenario runbooks",
        description="List the scenario runbooks and the guide's rating of each.",
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser(
        "checklist",
        help="print a scenario's recovery or restoration checklist",
        description="Print a scenario's recovery (default) or restoration checklist.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario id from `tsbrunbook scenarios`")
    p.add_argument(
        "--cluster", metavar="NAME", help="the affected workload cluster (per-cluster scenarios)"
    )
    p.add_argument(
        "--restoration", action="store_true", help="the restoration checklist instead of recovery"
    )
    estate_arg(p)
    p.add_argument("--format", choices=("markdown", "json"), default="markdown")
    p.set_defaults(func=cmd_checklist)

    p = sub.add_parser(
        "graph",
        help="the dependency graph as Mermaid or DOT",
        description="Print the estate's dependency graph for a README or wiki.",
    )
    estate_arg(p)
    p.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser(
        "validate",
        help="lint runbooks and estates",
        description="Lint runbook packs, scenario, readiness and estate files. Prints file:line: message per problem; exit 2 if any.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (default: the bundled runbooks)",
    )
    p.set_defaults(func=cmd_validate)


def cmd_impact(args: argparse.Namespace, workspace: Workspace) -> int:
    engine = workspace.engine(args.estate)
    impact = engine.assess(args.down)
    if args.format == "json":
        out(json_text(serialize.impact_dict(impact, engine.estate)))
    elif args.format == "markdown":
        from ..domain import export

        out(export.impact_markdown(engine.pack, engine.estate, impact).rstrip())
    else:
        out(impact_text(engine, impact))
    return 0


def impact_text(engine: ImpactEngine, impact: Impact) -> str:
    """The impact as text: each operation's level and where it is hit, and why."""
    lines = [
        f"Estate: {one_line(engine.estate.name)}   Down: {', '.join(impact.down) or 'nothing'}"
    ]
    implied = sorted(impact.effective_down - set(impact.down))
    if implied:
        lines.append(f"Down with them: {', '.join(implied)}")
    lines.append("")
    rows = []
    for op in engine.pack.graph.operations:
        res = impact.operations[op.id]
        hit = [s for s in impact.scopes if res.scopes[s] > Level.OK]
        where = ", ".join(f"{s} {res.scopes[s].glyph}" for s in hit[:6]) + (
            f", +{len(hit) - 6} more" if len(hit) > 6 else ""
        )
        rows.append([op.title, f"{res.level.glyph} {res.level.word}", where or "—"])
    lines.append(table(["Operation", "Overall", "Scopes hit"], rows))
    for op in engine.pack.graph.operations:
        for r in impact.operations[op.id].reasons:
            path = f" [{' → '.join(r.path)}]" if len(r.path) > 1 else ""
            lines.append(
                f"  {op.short}: {r.level.glyph} {', '.join(r.components)}{path}: {one_line(r.text, 160)}"
            )
    if impact.scenarios:
        lines += ["", "Scenarios: " + ", ".join(m.instance for m in impact.scenarios)]
    if impact.queued:
        shown = ", ".join(q.cluster for q in impact.queued[:8]) + (
            f" (+{len(impact.queued) - 8})" if len(impact.queued) > 8 else ""
        )
        lines.append(f"Changes queue for: {shown}")
    if not impact.changes_accepted:
        lines.append("No TSB configuration changes can be made right now.")
    services_hit = [s for s in impact.services if s.level > Level.OK]
    if services_hit:
        lines.append("Services: " + ", ".join(f"{s.name} {s.level.glyph}" for s in services_hit))
    return "\n".join(lines)


def cmd_components(args: argparse.Namespace, workspace: Workspace) -> int:
    items = serialize.components_list(workspace.engine(args.estate).graph)
    if args.format == "json":
        out(json.dumps(items, indent=2))
    else:
        rows = [
            [c["id"], c["kind"], "yes" if c["markable"] else "no", c["hosted_by"] or ""]
            for c in items
        ]
        out(table(["ID", "KIND", "MARKABLE", "HOSTED BY"], rows))
    return 0


def cmd_scenarios(args: argparse.Namespace, workspace: Workspace) -> int:
    items = serialize.scenarios_list(workspace.pack)
    if args.format == "json":
        out(json.dumps(items, indent=2))
        return 0
    ops = workspace.pack.graph.operations
    rows = []
    for s in items:
        levels = [Level.parse(s["levels"][o.id]).glyph for o in ops]
        rows.append(
            [
                s["id"],
                "cluster" if s["per_cluster"] else "estate",
                *levels,
                str(s["recovery_steps"]),
                str(s["restoration_steps"]),
            ]
        )
    out(table(["ID", "SCOPE", *[o.short for o in ops], "RECOVERY", "RESTORATION"], rows))
    return 0


def cmd_checklist(args: argparse.Namespace, workspace: Workspace) -> int:
    ids = [s.id for s in workspace.pack.scenarios]
    if args.scenario not in ids:
        raise UserError(
            f"unknown scenario '{one_line(args.scenario, 60)}'",
            did_you_mean(args.scenario, ids) or "run `tsbrunbook scenarios` for the list",
        )
    scenario = workspace.pack.scenario(args.scenario)
    per_cluster = workspace.pack.graph.kind(scenario.trigger).per_cluster
    estate = workspace.engine(args.estate).estate
    cluster = args.cluster
    if per_cluster and not cluster:
        raise UserError(
            f"scenario '{scenario.id}' happens to one cluster",
            f"name it with --cluster, one of: {', '.join(estate.cluster_names[:8])}",
        )
    if not per_cluster and cluster:
        raise UserError(f"scenario '{scenario.id}' is estate-wide", "drop --cluster")
    if cluster and cluster not in estate.cluster_names:
        raise UserError(
            f"unknown cluster '{one_line(cluster, 60)}'",
            did_you_mean(cluster, estate.cluster_names) or "see `tsbrunbook components`",
        )
    phase = "restoration" if args.restoration else "recovery"
    if args.format == "json":
        out(json_text(serialize.checklist_dict(scenario, phase, estate, cluster)))
    else:
        from ..domain import export

        out(export.checklist_markdown(scenario, phase, estate, cluster, heading="#").rstrip())
        out("\n" + export.sources_markdown(scenario))
    return 0


def cmd_graph(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..domain import picture

    out(
        (picture.mermaid if args.format == "mermaid" else picture.dot)(
            workspace.engine(args.estate).graph
        ).rstrip()
    )
    return 0


def cmd_validate(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..domain.exercise import check_exercise_path
    from ..domain.runbooks.paths import runbooks_dir
    from ..domain.runbooks.validate import validate_paths

    paths = args.paths or [runbooks_dir()]
    problems, checked = validate_paths(paths, check_exercise=check_exercise_path)
    return report_problems(problems, checked, "file")
