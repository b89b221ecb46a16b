"""Steps and checklists (recovery, restoration, the readiness document) and the command rules.

The rules on each step's commands live here: obviously destructive commands need
`destructive: true` and a reason, helm installs pin the chart version, placeholders are never
inside single quotes.
"""

from __future__ import annotations

import re

from .. import template
from ..errors import did_you_mean
from ..model import READINESS_FACTS, Checklist, Readiness, Step
from .fields import DATASTORES, PLACEMENTS, read_sources, report_duplicates
from .mapping import Obj
from .textrules import check_id


def read_step(s: Obj, phase: str, readiness: bool = False) -> Step:
    step_id = s.text("id")
    check_id(s.src, step_id, s.line, f"{phase} step id")
    when: dict[str, str] = {}
    w = s.obj("when", "when", required=False)
    if w is not None:
        for store in DATASTORES:
            value = w.get(store, str)
            if value is not None:
                if value not in PLACEMENTS:
                    s.src.problem(
                        w.line_of(store),
                        f"when: {store} is '{value}', expected one of {', '.join(PLACEMENTS)}",
                    )
                when[store] = value
        w.done()
    fact = None
    if readiness:
        fact = s.get("fact", str)
        if fact is not None and fact not in READINESS_FACTS:
            s.src.problem(
                s.line_of("fact"),
                f"step '{step_id}': unknown fact '{fact}'; {did_you_mean(fact, READINESS_FACTS)}".rstrip(
                    "; "
                ),
            )
    escalation = s.get("escalation", str)
    destructive = bool(s.get("destructive", bool, False))
    destructive_reason = s.get("destructive_reason", str) or None
    step = Step(
        id=step_id or "",
        title=s.text("title"),
        detail=s.text("detail"),
        verify=s.get("verify", str, "", required=False),
        commands=tuple(s.strings("commands")),
        escalation=escalation or None,
        when=when,
        fact=fact,
        destructive=destructive,
        destructive_reason=destructive_reason,
        line=s.line,
    )
    if s.ok and not step.verify:
        s.src.problem(
            s.line, f"step '{step_id}' has no 'verify' (say what to expect when it worked)"
        )
    _check_step_commands(s, step)
    s.done()
    return step


# Obviously destructive commands (what `validate` wants flagged `destructive: true`), each with
# the short name the problem gives. `[^|;&]*` keeps a match inside one command of a pipeline, so
# `kubectl get pod -A | grep delete` is not one.
DESTRUCTIVE_VERBS = (
    (re.compile(r"\bDROP\s", re.IGNORECASE), "DROP"),
    (re.compile(r"\bkubectl\b[^|;&]*\sdelete\b"), "kubectl delete"),
    (re.compile(r"\bhelm\b[^|;&]*\s(?:uninstall|delete)\b"), "helm uninstall"),
    (re.compile(r"--replicas[= ]0\b"), "--replicas 0"),
    (re.compile(r"\bdropdb\b", re.IGNORECASE), "dropdb"),
)
HELM_INSTALL_RE = re.compile(r"\bhelm\b[^|;&]*\s(install|upgrade)\b")


HELM_PINNED_RE = re.compile(r"--version[= ]\{\{\s*helm_chart_version\s*\}\}")


def destructive_verb(command: str) -> str | None:
    """The name of the first obviously destructive verb in a command, or None."""
    return next((name for pattern, name in DESTRUCTIVE_VERBS if pattern.search(command)), None)


def unpinned_helm(command: str) -> str | None:
    """`install`/`upgrade` for a helm install or upgrade without `--version {{helm_chart_version}}`."""
    match = HELM_INSTALL_RE.search(command)
    return match.group(1) if match and not HELM_PINNED_RE.search(command) else None


def _check_step_commands(s: Obj, step: Step) -> None:
    """The destructive flag and its reason, and what every command must (not) contain."""
    where = f"step '{step.id}'"
    if step.destructive and not step.destructive_reason:
        s.src.problem(
            s.line_of("destructive"),
            f"{where}: destructive: true needs a 'destructive_reason' (one short sentence, shown beside the ⚠)",
        )
    if step.destructive_reason and not step.destructive:
        s.src.problem(
            s.line_of("destructive_reason"),
            f"{where}: 'destructive_reason' needs 'destructive: true'; add the flag or drop the reason",
        )
    for n, command in enumerate(step.commands, 1):
        verb = destructive_verb(command)
        if verb and not step.destructive:
            s.src.problem(
                s.line,
                f"{where}: command {n} is destructive ({verb}); mark the step 'destructive: true' with a 'destructive_reason'",
            )
        helm = unpinned_helm(command)
        if helm:
            s.src.problem(
                s.line,
                f"{where}: command {n} runs helm {helm} without '--version {{{{helm_chart_version}}}}'; pin the chart to the estate's version",
            )
        for name in dict.fromkeys(template.single_quoted_placeholders(command)):
            s.src.problem(
                s.line,
                f"{where}: command {n} puts {{{{{name}}}}} inside single quotes; use double quotes or none (the value is shell-quoted when it is filled in)",
            )


def read_checklist(obj: Obj | None, phase: str, readiness: bool = False) -> Checklist:
    if obj is None:
        return Checklist(phase, "", ())
    not_documented = obj.get("not_documented", str)
    steps = [
        read_step(s, phase, readiness)
        for s in obj.objects("steps", f"{phase} step", required=not_documented is None)
    ]
    if not_documented and steps:
        obj.src.problem(obj.line, f"{phase}: give either 'steps' or 'not_documented', not both")
    if obj.ok and not steps and not not_documented:
        obj.src.problem(
            obj.line, f"{phase}: no steps (if the source has none, say so in 'not_documented')"
        )
    report_duplicates(obj.src, [(s.id, s.line) for s in steps], f"{phase} step")
    summary = obj.text("summary", required=False)
    obj.done()
    return Checklist(phase, summary, tuple(steps), not_documented)


def read_readiness(obj: Obj) -> Readiness:
    title = obj.text("title")
    summary = obj.text("summary")
    sources = read_sources(obj)
    steps = [
        read_step(s, "readiness", readiness=True) for s in obj.objects("steps", "readiness step")
    ]
    report_duplicates(obj.src, [(s.id, s.line) for s in steps], "readiness step")
    obj.done()
    return Readiness(title, summary, sources, Checklist("readiness", summary, tuple(steps)))
