"""`graph.yaml`: operations, component kinds, what hosts what, dependencies, and their checks.

This reads the graph *spec* (`model.GraphSpec`) and checks it on its own: known kinds, unique ids,
no cycle in `hosts`. The estate's component graph built from it is `domain/graph.py`.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from ..errors import did_you_mean
from ..model import Dependency, GraphSpec, HostRule, Kind, Operation
from .fields import PLACEMENTS, read_sources, report_duplicates
from .mapping import Obj
from .textrules import check_id
from .yamlsrc import Source as YamlFile

CHANNELS = ("config", "service-discovery", "metrics", "management-api", "storage")


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
    sources = read_sources(obj)
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
    report_duplicates(
        src, [(k.id, ln) for k, ln in zip(spec.kinds, lines["kind"], strict=True)], "kind"
    )
    report_duplicates(
        src, [(o.id, ln) for o, ln in zip(spec.operations, lines["op"], strict=True)], "operation"
    )
    by_id = {k.id: k for k in spec.kinds}
    for op, ln in zip(spec.operations, lines["op"], strict=True):
        if op.entry not in by_id:
            src.problem(
                ln,
                f"operation '{op.id}': unknown entry kind '{op.entry}'; {did_you_mean(op.entry, kind_ids)}",
            )
    for rule, ln in zip(spec.hosts, host_lines, strict=True):
        for ref in (rule.host, rule.hosted):
            if ref not in by_id:
                src.problem(
                    ln,
                    f"hosts entry: unknown kind '{ref}'; {did_you_mean(ref, kind_ids)}".rstrip(
                        "; "
                    ),
                )
        if (
            rule.host in by_id
            and rule.hosted in by_id
            and by_id[rule.host].per_cluster
            and not by_id[rule.hosted].per_cluster
        ):
            src.problem(
                ln,
                f"hosts entry: a per-cluster kind ({rule.host}) cannot host an estate-wide one ({rule.hosted})",
            )
    for dep, ln in zip(spec.dependencies, dep_lines, strict=True):
        for named in (dep.source, dep.target, dep.via):
            if named is not None and named not in by_id:
                src.problem(
                    ln,
                    f"dependency: unknown kind '{named}'; {did_you_mean(named, kind_ids)}".rstrip(
                        "; "
                    ),
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
                for r, ln in zip(spec.hosts, host_lines, strict=True)
                if r.host in exc.args[1] and r.hosted in exc.args[1]
            ),
            line,
        )
        src.problem(first, f"cycle in 'hosts': {cycle}")
