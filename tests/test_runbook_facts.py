"""The bundled runbooks claim only what the TSB operations facts sheet supports."""

from __future__ import annotations

import re

# The only endpoint behind the management FQDN that the facts sheet gives (front-envoy, IAM, API).
FQDN_URL = re.compile(r"https://\{\{fqdn\}\}(/[^\s'\"]*)")
DOCUMENTED_PATHS = {"/v2/organizations/{{org}}/status"}


def all_steps(pack):
    for scenario in pack.scenarios:
        for phase in ("recovery", "restoration"):
            for step in scenario.checklist(phase).steps:
                yield f"{scenario.id}/{phase}/{step.id}", step
    for step in pack.readiness.checklist.steps:
        yield f"readiness/{step.id}", step


def test_commands_call_only_the_documented_endpoint_behind_the_fqdn(pack):
    undocumented = []
    for ref, step in all_steps(pack):
        for text in (*step.commands, step.detail, step.verify):
            undocumented += [
                (ref, path) for path in FQDN_URL.findall(text) if path not in DOCUMENTED_PATHS
            ]
    assert not undocumented


def test_elasticsearch_metrics_checks_use_documented_checks(pack):
    scenario = pack.scenario("elasticsearch-failure")
    recovery = {s.id: s for s in scenario.recovery.steps}
    restoration = {s.id: s for s in scenario.restoration.steps}
    for step in (recovery["check-metrics-api"], restoration["check-dashboards"]):
        commands = " ".join(step.commands)
        assert "otel-collector" in commands and "/v2/organizations/{{org}}/status" in commands
        assert "promql" not in commands + step.detail + step.verify


def test_backup_schedule_is_not_placed_in_a_resource(pack):
    """The facts give backupCronSchedule's name and 02:00 default, not where it is set."""
    step = next(s for s in pack.readiness.checklist.steps if s.id == "postgres-embedded-backups")
    text = " ".join((step.title, step.detail, step.verify, *step.commands))
    assert "backupCronSchedule" in text and "02:00" in text
    assert "ManagementPlane" not in text and "managementplane" not in text
    assert "installation" in text and "Manage embedded PostgreSQL" in text
    assert any("managing-kubegres" in s.url for s in pack.readiness.sources)
