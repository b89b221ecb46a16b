"""YAML → validated model. Every problem carries file:line and, where it helps, a hint.

Three entry points: `load_pack()` (the runbook pack), `load_estate()` (an estate file or the
bundled demo) and `validate_paths()` (the `validate` command: report everything, stop at nothing).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from dataclasses import replace
from graphlib import CycleError, TopologicalSorter

from . import template
from .errors import LoadError, Problem, did_you_mean
from .model import (
    DEFAULT_SUPPORT,
    LEVEL_IDS,
    MANAGEMENT_SCOPE,
    READINESS_FACTS,
    Checklist,
    Contact,
    Datastore,
    Dependency,
    Estate,
    GraphSpec,
    HostRule,
    Kind,
    Level,
    ManagementSide,
    Operation,
    OperationImpact,
    Pack,
    Readiness,
    Scenario,
    Service,
    Source,
    Step,
    Support,
    WorkloadCluster,
)
from .yamlsrc import Obj, check_id, invisible_character, parse, read_text, refuse_invisible
from .yamlsrc import Source as YamlFile

PER_CLUSTER_SCOPES = ("affected", "other-clusters", MANAGEMENT_SCOPE)
GLOBAL_SCOPES = ("clusters", MANAGEMENT_SCOPE)
QUEUES = ("affected-cluster", "all-clusters", "none")
PLACEMENTS = ("external", "embedded")
DATASTORES = ("postgres", "elasticsearch")
CHANNELS = ("config", "service-discovery", "metrics", "management-api", "storage")
DURATION_RE = re.compile(r"^(\d+)\s*(s|m|h)$")
MAX_DURATION = 7 * 24 * 3600  # escalation timers: anything longer is a typo
# Estate size: far above any real estate (the benchmarks use 1,000 clusters and 2,000 services),
# low enough that loading, the graph and the TUI stay quick. The message names the number.
MAX_CLUSTERS = 5_000
MAX_SERVICES = 20_000
# Free text in an estate that may span lines; every other estate value is one line.
ESTATE_MULTILINE = frozenset({"support.severity"})
VERSION_RE = re.compile(r"v?[0-9]{1,4}(?:\.[0-9]{1,4}){1,3}(?:[-+][0-9A-Za-z][0-9A-Za-z.-]{0,39})?")


def runbooks_dir() -> str:
    """The bundled runbooks: `TSBRUNBOOK_RUNBOOKS`, else the checkout's `runbooks/`, else the wheel's copy."""
    override = os.environ.get("TSBRUNBOOK_RUNBOOKS")
    if override:
        return override
    checkout = os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "runbooks"
    )
    if os.path.isfile(os.path.join(checkout, "pack.yaml")):
        return checkout
    # Installed: the wheel carries runbooks/ as the data-only namespace package tsbrunbook._runbooks.
    from importlib.util import find_spec

    spec = find_spec("tsbrunbook._runbooks")
    if spec is None or not spec.submodule_search_locations:
        return checkout  # nothing bundled: the caller reports the missing directory
    return list(spec.submodule_search_locations)[0]


def demo_estate_path() -> str:
    return os.path.join(runbooks_dir(), "estates", "demo.yaml")


# ---------------------------------------------------------------------------------------------
# Reading one document of each kind


def _sources(obj: Obj) -> tuple[Source, ...]:
    out = []
    for s in obj.objects("sources", "source"):
        out.append(Source(title=s.text("title"), url=s.text("url")))
        s.done()
    if not out and obj.ok:
        obj.src.problem(obj.line, f"{obj.what}: cite at least one source page in 'sources'")
    return tuple(out)


def read_graph(obj: Obj) -> GraphSpec:
    src = obj.src
    operations = []
    op_lines = []
    for o in obj.objects("operations", "operation"):
        op_lines.append(o.line)
        op_id = o.text("id")
        check_id(src, op_id, o.line, "operation id")
        operations.append(
            Operation(
                id=op_id,
                title=o.text("title"),
                short=o.text("short"),
                description=o.text("description"),
                entry=o.text("entry"),
                all_clusters_out_is_outage=bool(o.get("all_clusters_out_is_outage", bool, False)),
                channels=_channels(o, op_id),
            )
        )
        o.done()
    kinds = []
    kind_lines = []
    for k in obj.objects("kinds", "kind"):
        kind_lines.append(k.line)
        kind_id = k.text("id")
        check_id(src, kind_id, k.line, "kind id")
        kinds.append(
            Kind(
                id=kind_id,
                title=k.text("title"),
                scope=k.choice("scope", ("management", "cluster")),
                markable=bool(k.get("markable", bool, True)),
                description=k.text("description"),
            )
        )
        k.done()
    hosts = []
    host_lines = []
    for h in obj.objects("hosts", "hosts entry"):
        placement = h.get("placement", str)
        if placement is not None and placement not in PLACEMENTS:
            src.problem(
                h.line_of("placement"),
                f"hosts entry: placement '{placement}' is not one of {', '.join(PLACEMENTS)}",
            )
        hosts.append(HostRule(host=h.text("host"), hosted=h.text("hosted"), placement=placement))
        host_lines.append(h.line)
        h.done()
    deps = []
    dep_lines = []
    for d in obj.objects("dependencies", "dependency"):
        deps.append(
            Dependency(
                source=d.text("from"),
                target=d.text("to"),
                channel=d.choice("channel", CHANNELS),
                via=d.get("via", str),
                description=d.text("description"),
            )
        )
        dep_lines.append(d.line)
        d.done()
    sources = _sources(obj)
    obj.done()
    spec = GraphSpec(tuple(operations), tuple(kinds), tuple(hosts), tuple(deps), sources)
    _check_graph(
        spec,
        src,
        obj.line,
        {"kind": kind_lines, "op": op_lines, "host": host_lines, "dep": dep_lines},
    )
    return spec


def _channels(o: Obj, op_id: str) -> tuple[str, ...]:
    """`channels: [config, …]` of an operation: known channels, each once."""
    out: list[str] = []
    for channel in o.strings("channels"):
        if channel not in CHANNELS:
            hint = did_you_mean(channel, CHANNELS) or "expected one of " + ", ".join(CHANNELS)
            o.src.problem(
                o.line_of("channels"), f"operation '{op_id}': unknown channel '{channel}'; {hint}"
            )
        elif channel in out:
            o.src.problem(
                o.line_of("channels"), f"operation '{op_id}': channel '{channel}' is listed twice"
            )
        else:
            out.append(channel)
    return tuple(out)


def _check_graph(spec: GraphSpec, src: YamlFile, line: int, lines: dict[str, list[int]]) -> None:
    kind_ids = [k.id for k in spec.kinds]
    host_lines, dep_lines = lines["host"], lines["dep"]
    _duplicates(src, [(k.id, ln) for k, ln in zip(spec.kinds, lines["kind"])], "kind")
    _duplicates(src, [(o.id, ln) for o, ln in zip(spec.operations, lines["op"])], "operation")
    by_id = {k.id: k for k in spec.kinds}
    for op, ln in zip(spec.operations, lines["op"]):
        if op.entry not in by_id:
            src.problem(
                ln,
                f"operation '{op.id}': unknown entry kind '{op.entry}'; {did_you_mean(op.entry, kind_ids)}",
            )
    for rule, ln in zip(spec.hosts, host_lines):
        for ref in (rule.host, rule.hosted):
            if ref not in by_id:
                src.problem(
                    ln,
                    f"hosts entry: unknown kind '{ref}'; {did_you_mean(ref, kind_ids)}".rstrip(
                        "; "
                    ),
                )
        if rule.host in by_id and rule.hosted in by_id:
            if by_id[rule.host].per_cluster and not by_id[rule.hosted].per_cluster:
                src.problem(
                    ln,
                    f"hosts entry: a per-cluster kind ({rule.host}) cannot host an estate-wide one ({rule.hosted})",
                )
    for dep, ln in zip(spec.dependencies, dep_lines):
        for ref in (dep.source, dep.target, dep.via):
            if ref is not None and ref not in by_id:
                src.problem(
                    ln,
                    f"dependency: unknown kind '{ref}'; {did_you_mean(ref, kind_ids)}".rstrip("; "),
                )
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for rule in spec.hosts:
        sorter.add(rule.hosted, rule.host)
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = " → ".join(exc.args[1])
        first = next(
            (
                ln
                for r, ln in zip(spec.hosts, host_lines)
                if r.host in exc.args[1] and r.hosted in exc.args[1]
            ),
            line,
        )
        src.problem(first, f"cycle in 'hosts': {cycle}")


def _duplicates(src: YamlFile, items: list[tuple[str, int]], what: str) -> None:
    seen: set[str] = set()
    for value, line in items:
        if value in seen:
            src.problem(line, f"duplicate {what} id '{value}'")
        seen.add(value)


def _duration(obj: Obj, key: str) -> int | None:
    raw = obj.get(key, str)
    if raw is None:
        return None
    match = DURATION_RE.match(raw)
    if not match:
        obj.src.problem(
            obj.line_of(key),
            f"{obj.what}: '{key}' is '{raw}', expected a duration like 30m, 2h or 90s",
        )
        return None
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    if seconds > MAX_DURATION:
        obj.src.problem(
            obj.line_of(key),
            f"{obj.what}: '{key}' is '{raw[:40]}', longer than 7 days; give a duration like 30m, 2h or 90s",
        )
        return None
    return seconds


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
    _duplicates(obj.src, [(s.id, s.line) for s in steps], f"{phase} step")
    summary = obj.text("summary", required=False)
    obj.done()
    return Checklist(phase, summary, tuple(steps), not_documented)


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
        sources=_sources(obj),
        queues_changes=obj.choice("queues_changes", QUEUES, "none"),
        escalate_after=_duration(obj, "escalate_after"),
        impact=impact,
        recovery=read_checklist(obj.obj("recovery", "recovery"), "recovery"),
        restoration=read_checklist(obj.obj("restoration", "restoration"), "restoration"),
        file=file,
        lines=lines,
    )
    obj.done()
    return scenario


def read_readiness(obj: Obj) -> Readiness:
    title = obj.text("title")
    summary = obj.text("summary")
    sources = _sources(obj)
    steps = [
        read_step(s, "readiness", readiness=True) for s in obj.objects("steps", "readiness step")
    ]
    _duplicates(obj.src, [(s.id, s.line) for s in steps], "readiness step")
    obj.done()
    return Readiness(title, summary, sources, Checklist("readiness", summary, tuple(steps)))


def read_estate(obj: Obj, file: str) -> Estate:
    """The estate, every problem reported. Every text value is refused if it holds a control or
    invisible character (only `support.severity` may span lines); shell metacharacters are
    allowed here because values are shell-quoted where commands substitute them."""
    src = obj.src
    refuse_invisible(obj.node_read, src, "estate", ESTATE_MULTILINE)
    m = obj.obj("management", "management")
    if m is not None:
        mgmt_cluster = m.text("cluster")
        management = ManagementSide(
            cluster=mgmt_cluster,
            region=m.text("region", required=False),
            context=m.text("context", required=False) or mgmt_cluster,
            fqdn=_fqdn(m),
            organization=_organization(m),
            namespace=m.text("namespace", required=False, default="tsb") or "tsb",
            status_url=_status_url(m),
            front_envoy_port=_port(m, "front_envoy_port", 8443),
            helm_chart_version=m.text("helm_chart_version", required=False),
        )
        m.done()
    else:
        management = ManagementSide("management", "", "management", "<fqdn>", "<org>", "tsb")
    datastores = {}
    ds = obj.obj("datastores", "datastores", required=False)
    for store in DATASTORES:
        d = ds.obj(store, store, required=False) if ds is not None else None
        if d is None:
            datastores[store] = Datastore("external", None, None)
            continue
        datastores[store] = Datastore(
            d.choice("placement", PLACEMENTS, "external"),
            d.tristate("redundant"),
            d.tristate("backups"),
        )
        d.done()
    if ds is not None:
        ds.done()
    clusters = []
    cluster_lines: list[tuple[str, int]] = []
    too_many_clusters = _too_many(obj, "clusters", MAX_CLUSTERS)
    for c in [] if too_many_clusters else obj.objects("clusters", "cluster"):
        name = c.text("name")
        if check_id(src, name, c.line, "cluster name") and name == MANAGEMENT_SCOPE:
            src.problem(
                c.line,
                "cluster name 'management' is reserved for the management side; pick another",
            )
        cluster_lines.append((name or "", c.line))
        clusters.append(
            WorkloadCluster(
                name=name or "",
                region=c.text("region", required=False),
                context=c.text("context", required=False) or name or "",
            )
        )
        c.done()
    if obj.ok and not clusters and not too_many_clusters:
        src.problem(obj.line, "estate: list at least one workload cluster under 'clusters'")
    names = [c.name for c in clusters]
    known = set(names)  # membership per service reference: a set, for estates of 1000 clusters
    _duplicates(src, cluster_lines, "cluster")
    services = []
    service_lines: list[tuple[str, int]] = []
    for s in (
        []
        if _too_many(obj, "services", MAX_SERVICES)
        else obj.objects("services", "service", required=False)
    ):
        name = s.text("name")
        check_id(src, name, s.line, "service name")
        refs = s.strings("clusters")
        for ref in refs:
            if ref not in known and not too_many_clusters:
                src.problem(
                    s.line_of("clusters"),
                    f"service '{name}': unknown cluster '{ref}'; {did_you_mean(ref, names)}".rstrip(
                        "; "
                    ),
                )
        if s.ok and not refs:
            src.problem(
                s.line_of("clusters"), f"service '{name}': place it on at least one cluster"
            )
        service_lines.append((name or "", s.line))
        services.append(Service(name or "", tuple(r for r in refs if r in known)))
        s.done()
    _duplicates(src, service_lines, "service")
    support = DEFAULT_SUPPORT
    sp = obj.obj("support", "support", required=False)
    if sp is not None:
        internal = []
        for ic in sp.objects("internal", "internal contact", required=False):
            internal.append(Contact(ic.text("name"), ic.text("contact")))
            ic.done()
        support = Support(
            vendor=sp.text("vendor", required=False, default=DEFAULT_SUPPORT.vendor)
            or DEFAULT_SUPPORT.vendor,
            contact=sp.text("contact", required=False, default=DEFAULT_SUPPORT.contact)
            or DEFAULT_SUPPORT.contact,
            account=sp.text("account", required=False),
            severity=sp.text("severity", required=False),
            internal=tuple(internal),
        )
        sp.done()
    tsb_version = _tsb_version(obj)
    if not management.helm_chart_version:  # the TSB charts are versioned with TSB
        management = replace(management, helm_chart_version=tsb_version)
    estate = Estate(
        name=obj.text("name"),
        tsb_version=tsb_version,
        management=management,
        datastores=datastores,
        iam_signing_key_backup=obj.tristate("iam_signing_key_backup"),
        clusters=tuple(clusters),
        services=tuple(services),
        support=support,
        file=file,
        escalate_after=_escalation(obj),
    )
    obj.done()
    return estate


ESCALATING_LEVELS = ("limited", "outage")


def _too_many(obj: Obj, key: str, limit: int) -> bool:
    """True (and a problem at the key) when the list under `key` is longer than `limit`: its
    entries are then not read, so the answer comes quickly whatever the size."""
    node = obj.items.get(key)
    if node is None or not isinstance(node.value, list) or len(node.value) <= limit:
        return False
    obj.seen.add(key)
    obj.src.problem(
        obj.line_of(key),
        f"{len(node.value)} {key}; tsbrunbook handles at most {limit} (split the estate)",
    )
    return True


def _tsb_version(obj: Obj) -> str:
    """`tsb_version`: a version such as 1.12 or 1.12.3 (read as written: `1.10` stays 1.10)."""
    value = obj.text("tsb_version", required=False, default="unknown") or "unknown"
    if value == "unknown" or VERSION_RE.fullmatch(value):
        return value
    shown = value if len(value) <= 40 else value[:40] + "…"
    obj.src.problem(
        obj.line_of("tsb_version"),
        f"estate: 'tsb_version' is '{shown}', expected a TSB version such as 1.12 or 1.12.3",
    )
    return "unknown"


# `management.fqdn`: a host name (or IPv4 address, or [IPv6]) with an optional :port — what goes
# between `https://` and the path. No scheme, path, spaces or user@ (credentials live in the keyring).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
FQDN_RE = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::(\d{{1,5}}))?$")
# `management.organization`: one path segment of /v2/organizations/<org>/status.
ORG_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def _fqdn(m: Obj) -> str:
    """`management.fqdn`, checked; `<fqdn>` (the probe's "not set") when absent or wrong."""
    value = m.text("fqdn", required=False)
    if not value or value == "<fqdn>":  # left as in a template: the probe says it is not set
        return "<fqdn>"
    match = FQDN_RE.match(value)
    port = int(match.group(1)) if match and match.group(1) else None
    if match and len(value.split(":")[0]) <= 253 and (port is None or 0 < port <= 65535):
        return value
    if "@" in value:
        # Never echo it: whatever sits before the @ may be a credential.
        m.src.problem(
            m.line_of("fqdn"),
            "management: 'fqdn' must not carry user@ or user:password@; give the host name only, e.g. tsb.example.com (credentials live in the keyring: `tsbrunbook secret set tsb-api-user`)",
        )
    elif "://" in value:
        m.src.problem(
            m.line_of("fqdn"),
            f"management: 'fqdn' is '{value[:60]}', a URL; give the host name only, without the scheme, e.g. tsb.example.com (or set management.status_url for a full URL)",
        )
    elif port is not None:
        m.src.problem(
            m.line_of("fqdn"),
            f"management: 'fqdn' has port {port}, which is out of range; give a port between 1 and 65535, e.g. tsb.example.com:8443",
        )
    else:
        m.src.problem(
            m.line_of("fqdn"),
            f"management: 'fqdn' is '{value[:60]}', not a host name; give a host name with an optional :port and no path or spaces, e.g. tsb.example.com or tsb.example.com:8443",
        )
    return "<fqdn>"


def _port(m: Obj, key: str, default: int) -> int:
    """A TCP port under `management` (1–65535); `default` when absent or wrong."""
    value = m.get(key, int, default)
    if not 0 < value <= 65535:
        m.src.problem(
            m.line_of(key),
            f"management: '{key}' is {value}, out of range; give a port between 1 and 65535, e.g. {default}",
        )
        return default
    return value


def _organization(m: Obj) -> str:
    """`management.organization`, checked; `<org>` (the probe's "not set") when absent or wrong."""
    value = m.text("organization", required=False)
    if not value or value == "<org>":
        return "<org>"
    if ORG_RE.match(value) and value not in (".", ".."):
        return value
    m.src.problem(
        m.line_of("organization"),
        f"management: 'organization' is '{value[:60]}', not a plain TSB organization name; use letters, digits, '.', '_' and '-' only, e.g. my-org",
    )
    return "<org>"


def _status_url(m: Obj) -> str | None:
    """`management.status_url`: replaces the probe's computed URL (a proxy, a test server)."""
    from urllib.parse import urlsplit

    url = m.get("status_url", str)
    if not url or invisible_character(url) is not None:
        return None  # a control character was reported with every other estate value
    if any(ch.isspace() for ch in url):
        m.src.problem(
            m.line_of("status_url"),
            "management: 'status_url' contains a space; give one http:// or https:// URL (encode a space in the path as %20)",
        )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        m.src.problem(
            m.line_of("status_url"),
            f"management: 'status_url' is '{url[:60]}', it must be an http:// or https:// URL",
        )
        return None
    if parts.username is not None or parts.password is not None:
        # Never echo it: whatever sits before the @ is a credential.
        m.src.problem(
            m.line_of("status_url"),
            "management: 'status_url' must not carry user:password@; credentials live in the keyring (`tsbrunbook secret set tsb-api-user`)",
        )
        return None
    return url


def _escalation(obj: Obj) -> dict[str, int]:
    """`escalation: {after: {outage: 15m, limited: 1h}}`: per-severity escalate_after overrides."""
    esc = obj.obj("escalation", "escalation", required=False)
    if esc is None:
        return {}
    out: dict[str, int] = {}
    after = esc.obj("after", "escalation after")
    if after is not None:
        for key in list(after.items):
            if key not in ESCALATING_LEVELS:
                after.seen.add(key)
                hint = did_you_mean(key, ESCALATING_LEVELS) or "expected one of " + ", ".join(
                    ESCALATING_LEVELS
                )
                after.src.problem(
                    after.line_of(key), f"escalation after: unknown severity '{key}'; {hint}"
                )
                continue
            seconds = _duration(after, key)
            if seconds == 0:
                after.src.problem(
                    after.line_of(key),
                    f"escalation after: '{key}' must be longer than 0 (leave it out to keep the runbook's value)",
                )
            elif seconds is not None:
                out[key] = seconds
        after.done()
    esc.done()
    return out


# ---------------------------------------------------------------------------------------------
# Whole files and the pack

TOP_KEYS = ("pack", "graph", "scenario", "readiness", "estate", "exercise")


def _read_document(path: str, text: str | None = None) -> tuple[YamlFile, str | None, Obj | None]:
    """Parse a file (or `text` read from it earlier) and find its one top-level key."""
    src = YamlFile(path)
    root = parse(read_text(path) if text is None else text, src)
    if root is None:
        return src, None, None
    if not isinstance(root.value, dict) or len(root.value) != 1:
        src.problem(root.line, f"expected exactly one top-level key, one of: {', '.join(TOP_KEYS)}")
        return src, None, None
    key, node = next(iter(root.value.items()))
    if key not in TOP_KEYS:
        src.problem(
            root.line,
            f"unknown document type '{key}'; {did_you_mean(key, TOP_KEYS) or 'expected one of ' + ', '.join(TOP_KEYS)}",
        )
        return src, None, None
    return src, key, Obj(node, src, key)


def _expect(path: str, key: str, text: str | None = None) -> tuple[YamlFile, Obj | None]:
    src, found, obj = _read_document(path, text)
    if found is not None and found != key:
        src.problem(1, f"expected a '{key}:' document here, found '{found}:'")
        return src, None
    return src, obj


class _PackParts:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.meta: dict[str, str] = {}
        self.graph: GraphSpec | None = None
        self.scenarios: list[Scenario] = []
        self.readiness: Readiness | None = None
        self.files: list[str] = []


def _read_pack(root: str) -> _PackParts:
    parts = _PackParts()
    if not os.path.isdir(root):
        parts.problems.append(Problem(root, 0, "runbook directory not found"))
        return parts
    pack_file = os.path.join(root, "pack.yaml")
    graph_file = os.path.join(root, "graph.yaml")
    readiness_file = os.path.join(root, "readiness.yaml")
    scenario_files = sorted(glob.glob(os.path.join(root, "scenarios", "*.yaml")))
    parts.files = [pack_file, graph_file, readiness_file, *scenario_files]
    for path in parts.files:
        try:
            if path == pack_file:
                src, obj = _expect(path, "pack")
                if obj is not None:
                    parts.meta = {
                        "name": obj.text("name"),
                        "title": obj.text("title"),
                        "version": obj.text("version"),
                    }
                    _sources(obj)
                    obj.done()
            elif path == graph_file:
                src, obj = _expect(path, "graph")
                if obj is not None:
                    parts.graph = read_graph(obj)
            elif path == readiness_file:
                src, obj = _expect(path, "readiness")
                if obj is not None:
                    parts.readiness = read_readiness(obj)
            else:
                src, obj = _expect(path, "scenario")
                if obj is not None:
                    scenario = read_scenario(obj, path)
                    stem = os.path.splitext(os.path.basename(path))[0]
                    if scenario.id and scenario.id != stem:
                        src.problem(
                            obj.line,
                            f"scenario id '{scenario.id}' does not match its file name '{stem}.yaml'",
                        )
                    parts.scenarios.append(scenario)
            parts.problems.extend(src.problems)
        except LoadError as exc:
            parts.problems.extend(exc.problems)
    if parts.graph is not None:
        parts.problems.extend(check_scenarios(parts.graph, parts.scenarios))
        if parts.readiness is not None:
            parts.problems.extend(
                _check_texts(readiness_file, parts.readiness.checklist, cluster_ok=False)
            )
    if not scenario_files:
        parts.problems.append(
            Problem(os.path.join(root, "scenarios"), 0, "no scenario files (*.yaml) found")
        )
    return parts


def _check_texts(file: str, checklist: Checklist, cluster_ok: bool) -> list[Problem]:
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
            problems.extend(_check_texts(sc.file, checklist, cluster_ok=per_cluster is not False))
    problems.extend(_check_dominance(graph, scenarios))
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


def pack_checksum(files: list[str]) -> str:
    digest = hashlib.sha256()
    for path in files:
        if os.path.isfile(path):
            digest.update(os.path.basename(path).encode())
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return "sha256:" + digest.hexdigest()[:16]


def load_pack(root: str | None = None) -> Pack:
    """Load and validate the runbook pack; raise LoadError on any problem."""
    root = root or runbooks_dir()
    parts = _read_pack(root)
    if parts.problems:
        raise LoadError(parts.problems)
    assert parts.graph is not None and parts.readiness is not None
    return Pack(
        name=parts.meta["name"],
        title=parts.meta["title"],
        version=parts.meta["version"],
        checksum=pack_checksum(parts.files),
        graph=parts.graph,
        scenarios=tuple(sorted(parts.scenarios, key=lambda s: s.id)),
        readiness=parts.readiness,
        root=root,
    )


def load_estate(path: str | None = None, text: str | None = None) -> Estate:
    """Load an estate file (the bundled demo when `path` is None), or `text` once read from it
    (an incident keeps the estate it started with); raise LoadError on any problem."""
    path = path or demo_estate_path()
    src, obj = _expect(path, "estate", text)
    estate = read_estate(obj, path) if obj is not None else None
    if src.problems or estate is None:
        raise LoadError(src.problems)
    return estate


def validate_paths(paths: list[str]) -> tuple[list[Problem], int]:
    """Lint runbook packs, scenario, readiness and estate files. Returns (problems, files checked)."""
    problems: list[Problem] = []
    checked = 0
    bundled_graph: GraphSpec | None = None

    def graph() -> GraphSpec | None:
        nonlocal bundled_graph
        if bundled_graph is None:
            bundled_graph = _read_pack(runbooks_dir()).graph
        return bundled_graph

    for path in paths:
        if os.path.isdir(path) and os.path.isfile(os.path.join(path, "pack.yaml")):
            parts = _read_pack(path)
            problems.extend(parts.problems)
            checked += len(parts.files)
            extra = sorted(
                glob.glob(os.path.join(path, "estates", "*.yaml"))
                + glob.glob(os.path.join(path, "exercises", "*.yaml"))
            )
            sub, n = validate_paths(extra)
            problems.extend(sub)
            checked += n
            continue
        if os.path.isdir(path):
            files = sorted(
                glob.glob(os.path.join(path, "**", "*.yaml"), recursive=True)
                + glob.glob(os.path.join(path, "**", "*.yml"), recursive=True)
            )
            if not files:
                problems.append(Problem(path, 0, "no YAML files in this directory"))
            sub, n = validate_paths(files)
            problems.extend(sub)
            checked += n
            continue
        checked += 1
        try:
            src, key, obj = _read_document(path)
        except LoadError as exc:
            problems.extend(exc.problems)
            continue
        if obj is not None:
            if key == "scenario":
                scenario = read_scenario(obj, path)
                g = graph()
                if g is not None:
                    src.problems.extend(check_scenarios(g, [scenario]))
            elif key == "estate":
                read_estate(obj, path)
            elif key == "readiness":
                readiness = read_readiness(obj)
                src.problems.extend(_check_texts(path, readiness.checklist, cluster_ok=False))
            elif key == "graph":
                read_graph(obj)
            elif key == "exercise":
                # Exercises are checked against the bundled pack and their own estate.
                from .exercise import check_exercise_file

                src.problems = check_exercise_file(path, load_pack())[1]
            elif key == "pack":
                obj.text("name"), obj.text("title"), obj.text("version")
                _sources(obj)
                obj.done()
        problems.extend(sorted(src.problems, key=lambda p: p.line))
    return problems, checked
