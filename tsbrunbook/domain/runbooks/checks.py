"""Cross-checks between documents: scenarios against the graph and each other, placeholders.

A scenario must cover every operation with the scopes its trigger allows, use only known
placeholders, and be at least as bad as every scenario it subsumes (dominance: what keeps the
impact engine monotone).
"""

from __future__ import annotations

from .. import template
from ..errors import Problem, did_you_mean
from ..model import MANAGEMENT_SCOPE, Checklist, GraphSpec, Scenario

PER_CLUSTER_SCOPES = ("affected", "other-clusters", MANAGEMENT_SCOPE)
GLOBAL_SCOPES = ("clusters", MANAGEMENT_SCOPE)


def check_scenarios(graph: GraphSpec, scenarios: list[Scenario]) -> list[Problem]:
    """Cross-checks between scenarios and the graph: triggers, operations, scopes, dominance."""
    problems: list[Problem] = []
    kinds = {k.id: k for k in graph.kinds}
    op_ids = graph.operation_ids
    seen_ids: dict[str, str] = {}
    seen_triggers: dict[str, str] = {}
    for sc in scenarios:
        if sc.id in seen_ids:
            problems.append(
                Problem(
                    sc.file,
                    sc.line("id"),
                    f"duplicate scenario id '{sc.id}' (also in {seen_ids[sc.id]})",
                )
            )
        seen_ids[sc.id] = sc.file
        kind = kinds.get(sc.trigger)
        if kind is None:
            problems.append(
                Problem(
                    sc.file,
                    sc.line("trigger"),
                    f"scenario '{sc.id}': unknown trigger kind '{sc.trigger}'; {did_you_mean(sc.trigger, list(kinds))}".rstrip(
                        "; "
                    ),
                )
            )
        else:
            if sc.trigger in seen_triggers:
                problems.append(
                    Problem(
                        sc.file,
                        sc.line("trigger"),
                        f"scenario '{sc.id}': kind '{sc.trigger}' already triggers '{seen_triggers[sc.trigger]}'",
                    )
                )
            seen_triggers[sc.trigger] = sc.id
            if not kind.markable:
                problems.append(
                    Problem(
                        sc.file,
                        sc.line("trigger"),
                        f"scenario '{sc.id}': kind '{sc.trigger}' cannot be marked down (markable: false)",
                    )
                )
        # With an unknown trigger we cannot tell the scope: check what does not depend on it.
        per_cluster = kind.per_cluster if kind else None
        expected_scopes = (
            None if per_cluster is None else PER_CLUSTER_SCOPES if per_cluster else GLOBAL_SCOPES
        )
        allowed = template.ESTATE_PLACEHOLDERS if per_cluster is False else template.PLACEHOLDERS
        for op_id in op_ids:
            if op_id not in sc.impact:
                problems.append(
                    Problem(
                        sc.file,
                        sc.line("impact"),
                        f"scenario '{sc.id}': impact on '{op_id}' is missing",
                    )
                )
        for op_id, imp in sc.impact.items():
            if op_id not in op_ids:
                problems.append(
                    Problem(
                        sc.file,
                        sc.line(f"impact.{op_id}"),
                        f"scenario '{sc.id}': unknown operation '{op_id}'; {did_you_mean(op_id, op_ids)}".rstrip(
                            "; "
                        ),
                    )
                )
            valid = (
                [set(expected_scopes)]
                if expected_scopes
                else [set(PER_CLUSTER_SCOPES), set(GLOBAL_SCOPES)]
            )
            if set(imp.scopes) not in valid:
                want = (
                    ", ".join(expected_scopes)
                    if expected_scopes
                    else "affected, other-clusters, management (per cluster) or clusters, management"
                )
                problems.append(
                    Problem(
                        sc.file,
                        sc.line(f"impact.{op_id}.scopes"),
                        f"scenario '{sc.id}', {op_id}: scopes must be exactly {want} (got {', '.join(imp.scopes) or 'none'})",
                    )
                )
            for name in template.placeholders(imp.explanation):
                if name not in allowed:
                    problems.append(
                        Problem(
                            sc.file,
                            sc.line(f"impact.{op_id}.explanation"),
                            f"scenario '{sc.id}', {op_id}: unknown placeholder {{{{{name}}}}} in the explanation",
                        )
                    )
        if per_cluster is False and sc.queues_changes == "affected-cluster":
            problems.append(
                Problem(
                    sc.file,
                    sc.line("queues_changes"),
                    f"scenario '{sc.id}': queues_changes 'affected-cluster' needs a per-cluster trigger",
                )
            )
        for checklist in (sc.recovery, sc.restoration):
            problems.extend(check_texts(sc.file, checklist, cluster_ok=per_cluster is not False))
    problems.extend(_check_dominance(graph, scenarios))
    return problems


def check_texts(file: str, checklist: Checklist, cluster_ok: bool) -> list[Problem]:
    """Unknown placeholders, and per-cluster ones where there is no cluster: in an estate-wide
    checklist a command may use them (it is rendered once per workload cluster), its title,
    detail and verify may not."""
    problems = []
    for step in checklist.steps:
        for text, is_command in [(t, False) for t in (step.title, step.detail, step.verify)] + [
            (c, True) for c in step.commands
        ]:
            allowed = (
                template.PLACEHOLDERS if cluster_ok or is_command else template.ESTATE_PLACEHOLDERS
            )
            for name in template.placeholders(text):
                if name not in allowed:
                    why = "" if name in template.PLACEHOLDERS else f"; known: {', '.join(allowed)}"
                    if name in template.CLUSTER_PLACEHOLDERS and not cluster_ok:
                        why = " (only per-cluster scenarios have a cluster; a command may use it, it is then run once per workload cluster)"
                    problems.append(
                        Problem(
                            file,
                            step.line,
                            f"step '{step.id}': unknown placeholder {{{{{name}}}}}{why}",
                        )
                    )
    return problems


def _check_dominance(graph: GraphSpec, scenarios: list[Scenario]) -> list[Problem]:
    """A host's scenario subsumes its hosted kinds' ones, so it must be at least as bad in every cell.

    This is what keeps the engine monotone: marking a host down never makes a level better.
    """
    by_trigger = {s.trigger: s for s in scenarios}
    problems = []
    for rule in graph.hosts:
        host, hosted = by_trigger.get(rule.host), by_trigger.get(rule.hosted)
        if host is None or hosted is None:
            continue
        for op_id, small in hosted.impact.items():
            big = host.impact.get(op_id)
            if big is None:
                continue
            pairs = [("overall", big.level, small.level)]
            for scope, lvl in small.scopes.items():
                host_scope = scope
                if scope in ("affected", "other-clusters") and "clusters" in big.scopes:
                    host_scope = "clusters"
                if host_scope in big.scopes:
                    pairs.append((scope, big.scopes[host_scope], lvl))
            for where, b, s in pairs:
                if b < s:
                    problems.append(
                        Problem(
                            host.file,
                            host.line(f"impact.{op_id}"),
                            f"scenario '{host.id}' ({op_id}, {where}: {b.id}) is milder than the '{hosted.id}' it subsumes ({s.id})",
                        )
                    )
    return problems
