"""The bundled runbooks are safe to follow as written (issue 11).

Ordering rules on the loaded pack: the safety net comes before the irreversible step (a copy of
the database before DROP, the replica counts before the scale-down, fencing of the old plane
before a new one is installed and before DNS moves), a rebuilt workload cluster gets its control
plane before its workloads, every Helm install is pinned to the estate's chart version, and every
step that runs an obviously destructive command says so with `destructive`.

These read the pack through the loader, so they need the `destructive` step field and the new
placeholders of RUNBOOK-CONTRACT.md.
"""

from __future__ import annotations

import re

import pytest

from tsbrunbook.domain.exercise import find_exercise
from tsbrunbook.domain.runbooks.pack import load_pack

# The contract's patterns for commands that need `destructive: true` (DNS switches have no fixed
# command and are checked by step below).
DESTRUCTIVE_PATTERNS = (
    re.compile(r"\bDROP\s", re.IGNORECASE),
    re.compile(r"\bkubectl\b.*\bdelete\b"),
    re.compile(r"\bhelm\b.*\buninstall\b"),
    re.compile(r"--replicas[= ]0\b"),
    re.compile(r"\bdropdb\b"),
)
HELM_INSTALL = re.compile(r"\bhelm\b.*\b(install|upgrade)\b")
PER_CLUSTER_RUNBOOKS = (
    "edge-control-plane-failure",
    "connectivity-loss",
    "workload-cluster-failure",
)
REBUILDS = ("management-plane-failure", "management-cluster-failure")
# The guide's scenarios 2-6: new workloads may be only partly configured while they last.
CONTAINED = (
    "edge-control-plane-failure",
    "connectivity-loss",
    "central-control-plane-failure",
    *REBUILDS,
)
EDGE_TOKENS = ("otel-token", "oap-token", "ngac-token", "xcp-edge-central-auth-token")


@pytest.fixture(scope="module")
def pack():
    return load_pack()


def checklists(pack):
    """(label, scenario or None, steps) for every recovery, restoration and readiness list."""
    for scenario in pack.scenarios:
        for phase in ("recovery", "restoration"):
            yield f"{scenario.id}/{phase}", scenario, scenario.checklist(phase).steps
    yield "readiness", None, pack.readiness.checklist.steps


def all_steps(pack):
    for label, scenario, steps in checklists(pack):
        for step in steps:
            yield f"{label}/{step.id}", scenario, step


def external_postgres(steps):
    """The steps an estate with an external PostgreSQL sees."""
    return [s for s in steps if s.when.get("postgres", "external") == "external"]


def index_of(steps, predicate, what):
    found = [i for i, s in enumerate(steps) if predicate(s)]
    assert found, f"no step {what} in: {', '.join(s.id for s in steps)}"
    return found[0]


def commands(step) -> str:
    return "\n".join(step.commands)


# -------------------------------------------------------------------------------------------------
# PostgreSQL restoration


def test_postgres_restore_records_replicas_and_copies_before_it_drops(pack):
    steps = external_postgres(pack.scenario("postgres-failure").restoration.steps)
    record = index_of(
        steps,
        lambda s: "get deploy" in commands(s) and "replicas" in commands(s),
        "recording the replica counts",
    )
    scale_down = index_of(
        steps,
        lambda s: re.search(r"tsb iam --replicas[= ]0\b", commands(s)),
        "scaling tsb and iam to 0",
    )
    copy = index_of(
        steps,
        lambda s: "RENAME TO tsb_broken_" in commands(s) or "pg_dump" in commands(s),
        "taking a safety copy",
    )
    drop = index_of(
        steps,
        lambda s: re.search(r"\bDROP\s+DATABASE\b", commands(s), re.IGNORECASE),
        "dropping the database",
    )
    assert record < scale_down
    assert copy < drop
    safety = steps[copy]
    assert "RENAME TO tsb_broken_" in commands(safety) and "pg_dump" in commands(safety)
    assert "dump complete" in safety.verify


def test_postgres_restore_loads_as_tsb_stopping_on_error_and_restores_recorded_replicas(pack):
    steps = external_postgres(pack.scenario("postgres-failure").restoration.steps)
    load = next(s for s in steps if "psql" in commands(s) and "tsb_backup.sql" in commands(s))
    assert "-U tsb" in commands(load) and "ON_ERROR_STOP=1" in commands(load)
    scale_up = index_of(
        steps,
        lambda s: "scale deploy" in commands(s) and "--replicas 0" not in commands(s),
        "scaling back up",
    )
    assert "--replicas 1" not in commands(steps[scale_up]), (
        "restore the recorded counts, not a fixed 1"
    )
    resync = index_of(
        steps, lambda s: "tctl x status cluster {{cluster}}" in commands(s), "checking each cluster"
    )
    assert scale_up < resync
    assert "backup" in steps[resync].detail and "Git" in steps[resync].detail


def test_embedded_postgres_restore_is_left_to_support_and_warns_about_in_cluster_backups(pack):
    scenario = pack.scenario("postgres-failure")
    embedded = [s for s in scenario.restoration.steps if s.when.get("postgres") == "embedded"]
    assert embedded and any(s.escalation for s in embedded)
    text = " ".join(s.detail for s in embedded)
    assert "Service Express" in text and "with the cluster" in text
    assert not any(p.search(commands(s)) for s in embedded for p in DESTRUCTIVE_PATTERNS)


# -------------------------------------------------------------------------------------------------
# Management plane and management cluster rebuilds


@pytest.mark.parametrize("scenario_id", REBUILDS)
def test_rebuild_fences_the_old_plane_before_install_and_dns(pack, scenario_id):
    steps = pack.scenario(scenario_id).restoration.steps
    fence = index_of(
        steps,
        lambda s: re.search(r"scale deploy .*tsb iam --replicas 0", commands(s)),
        "fencing the old plane",
    )
    assert re.search(r"scale deploy .*central --replicas 0", commands(steps[fence])), (
        "central runs beside them"
    )
    install = index_of(
        steps, lambda s: HELM_INSTALL.search(commands(s)), "installing the new plane"
    )
    dns = index_of(steps, lambda s: s.id == "update-dns", "switching DNS")
    assert fence < install and fence < dns
    assert steps[fence].destructive and steps[dns].destructive
    revoke = index_of(
        steps, lambda s: "database access" in s.title, "revoking the old plane's database access"
    )
    assert revoke < install and steps[revoke].destructive
    assert "site-specific" in steps[revoke].detail


@pytest.mark.parametrize("scenario_id", REBUILDS)
def test_rebuild_restores_every_secret_the_new_plane_needs_stripped_of_cluster_metadata(
    pack, scenario_id
):
    steps = pack.scenario(scenario_id).restoration.steps
    restore = next(s for s in steps if s.id == "restore-secrets")
    text = commands(restore) + restore.detail
    for name in (
        "iam-signing-key",
        "tsb-iam-jwks",
        "iam-oidc-client-secret",
        "ldap-credentials",
        "custom-host-ca",
    ):
        assert name in text, name
    for field in ("uid", "resourceVersion", "ownerReferences", "creationTimestamp"):
        assert f".metadata.{field}" in commands(restore), field
    assert "kid" in restore.detail and "kid" in commands(restore)
    install = index_of(
        steps, lambda s: HELM_INSTALL.search(commands(s)), "installing the new plane"
    )
    assert steps.index(restore) < install


# -------------------------------------------------------------------------------------------------
# Workload cluster rebuild


def test_workload_cluster_rebuild_brings_control_plane_before_workloads_and_traffic(pack):
    ids = [s.id for s in pack.scenario("workload-cluster-failure").restoration.steps]
    order = [
        "take-out-of-rotation",
        "rebuild-cluster",
        "reinstall-edge-control-plane",
        "reintroduce-cluster",
        "check-config-synced",
        "deploy-workloads",
        "back-into-rotation",
    ]
    assert all(step in ids for step in order), ids
    assert [ids.index(step) for step in order] == sorted(ids.index(step) for step in order)


def test_workload_cluster_failure_tells_the_owners_of_services_that_live_only_there(pack):
    scenario = pack.scenario("workload-cluster-failure")
    for checklist in (scenario.recovery, scenario.restoration):
        assert any("{{sole_services}}" in s.detail for s in checklist.steps), checklist.phase


# -------------------------------------------------------------------------------------------------
# Rules over the whole pack


def test_every_helm_install_or_upgrade_is_pinned_to_the_estate_chart_version(pack):
    installs = [
        (ref, c)
        for ref, _, step in all_steps(pack)
        for c in step.commands
        if HELM_INSTALL.search(c)
    ]
    assert installs, "the rebuilds install the management plane with Helm"
    assert [ref for ref, c in installs if "--version {{helm_chart_version}}" not in c] == []


def test_every_step_running_a_destructive_command_is_flagged(pack):
    unflagged = [
        (ref, c)
        for ref, _, step in all_steps(pack)
        for c in step.commands
        if any(p.search(c) for p in DESTRUCTIVE_PATTERNS) and not step.destructive
    ]
    assert unflagged == []


def test_dns_switch_overs_are_flagged_by_hand(pack):
    switches = [(ref, step) for ref, _, step in all_steps(pack) if "DNS record" in step.title]
    assert switches
    assert [ref for ref, step in switches if not step.destructive] == []


def test_every_destructive_step_has_a_reason_follows_a_safety_step_and_cites_a_source(pack):
    seen = 0
    for label, scenario, steps in checklists(pack):
        for i, step in enumerate(steps):
            if not step.destructive:
                continue
            seen += 1
            assert step.destructive_reason and step.destructive_reason.strip(), f"{label}/{step.id}"
            assert any(not s.destructive for s in steps[:i]), (
                f"{label}/{step.id} has no safety step before it"
            )
            sources = scenario.sources if scenario else pack.readiness.sources
            assert sources, f"{label}: no sources"
    assert seen >= 10


def test_front_envoy_is_always_reached_on_the_estate_port(pack):
    wrong = []
    for ref, _, step in all_steps(pack):
        for text in (*step.commands, step.detail, step.verify):
            wrong += [
                (ref, m)
                for m in re.findall(r"https://\{\{fqdn\}\}(?!:\{\{front_envoy_port\}\})\S*", text)
            ]
            wrong += [(ref, m) for m in re.findall(r"\bnc\b.*\b(8443|443)\b", text)]
    assert wrong == []


def test_estate_wide_steps_name_clusters_through_placeholders(pack):
    left = [
        ref
        for ref, _, step in all_steps(pack)
        for c in step.commands
        if "<workload-context>" in c or "<cluster-name>" in c
    ]
    assert left == []


@pytest.mark.parametrize("scenario_id", CONTAINED)
def test_scenarios_two_to_six_start_with_containment_and_communication(pack, scenario_id):
    first = [s.id for s in pack.scenario(scenario_id).recovery.steps[:3]]
    assert sorted(first) == ["freeze-config-changes", "hold-new-rollouts", "tell-affected-teams"]
    for step in pack.scenario(scenario_id).recovery.steps[:3]:
        assert step.verify


@pytest.mark.parametrize("scenario_id", PER_CLUSTER_RUNBOOKS)
def test_per_cluster_runbooks_offer_the_documented_token_reset(pack, scenario_id):
    steps = [s for s in pack.scenario(scenario_id).recovery.steps if "delete secret" in commands(s)]
    assert len(steps) == 1
    reset = steps[0]
    assert reset.destructive and "token" in reset.detail and "authentication" in reset.detail
    delete, check = reset.commands[0], reset.commands[-1]
    assert all(t in delete for t in EDGE_TOKENS) and all(t in check for t in EDGE_TOKENS)
    assert "get secret" in check and "60" in reset.detail


def test_queued_changes_are_checked_with_tctl_status_not_istio_objects(pack):
    for ref, _, step in all_steps(pack):
        assert "virtualservices.networking.istio.io" not in commands(step), ref
    queued = [step for ref, _, step in all_steps(pack) if "queued" in step.title.lower()]
    assert queued and all("tctl x status <kind> <name>" in commands(s) for s in queued)
    assert all("READY" in s.verify and "ACCEPTED" in s.detail for s in queued)


def test_support_escalations_come_with_the_diagnostics_support_asks_for(pack):
    for label, _, steps in checklists(pack):
        escalations = [i for i, s in enumerate(steps) if s.escalation]
        if not escalations:
            continue
        first = escalations[0]
        gathered = [s for s in steps[: first + 1] if "cluster-info dump" in commands(s)]
        assert gathered, f"{label}: no diagnostics gathered at the first escalation point"


def test_unverified_tctl_commands_are_left_out(pack):
    for ref, _, step in all_steps(pack):
        text = commands(step) + step.detail
        assert "es-validate" not in text and "tctl collect" not in text, ref


def test_readiness_records_chart_versions_and_values_for_every_control_plane(pack):
    text = "\n".join(c for s in pack.readiness.checklist.steps for c in s.commands)
    assert "helm --kube-context {{mgmt_context}} list" in text
    assert "helm --kube-context {{cluster_context}} list" in text
    assert "helm --kube-context {{cluster_context}} get values" in text
    backed_up = " ".join(s.detail + commands(s) for s in pack.readiness.checklist.steps)
    for name in (
        "tsb-iam-jwks",
        "iam-oidc-client-secret",
        "ldap-credentials",
        "custom-host-ca",
        "kid",
    ):
        assert name in backed_up, name


def test_connectivity_loss_does_not_send_the_reader_to_a_reinstall(pack):
    text = pack.scenario("connectivity-loss").restoration.not_documented or ""
    assert text and "reinstall" not in text.lower() and "restoration in that runbook" not in text


# -------------------------------------------------------------------------------------------------
# Exercises


def test_management_plane_rebuild_exercise_takes_central_down_with_the_namespace(pack):
    exercise = find_exercise("management-plane-rebuild", pack)
    down = {c for inject in exercise.injects for c in inject.down}
    assert {"management-plane", "central-control-plane"} <= down
    central = next(i for i in exercise.injects if "central-control-plane" in i.down)
    assert central.question, "marking central down asks for a new prediction"


def test_cascade_exercise_does_not_reward_a_rebuild_for_a_recoverable_cause(pack):
    exercise = find_exercise("cascade", pack)
    refs = [e.ref for inject in exercise.injects for e in inject.expectations]
    assert not [ref for ref in refs if ref.startswith("management-cluster-failure/restoration/")]
