"""The data model: levels, operations, component kinds, scenarios, checklists, estates.

Everything here is plain, immutable data built by the loader; the engine and the faces (CLI,
TUI) only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Level(IntEnum):
    """How badly an operation is hit. Ordered, so `max()` gives the worst."""

    OK = 0
    LIMITED = 1
    OUTAGE = 2

    @property
    def id(self) -> str:
        return ("ok", "limited", "outage")[self]

    @property
    def glyph(self) -> str:
        return ("✅", "⚠️", "❌")[self]

    @property
    def word(self) -> str:
        """A short human word that reads without colour or glyph."""
        return ("OK", "LIMITED", "OUTAGE")[self]

    @classmethod
    def parse(cls, text: str) -> Level:
        return {"ok": cls.OK, "limited": cls.LIMITED, "outage": cls.OUTAGE}[text]


LEVEL_IDS = ("ok", "limited", "outage")
MANAGEMENT_SCOPE = "management"


@dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True)
class Operation:
    id: str
    title: str
    short: str
    description: str
    entry: str  # the component kind through which this operation reaches the platform
    all_clusters_out_is_outage: bool
    # The dependency channels the operation travels (config, metrics …): the reason paths prefer
    # them. Empty: no preference, any dependency path.
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    id: str
    title: str
    scope: str  # "management" (one per estate) or "cluster" (one per workload cluster)
    markable: bool
    description: str

    @property
    def per_cluster(self) -> bool:
        return self.scope == "cluster"


@dataclass(frozen=True)
class HostRule:
    host: str
    hosted: str
    placement: str | None = None  # only when the estate places the hosted data store there


@dataclass(frozen=True)
class Dependency:
    source: str
    target: str
    channel: str
    via: str | None
    description: str


@dataclass(frozen=True)
class GraphSpec:
    operations: tuple[Operation, ...]
    kinds: tuple[Kind, ...]
    hosts: tuple[HostRule, ...]
    dependencies: tuple[Dependency, ...]
    sources: tuple[Source, ...]

    def kind(self, kind_id: str) -> Kind:
        return next(k for k in self.kinds if k.id == kind_id)

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.operations)


@dataclass(frozen=True)
class OperationImpact:
    """The guide's rating of one operation in one scenario."""

    level: Level
    scopes: dict[str, Level]  # affected/other-clusters/management or clusters/management
    explanation: str


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    detail: str
    verify: str
    commands: tuple[str, ...] = ()
    escalation: str | None = None  # why Tetrate support is needed; None if it is not
    when: dict[str, str] = field(default_factory=dict)  # {"postgres": "embedded"} …
    fact: str | None = None  # readiness only: the estate fact this step establishes
    # Irreversible or outage-making (DROP DATABASE, deleting secrets, scaling to 0 …): the TUI
    # shows ⚠ and the reason, and asks before it records the step as done.
    destructive: bool = False
    destructive_reason: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Checklist:
    phase: str  # recovery | restoration | readiness
    summary: str
    steps: tuple[Step, ...]
    not_documented: str | None = None  # why there are no steps (the source has none)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    trigger: str  # the component kind whose failure matches this scenario
    summary: str
    sources: tuple[Source, ...]
    queues_changes: str  # affected-cluster | all-clusters | none
    escalate_after: int | None  # seconds
    impact: dict[str, OperationImpact]
    recovery: Checklist
    restoration: Checklist
    file: str = ""
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # key → line, for problems

    def line(self, key: str) -> int:
        return self.lines.get(key) or self.lines.get("id", 1)

    def checklist(self, phase: str) -> Checklist:
        return self.recovery if phase == "recovery" else self.restoration

    @property
    def severity(self) -> Level:
        """The guide's worst overall rating in this scenario (what the estate's escalation
        overrides are keyed by)."""
        return max((i.level for i in self.impact.values()), default=Level.OK)


@dataclass(frozen=True)
class Readiness:
    title: str
    summary: str
    sources: tuple[Source, ...]
    checklist: Checklist


@dataclass(frozen=True)
class Pack:
    """The runbook pack: graph, scenarios and readiness, versioned together."""

    name: str
    title: str
    version: str
    checksum: str
    graph: GraphSpec
    scenarios: tuple[Scenario, ...]
    readiness: Readiness
    root: str

    def scenario(self, scenario_id: str) -> Scenario:
        return next(s for s in self.scenarios if s.id == scenario_id)


@dataclass(frozen=True)
class Datastore:
    placement: str  # external | embedded (in the management cluster)
    redundant: bool | None  # None: unknown
    backups: bool | None


@dataclass(frozen=True)
class ManagementSide:
    cluster: str
    region: str
    context: str
    fqdn: str
    organization: str
    namespace: str
    status_url: str | None = (
        None  # replaces https://{fqdn}/v2/organizations/{org}/status for the probe
    )
    front_envoy_port: int = 8443  # the port front-envoy listens on (8443 by default, often 443)
    helm_chart_version: str = (
        ""  # the TSB Helm chart version; the loader fills in tsb_version when absent
    )


@dataclass(frozen=True)
class WorkloadCluster:
    name: str
    region: str
    context: str


@dataclass(frozen=True)
class Service:
    name: str
    clusters: tuple[str, ...]


@dataclass(frozen=True)
class Contact:
    name: str
    contact: str


@dataclass(frozen=True)
class Support:
    vendor: str
    contact: str
    account: str
    severity: str
    internal: tuple[Contact, ...]


DEFAULT_SUPPORT = Support(
    vendor="Tetrate",
    contact="https://tetrate.io/contact-us/",
    account="",
    severity="",
    internal=(),
)


@dataclass(frozen=True)
class Estate:
    name: str
    tsb_version: str
    management: ManagementSide
    datastores: dict[str, Datastore]
    iam_signing_key_backup: bool | None
    clusters: tuple[WorkloadCluster, ...]
    services: tuple[Service, ...]
    support: Support
    file: str = ""
    # `escalation: after:` — severity (a level id: limited, outage) → seconds; it replaces the
    # `escalate_after` of every scenario of that severity that has one.
    escalate_after: dict[str, int] = field(default_factory=dict)

    @property
    def cluster_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.clusters)

    def cluster(self, name: str) -> WorkloadCluster:
        return next(c for c in self.clusters if c.name == name)

    def fact(self, name: str) -> bool | None:
        """A readiness fact by its dotted name (one of READINESS_FACTS: `postgres.backups`,
        `iam_signing_key_backup` …)."""
        if name == "iam_signing_key_backup":
            return self.iam_signing_key_backup
        store, _, attr = name.partition(".")
        datastore = self.datastores[store]
        if attr == "redundant":
            return datastore.redundant
        if attr == "backups":
            return datastore.backups
        raise KeyError(f"not a readiness fact: {name}")


READINESS_FACTS = (
    "postgres.redundant",
    "postgres.backups",
    "iam_signing_key_backup",
    "elasticsearch.redundant",
    "elasticsearch.backups",
)


@dataclass(frozen=True)
class Component:
    """One component of an estate: a singleton (`postgres`) or per cluster (`edge-control-plane/eu-west`)."""

    id: str
    kind: str
    cluster: str | None
    title: str
    markable: bool

    @property
    def scope(self) -> str:
        return self.cluster or MANAGEMENT_SCOPE


def component_id(kind: str, cluster: str | None) -> str:
    return f"{kind}/{cluster}" if cluster else kind
