"""Every place a step is shown or exported agrees: the same shell-quoted commands, the
destructive flag and its reason, and `escalate_after` labelled as site policy."""

from __future__ import annotations

import json
import shlex
import shutil
from datetime import timedelta
from pathlib import Path

from tests.test_incident_export import parse
from tsbrunbook.domain import template
from tsbrunbook.domain.brief import support_brief
from tsbrunbook.domain.incident_json import incident_dict
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.domain.runbooks.pack import load_pack
from tsbrunbook.domain.runbooks.paths import demo_estate_path, runbooks_dir
from tsbrunbook.workspace import Workspace

# The reason as the pack states it, so rewording the runbook does not break these tests.
DROP_REASON = next(
    s
    for s in load_pack().scenario("postgres-failure").restoration.steps
    if s.id == "recreate-database"
).destructive_reason
assert DROP_REASON

HOSTILE_CONTEXT = "gke-eu-west; touch /tmp/x #"
HOSTILE_MGMT = "mgmt $(touch /tmp/y) `id` && echo | tee"
PG = "postgres-failure"


def hostile_estate(tmp_path: Path) -> str:
    text = Path(demo_estate_path()).read_text()
    text = text.replace("context: gke-eu-west", f"context: {json.dumps(HOSTILE_CONTEXT)}")
    text = text.replace("context: gke-tsb-mgmt", f"context: {json.dumps(HOSTILE_MGMT)}")
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    return str(path)


def fences(markdown: str) -> list[str]:
    """Every line of every fenced code block."""
    return [line for t in parse(markdown) if t.type == "fence" for line in t.content.splitlines()]


def test_json_and_markdown_checklists_show_the_same_quoted_commands(cli, tmp_path, pack):
    estate_file = hostile_estate(tmp_path)
    estate = load_estate(estate_file)
    result = cli(
        "checklist",
        "edge-control-plane-failure",
        "--cluster",
        "eu-west",
        "--estate",
        estate_file,
        "--format",
        "json",
    )
    assert result.rc == 0, result.err
    steps = json.loads(result.out)["steps"]
    json_commands = [c for s in steps for c in s["commands"]]
    scenario = pack.scenario("edge-control-plane-failure")
    assert json_commands == [
        c for s in scenario.recovery.steps for c in template.commands(s, estate, "eu-west")
    ]
    assert (
        "kubectl --context 'gke-eu-west; touch /tmp/x #' get pod -n istio-system" in json_commands
    )
    for command in json_commands:
        if "--context" in command:
            args = shlex.split(command)
            assert args[args.index("--context") + 1] in (HOSTILE_CONTEXT, HOSTILE_MGMT), command
    markdown = cli(
        "checklist", "edge-control-plane-failure", "--cluster", "eu-west", "--estate", estate_file
    )
    assert markdown.rc == 0
    assert fences(markdown.out) == json_commands


def test_the_incident_export_shows_the_same_quoted_commands(tmp_path, cli):
    estate_file = hostile_estate(tmp_path)
    session = Workspace().start("hostile estate", estate_file)
    session.mark_down(["postgres"])
    exported = fences(incident_markdown(session.state, session.engine, full=True))
    result = cli("checklist", PG, "--estate", estate_file, "--format", "json")
    restoration = cli("checklist", PG, "--restoration", "--estate", estate_file, "--format", "json")
    shown = [
        c for r in (result, restoration) for s in json.loads(r.out)["steps"] for c in s["commands"]
    ]
    assert exported == shown
    quoted_mgmt = shlex.quote(HOSTILE_MGMT)
    assert any(f"--context {quoted_mgmt} " in c for c in exported)
    assert not any(f"--context {HOSTILE_MGMT}" in c for c in exported)


def test_destructive_steps_carry_flag_and_reason_in_json_and_markdown(cli):
    steps = json.loads(cli("checklist", PG, "--restoration", "--format", "json").out)["steps"]
    by_id = {s["id"]: s for s in steps}
    assert by_id["recreate-database"]["destructive"] is True
    assert DROP_REASON in by_id["recreate-database"]["destructive_reason"]
    assert (
        by_id["load-backup"]["destructive"] is False
        and by_id["load-backup"]["destructive_reason"] is None
    )
    markdown = cli("checklist", PG, "--restoration").out
    assert f"⚠️ **DESTRUCTIVE:** {DROP_REASON}" in markdown
    assert markdown.count("DESTRUCTIVE") == sum(1 for s in steps if s["destructive"])


def test_incident_exports_mark_destructive_steps():
    session = Workspace().start("pg down")
    session.mark_down(["postgres"])
    session.set_step(f"{PG}/restoration/recreate-database", "done", "")
    exported = incident_markdown(session.state, session.engine)
    assert f"⚠️ **DESTRUCTIVE:** {DROP_REASON}" in exported
    shown = json.loads(json.dumps(incident_dict(session.state, session.engine)))
    restoration = next(v for v in shown["checklists"] if v["phase"] == "restoration")
    step = next(s for s in restoration["steps"] if s["id"] == "recreate-database")
    assert step["destructive"] is True and DROP_REASON in step["destructive_reason"]
    brief = support_brief(session.state, session.engine)
    assert "⚠️ destructive" in next(
        line for line in brief.splitlines() if "recreate-database" in line
    )


def test_escalate_after_is_labelled_site_policy_everywhere(cli, tmp_path):
    mp = "management-plane-failure"
    label = "escalate after 30m (site policy, not from the guide)"
    assert label in cli("checklist", mp).out
    shown = json.loads(cli("checklist", mp, "--format", "json").out)
    assert shown["escalate_after"] == {"seconds": 1800, "set_by": "runbook", "label": label}
    assert (
        json.loads(
            cli(
                "checklist", "workload-cluster-failure", "--cluster", "eu-west", "--format", "json"
            ).out
        )["escalate_after"]
        is None
    )
    session = Workspace().start("mp down")
    session.mark_down(["management-plane"])
    from tsbrunbook.domain.escalation import record_expired_timers

    record_expired_timers(session, session.state.instances[mp] + timedelta(minutes=31))
    exported = incident_markdown(session.state, session.engine)
    assert label in exported
    assert "escalate\\_after (site policy) passed" in exported
    brief = support_brief(session.state, session.engine)
    assert "Escalation timer (site policy)" in brief
    # The estate's own override says where it comes from.
    custom = tmp_path / "custom.yaml"
    custom.write_text(
        Path(demo_estate_path())
        .read_text()
        .replace("  support:\n", "  escalation: {after: {outage: 15m}}\n  support:\n", 1)
    )
    assert (
        "escalate after 15m (site policy set in the estate, not from the guide)"
        in cli("checklist", mp, "--estate", str(custom)).out
    )


def test_per_cluster_commands_of_an_estate_wide_checklist_expand_in_the_cli(
    cli, tmp_path, monkeypatch
):
    """A pack whose estate-wide step uses {{cluster_context}} in a command validates and prints
    one line per workload cluster."""
    root = tmp_path / "runbooks"
    shutil.copytree(runbooks_dir(), root)
    path = root / "scenarios" / "management-plane-failure.yaml"
    path.write_text(
        path.read_text().replace(
            "--context <workload-context> get secrets", "--context {{cluster_context}} get secrets"
        )
    )
    monkeypatch.setenv("TSBRUNBOOK_RUNBOOKS", str(root))
    assert cli("validate", str(root)).rc == 0
    steps = json.loads(
        cli("checklist", "management-plane-failure", "--restoration", "--format", "json").out
    )["steps"]
    commands = next(s for s in steps if s["id"] == "reissue-edge-tokens")["commands"]
    contexts = [shlex.split(c)[2] for c in commands if " get secrets " in c]
    assert contexts == ["gke-eu-west", "gke-eu-central", "eks-us-east", "aks-ap-south"]
    # …but not in the title, detail or verify of an estate-wide step.
    path.write_text(
        path.read_text().replace("Re-issue edge tokens if", "Re-issue {{cluster}} edge tokens if")
    )
    result = cli("validate", str(root))
    assert (
        result.rc == 2
        and "unknown placeholder {{cluster}} (only per-cluster scenarios have a cluster"
        in result.err
    )
