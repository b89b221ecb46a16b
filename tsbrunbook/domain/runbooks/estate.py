"""An estate file: management side, datastores, clusters, services, support, escalation.

`load_estate()` is the entry point; every problem of the file is reported, not only the first.
The management side's address fields are read in `management`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..errors import LoadError, did_you_mean
from ..model import (
    DEFAULT_SUPPORT,
    MANAGEMENT_SCOPE,
    Contact,
    Datastore,
    Estate,
    Service,
    Support,
    WorkloadCluster,
)
from . import cache
from .documents import expect_document
from .fields import DATASTORES, PLACEMENTS, read_duration, report_duplicates
from .management import read_management
from .mapping import Obj
from .paths import demo_estate_path
from .textfile import read_text
from .textrules import check_id, refuse_invisible

# Estate size: far above any real estate (the benchmarks use 1,000 clusters and 2,000 services),
# low enough that loading, the graph and the TUI stay quick. The message names the number.
MAX_CLUSTERS = 5_000
MAX_SERVICES = 20_000
# Free text in an estate that may span lines; every other estate value is one line.
ESTATE_MULTILINE = frozenset({"support.severity"})
VERSION_RE = re.compile(r"v?[0-9]{1,4}(?:\.[0-9]{1,4}){1,3}(?:[-+][0-9A-Za-z][0-9A-Za-z.-]{0,39})?")
# The severities the estate may give its own escalate_after for.
ESCALATING_LEVELS = ("limited", "outage")


def load_estate(
    path: str | None = None, text: str | None = None, *, use_cache: bool = True
) -> Estate:
    """Load an estate file (the bundled demo when `path` is None), or `text` once read from it
    (an incident keeps the estate it started with); raise LoadError on any problem."""
    path = path or demo_estate_path()
    if text is None:
        text = read_text(path)  # (a file that cannot be read: LoadError, as before)
    key = cache.estate_key(path, text) if use_cache else None
    known: Estate | None = cache.cached("estate", path, key) if key is not None else None
    if known is not None:
        return known
    src, obj = expect_document(path, "estate", text)
    estate = read_estate(obj, path) if obj is not None else None
    if src.problems or estate is None:
        raise LoadError(src.problems)
    if key is not None:
        cache.store("estate", path, key, estate)
    return estate


def read_estate(obj: Obj, file: str) -> Estate:
    """The estate, every problem reported. Every text value is refused if it holds a control or
    invisible character (only `support.severity` may span lines); shell metacharacters are
    allowed here because values are shell-quoted where commands substitute them."""
    src = obj.src
    refuse_invisible(obj.node_read, src, "estate", ESTATE_MULTILINE)
    management = read_management(obj.obj("management", "management"))
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
    report_duplicates(src, cluster_lines, "cluster")
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
    report_duplicates(src, service_lines, "service")
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
            seconds = read_duration(after, key)
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
