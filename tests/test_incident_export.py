"""The incident export, read back with a real Markdown parser (markdown-it-py, GFM-like)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

from tsbrunbook.domain.export import checklist_markdown
from tsbrunbook.domain.incident import IncidentSession, checklists, readiness_gaps
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.store import Store

WC = "workload-cluster-failure@eu-west/recovery"
HOSTILE = "Pipes | and `ticks` <script>alert(1)</script>\n# not a heading\n- [x] not a task | ![img](x) &amp; **bold**"
SECTIONS = [
    "Components down",
    "Impact",
    "Checklists",
    "Escalation points",
    "Notes",
    "Timeline",
    "Readiness gaps",
]
LATER = datetime(2030, 1, 1, tzinfo=UTC)


def parse(text: str) -> list[Token]:
    return MarkdownIt("gfm-like").use(tasklists_plugin).parse(text)


def plain(token: Token) -> str:
    """The text a reader sees in an inline token (code spans included, markup dropped)."""
    out = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return "".join(out)


def headings(tokens: list[Token], level: str) -> list[str]:
    return [
        plain(tokens[i + 1])
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == level
    ]


def tables(tokens: list[Token]) -> list[list[list[str]]]:
    """Each table as rows of cell texts (header row first)."""
    out: list[list[list[str]]] = []
    row: list[str] = []
    for i, t in enumerate(tokens):
        if t.type == "table_open":
            out.append([])
        elif t.type == "tr_open":
            row = []
        elif t.type in ("th_open", "td_open"):
            row.append(plain(tokens[i + 1]))
        elif t.type == "tr_close":
            out[-1].append(row)
    return out


def tasks(tokens: list[Token]) -> list[tuple[bool, str]]:
    """(checked, text) of every GFM task item."""
    out = []
    for i, t in enumerate(tokens):
        if t.type == "list_item_open" and "task-list-item" in str(t.attrs.get("class", "")):
            inline = next(x for x in tokens[i:] if x.type == "inline")
            box = next(c for c in inline.children or [] if c.type == "html_inline")
            out.append(('checked="checked"' in box.content, plain(inline).strip()))
    return out


@pytest.fixture
def incident(engine):
    with Store() as store:
        incident = store.create(
            HOSTILE,
            meta={
                "estate_file": None,
                "estate_name": "Demo retail estate",
                "tsb_version": "1.12",
                "pack_version": engine.pack.version,
                "pack_checksum": engine.pack.checksum,
            },
        )
        session = IncidentSession(store, incident, engine)
        session.mark_down(["workload-cluster/eu-west"])
        session.set_step(f"{WC}/confirm-cluster-back", "done")
        session.set_step(f"{WC}/check-tsb-pods", "skip", HOSTILE)
        session.set_step(f"{WC}/check-cluster-status", "fail", "still NOT_READY")
        session.set_step(f"{WC}/restart-edge-if-stuck", "block", "no kubectl access")
        session.add_note(HOSTILE)
        session.add_note("restarted edge on eu-west, no effect", f"{WC}/restart-edge-if-stuck")
        session.mark_down(["management-plane"])
        session.raise_escalation(
            "management-plane-failure/restoration/engage-tetrate-support", "CASE-42 | urgent"
        )
        session.mark_up(["management-plane"])
        session.close()
        yield session


def test_export_structure(incident, engine):
    text = incident_markdown(incident.state, engine, now=LATER)
    tokens = parse(text)
    one_line_title = " ".join(HOSTILE.split())
    assert headings(tokens, "h1") == [f"Incident {incident.id}: {one_line_title}"]
    assert headings(tokens, "h2") == SECTIONS
    views = checklists(incident.state, engine)
    h3 = headings(tokens, "h3")
    assert h3[0] == "At close: workload-cluster/eu-west down"
    assert h3[1].startswith("At its worst: after event 9 (") and h3[1].endswith(
        "with management-plane, workload-cluster/eu-west down"
    )
    assert h3[2:] == [f"{v.title}: {v.phase}" for v in views]
    html = MarkdownIt("gfm-like").use(tasklists_plugin).render(text)
    assert "<script>" not in html and "<img" not in html and "&amp;amp;" in html


def test_export_tables(incident, engine):
    tokens = parse(incident_markdown(incident.state, engine, now=LATER))
    found = tables(tokens)
    by_header = {tuple(t[0]): t for t in found}
    down = by_header[("Component", "Down since", "Back up", "Down for")]
    assert [r[0] for r in down[1:]] == ["workload-cluster/eu-west", "management-plane"]
    assert down[1][2] == "still down"
    impact = next(t for t in found if t[0][:2] == ["Operation", "Overall"])
    assert [r[0] for r in impact[1:]] == [op.title for op in engine.pack.graph.operations]
    assert impact[0][2:] == ["management", "eu-west"]
    assert impact[1][1:] == ["⚠️ LIMITED", "✅ OK", "❌ OUTAGE"]
    timeline = by_header[("#", "Time", "Event", "Details", "By")]
    assert len(timeline) == 1 + len(incident.state.timeline)
    assert all(len(row) == 5 for table in found for row in table[1:] if table[0] == timeline[0])
    one_line = " ".join(HOSTILE.split())
    assert timeline[1][3] == f"incident: {one_line}"  # the hostile title stays inside its cell
    assert [r[2] for r in timeline[1:]] == [
        "started",
        "marked down",
        "step done",
        "step skipped",
        "step failed",
        "step blocked",
        "note",
        "note",
        "marked down",
        "escalation raised",
        "marked up",
        "closed",
    ]
    escalations = by_header[("Step", "Title", "Why Tetrate support is needed", "Raised", "Case")]
    raised = [r for r in escalations[1:] if r[3] != "not raised"]
    assert [(r[0], r[4]) for r in raised] == [
        ("management-plane-failure/restoration/engage-tetrate-support", "CASE-42 | urgent")
    ]
    points = [
        s
        for s in engine.pack.scenario("management-plane-failure").restoration.steps
        if s.escalation
    ]
    assert (
        len(escalations) - 1 == len(points) >= 8
    )  # every escalation point of the management-plane restoration


def test_export_task_items(incident, engine):
    tokens = parse(incident_markdown(incident.state, engine, now=LATER))
    items = tasks(tokens)
    views = checklists(incident.state, engine)
    assert len(items) == sum(len(v.steps) for v in views)  # the hostile "- [x]" is not a task
    checked = [text for done, text in items if done]
    assert len(checked) == 1 and checked[0].startswith("Confirm the cluster answers again")
    texts = [text for _, text in items]
    assert any(t.startswith("SKIPPED ⏭️ Check the Tetrate pods") for t in texts)
    assert any(t.startswith("FAILED ❌ Check the cluster status in TSB") for t in texts)
    assert any(t.startswith("BLOCKED ⛔ Restart the edge") for t in texts)


def test_export_commands_notes_and_gaps(incident, engine):
    text = incident_markdown(incident.state, engine, now=LATER)
    tokens = parse(text)
    fences = [t.content for t in tokens if t.type == "fence"]
    assert "kubectl --context gke-eu-west get nodes\n" in fences[0]
    notes = [
        plain(tokens[i + 2])
        for i, t in enumerate(tokens)
        if t.type == "list_item_open" and tokens[i + 2].type == "inline"
    ]
    one_line = " ".join(HOSTILE.split())
    assert any(n.endswith(f": {one_line}") for n in notes)
    assert any("restarted edge on eu-west, no effect" in n for n in notes)
    gaps = readiness_gaps(engine)
    for fact, _ in gaps:
        assert any(n.startswith(f"{fact}:") for n in notes)
    assert "Duration:" in text and "sha256:" in text and "the bundled demo estate" in text


def test_checklist_command_shares_the_renderer(cli, engine, estate):
    result = cli("checklist", "workload-cluster-failure", "--cluster", "eu-west")
    assert result.rc == 0
    scenario = engine.pack.scenario("workload-cluster-failure")
    assert result.out.startswith(
        checklist_markdown(scenario, "recovery", estate, "eu-west", heading="#").rstrip()
    )
    assert "Not raised" not in result.out  # raise status belongs to incidents only
    items = tasks(parse(result.out))
    assert len(items) == len(scenario.recovery.steps) and not any(done for done, _ in items)
