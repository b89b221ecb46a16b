"""The support case brief, read back with a real Markdown parser, and `tsbrunbook incident brief`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.test_incident_export import HOSTILE, headings, parse, plain, tables
from tsbrunbook.domain.brief import support_brief
from tsbrunbook.domain.escalation import record_expired_timers
from tsbrunbook.domain.runbooks.paths import demo_estate_path
from tsbrunbook.workspace import Workspace

# Every test once on the local SQLite store and once on PostgreSQL (TSBRUNBOOK_DATABASE_URL).
pytestmark = pytest.mark.usefixtures("incident_store")

MP = "management-plane-failure"
SECTIONS = [
    "Support contact",
    "Estate",
    "What is down, since when",
    "Impact",
    "Matched scenarios",
    "Steps worked",
    "Escalation points",
    "Readiness facts",
    "Timeline",
]


def worked_incident(estate_file: str | None = None):
    s = Workspace().start("API and UI unreachable", estate_file)
    s.mark_down(["management-plane"])
    s.set_step(f"{MP}/recovery/check-mp-pods", "fail", "iam in CrashLoopBackOff")
    s.set_step(
        f"{MP}/recovery/check-api-health", "skip", "front-envoy unreachable from the bastion"
    )
    s.set_step(f"{MP}/recovery/check-config-intact", "block", "")
    s.set_step(f"{MP}/recovery/check-cluster-status", "done", "all READY")
    s.raise_escalation(f"{MP}/restoration/engage-tetrate-support", "TS-4711")
    record_expired_timers(s, s.state.instances[MP] + timedelta(minutes=31))
    return s


def bullets(tokens) -> list[str]:
    return [
        plain(tokens[i + 2])
        for i, t in enumerate(tokens)
        if t.type == "list_item_open" and tokens[i + 1].type == "paragraph_open"
    ]


def test_brief_has_every_section_and_the_facts_support_needs():
    s = worked_incident()
    now = s.state.instances[MP] + timedelta(minutes=45)
    text = support_brief(s.state, s.engine, now)
    tokens = parse(text)
    assert headings(tokens, "h1") == [f"Support case brief: {s.id}: API and UI unreachable"]
    assert headings(tokens, "h2") == SECTIONS
    items = bullets(tokens)
    for expected in (
        "Vendor: Tetrate, https://tetrate.io/contact-us/",
        "TSB version: 1.12",
        "Management plane: cluster tsb-mgmt (europe-west3), FQDN tsb.demo.example.com, organization demo, namespace tsb",
        "Workload clusters (4): eu-west, eu-central, us-east, ap-south",
        "PostgreSQL: external; redundant: yes; backups: yes",
        "ElasticSearch: external; redundant: no; backups: unknown",
        "PostgreSQL backups: yes",
        "Backup of the iam-signing-key secret: yes",
        "ElasticSearch backups: unknown",
        "Internal: Platform on-call, #platform-oncall",
    ):
        assert expected in items, expected
    down, impact, scenarios, escalations, timeline = (
        tables(tokens)[0],
        tables(tokens)[1],
        tables(tokens)[2],
        tables(tokens)[3],
        tables(tokens)[-1],
    )
    assert down[1][0] == "management-plane" and down[1][2] == "still down"
    assert impact[0][:3] == ["Operation", "Overall", "management"]
    assert impact[4][:3] == ["Management operations", "❌ OUTAGE", "❌ OUTAGE"]
    assert scenarios[1][:2] == ["The management plane fails", MP] and scenarios[1][3] == "yes"
    assert scenarios[1][4].startswith("expired ")
    assert escalations[1] == [
        f"{MP}/restoration/engage-tetrate-support",
        "Engage Tetrate support and check prerequisites",
        escalations[1][2],
        "TS-4711",
    ]
    assert escalations[1][2].startswith("✅ ") and all(
        row[2] == "not raised" for row in escalations[2:]
    )
    worked = [i for i in items if f"({MP}/recovery/" in i]
    assert [w.split(":")[0].split(" ")[0:2] for w in worked] == [
        ["❌", "FAILED"],
        ["⏭️", "SKIPPED"],
        ["⛔", "BLOCKED"],
        ["✅", "done"],
    ]
    assert "iam in CrashLoopBackOff" in text and "front-envoy unreachable from the bastion" in text
    assert [row[2] for row in timeline[1:]] == [
        "started",
        "marked down",
        "step failed",
        "step skipped",
        "step blocked",
        "step done",
        "escalation raised",
        "timer expired",
    ]
    assert "without recovery" in timeline[-1][3]


def test_long_cluster_lists_are_truncated_and_hostile_text_is_escaped(tmp_path):
    demo = Path(demo_estate_path()).read_text()
    extra = "".join(f"    - name: c{i:02d}\n" for i in range(20))
    path = tmp_path / "big.yaml"
    path.write_text(
        demo.replace("  clusters:\n", "  clusters:\n" + extra, 1).replace(
            'account: ""', "account: 'ACME-42 | `x`'"
        )
    )
    s = Workspace().start(HOSTILE, str(path))
    s.add_note(HOSTILE)
    text = support_brief(s.state, s.engine)
    tokens = parse(text)
    items = bullets(tokens)
    clusters = next(i for i in items if i.startswith("Workload clusters"))
    assert clusters.startswith("Workload clusters (24): c00, c01") and clusters.endswith(
        ", … and 12 more"
    )
    assert "Account / contract: ACME-42 | `x`" in items
    assert (
        headings(tokens, "h1")[0].startswith("Support case brief:")
        and len(headings(tokens, "h1")) == 1
    )
    assert not any(
        t.type == "html_block" or (t.children and any(c.type == "html_inline" for c in t.children))
        for t in tokens
    )
    assert "No step has been worked yet." in text and "Nothing was marked down." in text


def test_cli_brief_to_stdout_and_to_a_file(cli, tmp_path):
    s = worked_incident()
    out = cli("incident", "brief", s.id.lower())
    assert out.rc == 0, out.err
    assert out.out.startswith(f"# Support case brief: {s.id}: API and UI unreachable")
    target = tmp_path / "brief.md"
    written = cli("incident", "brief", s.id, "-o", str(target))
    assert written.rc == 0 and written.out.strip() == f"{s.id}: support brief written to {target}"
    assert target.read_text().startswith("# Support case brief:")


def test_cli_brief_bad_input_is_one_line_exit_2(cli, tmp_path):
    s = worked_incident()
    for argv, message in (
        (["incident", "brief", "INC-19990101-001"], "unknown incident"),
        (["incident", "brief", s.id, "-o", str(tmp_path)], "is a directory"),
        (["incident", "brief", s.id, "-o", str(tmp_path / "nope" / "b.md")], "does not exist"),
    ):
        result = cli(*argv)
        assert (
            result.rc == 2 and message in result.err and len(result.err.strip().splitlines()) == 1
        ), result.err


def test_the_brief_lists_every_case_number_of_a_step():
    s = worked_incident()
    s.raise_escalation(f"{MP}/restoration/engage-tetrate-support", "TS-4712")
    tokens = parse(support_brief(s.state, s.engine))
    escalations = next(t for t in tables(tokens) if t[0] == ["Step", "Title", "Raised", "Case"])
    row = next(r for r in escalations if r[0] == f"{MP}/restoration/engage-tetrate-support")
    assert row[3] == "TS-4711, TS-4712"
