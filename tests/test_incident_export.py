"""The incident export, read back with a real Markdown parser (markdown-it-py, GFM-like)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

from tests.incident_stores import opened_store
from tsbrunbook.domain.export import checklist_markdown
from tsbrunbook.domain.incident import IncidentSession, checklists, readiness_gaps
from tsbrunbook.domain.incident_markdown import incident_markdown

WC = "workload-cluster-failure@eu-west/recovery"
HOSTILE = "Pipes | and `ticks` <script>alert(1)</script>\n# not a heading\n- [x] not a task | ![img](x) &amp; **bold**"
SECTIONS = ["Worked steps", "Notes", "Timeline", "Checklists", "Readiness gaps"]
FULL_SECTIONS = [
    "Worked steps",
    "Notes",
    "Timeline",
    "Impact",
    "Checklists",
    "Escalation points",
    "Readiness gaps",
]
ENGAGE = "management-plane-failure/restoration/engage-tetrate-support"
LATER = datetime(2030, 1, 1, tzinfo=UTC)

# Every test once on the local SQLite store and once on PostgreSQL (TSBRUNBOOK_DATABASE_URL).
pytestmark = pytest.mark.usefixtures("incident_store")


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


def summary(tokens: list[Token]) -> list[Token]:
    """The tokens between the title and the first section."""
    first = next(i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2")
    return tokens[:first]


def section(tokens: list[Token], title: str) -> list[Token]:
    """The tokens of one `##` section (up to the next one)."""
    starts = [i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    for n, i in enumerate(starts):
        if plain(tokens[i + 1]) == title:
            return tokens[i : starts[n + 1] if n + 1 < len(starts) else len(tokens)]
    raise AssertionError(f"no section {title!r}")


def bullets(tokens: list[Token]) -> list[str]:
    """The text of every list item's first paragraph."""
    return [
        plain(tokens[i + 2])
        for i, t in enumerate(tokens)
        if t.type == "list_item_open" and tokens[i + 2].type == "inline"
    ]


def touched(view) -> list:
    return [
        sv
        for sv in view.steps
        if sv.state.state != "pending" or sv.state.notes or sv.state.escalations
    ]


@pytest.fixture
def incident(engine):
    with opened_store() as store:
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
        session.raise_escalation(ENGAGE, "CASE-42 | urgent")
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
    assert headings(tokens, "h3") == [f"{v.title}: {v.phase}" for v in views if touched(v)]
    html = MarkdownIt("gfm-like").use(tasklists_plugin).render(text)
    assert "<script>" not in html and "<img" not in html and "&amp;amp;" in html


def test_the_summary_comes_first_and_says_what_the_commander_needs(incident, engine):
    tokens = parse(incident_markdown(incident.state, engine, now=LATER))
    head = summary(tokens)
    items = {i.partition(":")[0]: i.partition(": ")[2] for i in bullets(head)}
    assert items["Status"].startswith("closed 20")
    assert items["Started"].endswith(" UTC") and items["Closed"].endswith(" UTC")
    assert "Duration" in items
    assert items["Down now"].startswith("workload-cluster/eu-west")
    assert items["Worst impact"].startswith("❌ OUTAGE, after event 9")
    assert items["Escalations"].startswith(f"case CASE-42 | urgent on {ENGAGE}")
    actor = incident.state.timeline[-1].actor
    assert items["Who did what"] == (
        f"{actor}: 12 actions (1 start, 2 marked down, 1 marked up, 4 step changes, 2 notes,"
        " 1 escalation, 1 close)"
    )
    found = tables(head)
    assert [t[0] for t in found] == [
        ["Component", "Down since", "Back up", "Down for"],
        ["Operation", "Worst reached", "At close"],
        ["Step", "Title", "Raised", "Case", "By"],
    ]
    down, worst, escalations = found
    assert [r[0] for r in down[1:]] == ["workload-cluster/eu-west", "management-plane"]
    assert down[1][2] == "still down" and down[2][2].endswith(" UTC")
    # the worst each operation reached, replaying down/up: here with both components down
    peak = engine.assess(["workload-cluster/eu-west", "management-plane"])
    now = engine.assess(["workload-cluster/eu-west"])
    assert [r[0] for r in worst[1:]] == [op.title for op in engine.pack.graph.operations]
    for row, op in zip(worst[1:], engine.pack.graph.operations, strict=True):
        level, at_close = peak.operations[op.id].level, now.operations[op.id].level
        assert row[1:] == [f"{level.glyph} {level.word}", f"{at_close.glyph} {at_close.word}"]
    assert [(r[0], r[3], r[4]) for r in escalations[1:]] == [(ENGAGE, "CASE-42 | urgent", actor)]


def test_export_tables(incident, engine):
    tokens = parse(incident_markdown(incident.state, engine, now=LATER))
    found = tables(tokens)
    by_header = {tuple(t[0]): t for t in found}
    timeline = by_header[("#", "Time", "Event", "Details", "By")]
    assert len(timeline) == 1 + len(incident.state.timeline)
    assert all(len(row) == 5 for row in timeline[1:])
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
    progress = by_header[("Checklist", "Scenario", "Appeared", "Matches now", "Progress")]
    views = checklists(incident.state, engine)
    assert [r[0] for r in progress[1:]] == [f"{v.instance}/{v.phase}" for v in views]
    assert progress[1][4] == f"1/{len(views[0].steps)} done (1 skipped, 1 failed, 1 blocked)"


def test_worked_steps_are_task_items_with_state_actor_notes_and_cases(incident, engine):
    tokens = parse(incident_markdown(incident.state, engine, now=LATER))
    worked = section(tokens, "Worked steps")
    items = tasks(worked)
    views = checklists(incident.state, engine)
    assert len(items) == sum(len(touched(v)) for v in views) == 5
    assert len(tasks(tokens)) == 5  # the hostile "- [x]" in a note is not a task
    checked = [text for done, text in items if done]
    actor = incident.state.timeline[-1].actor
    assert len(checked) == 1 and checked[0].startswith("Confirm the cluster answers again (done ")
    assert checked[0].endswith(f" UTC by {actor}) confirm-cluster-back")
    texts = [text for _, text in items]
    assert any(t.startswith("SKIPPED ⏭️ Check the Tetrate pods") for t in texts)
    assert any(t.startswith("FAILED ❌ Check the cluster status in TSB") for t in texts)
    assert any(t.startswith("BLOCKED ⛔ Restart the edge") for t in texts)
    one_line = " ".join(HOSTILE.split())
    notes = bullets(worked)
    assert any(n.endswith(f"({actor}): {one_line}") for n in notes)  # the skip's reason
    assert any(n.endswith(f"({actor}): restarted edge on eu-west, no effect") for n in notes)
    assert any(n.endswith(f"({actor}): escalation raised, case CASE-42 | urgent") for n in notes)
    assert not [t for t in worked if t.type == "fence"]  # no commands in the compact record


def test_untouched_steps_are_collapsed_into_a_count_per_checklist(incident, engine):
    text = incident_markdown(incident.state, engine, now=LATER)
    tokens = parse(text)
    lines = bullets(section(tokens, "Checklists"))
    views = checklists(incident.state, engine)
    hint = f"tsbrunbook incident export {incident.id} --full lists them"
    expected = []
    for v in views:
        rest = len(v.steps) - len(touched(v))
        more = "more " if touched(v) else ""
        expected.append(f"{v.instance}/{v.phase}: {rest} {more}steps not started — {hint}")
    assert [line.split(" ⏰")[0] for line in lines] == expected
    assert not [t for t in tokens if t.type == "fence"]
    assert "Verify:" not in text


def test_full_lists_every_step_with_its_commands(incident, engine):
    text = incident_markdown(incident.state, engine, now=LATER, full=True)
    tokens = parse(text)
    assert headings(tokens, "h2") == FULL_SECTIONS
    views = checklists(incident.state, engine)
    worked = [f"{v.title}: {v.phase}" for v in views if touched(v)]
    h3 = headings(tokens, "h3")
    assert h3[: len(worked)] == worked
    assert h3[len(worked)] == "At close: workload-cluster/eu-west down"
    assert h3[len(worked) + 1].startswith("At its worst: after event 9 (")
    assert h3[len(worked) + 2 :] == [f"{v.title}: {v.phase}" for v in views]
    listed = tasks(section(tokens, "Checklists"))
    assert len(listed) == sum(len(v.steps) for v in views)
    fences = [t.content for t in tokens if t.type == "fence"]
    assert "kubectl --context gke-eu-west get nodes\n" in fences[0]
    escalations = tables(section(tokens, "Escalation points"))[0]
    assert escalations[0] == ["Step", "Title", "Why Tetrate support is needed", "Raised", "Cases"]
    points = [
        s
        for s in engine.pack.scenario("management-plane-failure").restoration.steps
        if s.escalation
    ]
    assert len(escalations) - 1 == len(points) >= 8
    raised = [r for r in escalations[1:] if r[3] != "not raised"]
    assert [(r[0], r[4]) for r in raised] == [(ENGAGE, "CASE-42 | urgent")]
    compact = incident_markdown(incident.state, engine, now=LATER)

    def worked_steps(markdown: str) -> str:
        return markdown.split("\n## Worked steps")[1].split("\n## Timeline")[0]

    assert worked_steps(text) == worked_steps(compact)  # the same worked steps and notes
    assert tables(summary(tokens)) == tables(summary(parse(compact)))  # the same summary tables


def test_notes_and_gaps(incident, engine):
    text = incident_markdown(incident.state, engine, now=LATER)
    tokens = parse(text)
    notes = bullets(section(tokens, "Notes"))
    one_line = " ".join(HOSTILE.split())
    assert len(notes) == 1 and notes[0].endswith(f": {one_line}")  # step notes are on their step
    gaps = bullets(section(tokens, "Readiness gaps"))
    for fact, _ in readiness_gaps(engine):
        assert any(n.startswith(f"{fact}:") for n in gaps)
    assert "Duration:" in text and "sha256:" in text and "the bundled demo estate" in text


def test_a_short_incident_exports_to_a_few_kilobytes(engine):
    with opened_store() as store:
        incident = store.create("Checkout errors in eu-west", meta={})
        session = IncidentSession(store, incident, engine)
        session.mark_down(["management-plane"])
        mp = "management-plane-failure/recovery"
        session.set_step(f"{mp}/check-mp-pods", "done")
        session.set_step(f"{mp}/check-api-health", "done")
        session.add_note("front-envoy answers again")
        text = incident_markdown(session.state, engine, now=LATER)
        full = incident_markdown(session.state, engine, now=LATER, full=True)
    assert len(text.encode()) < 8 * 1024 < len(full.encode())
    tokens = parse(text)
    items = {i.partition(":")[0] for i in bullets(summary(tokens))}
    assert {"Status", "Started", "Duration", "Down now", "Worst impact", "Who did what"} <= items
    assert [done for done, _ in tasks(tokens)] == [True, True]
    assert "front-envoy answers again" in text and "management-plane" in text


def test_a_step_escalated_twice_keeps_both_cases(engine):
    with opened_store() as store:
        incident = store.create("two cases", meta={})
        session = IncidentSession(store, incident, engine)
        session.mark_down(["management-plane"])
        session.raise_escalation(ENGAGE, "TS-1")
        session.raise_escalation(ENGAGE, "TS-2")
        text = incident_markdown(session.state, engine, now=LATER)
        full = incident_markdown(session.state, engine, now=LATER, full=True)
    head = tables(summary(parse(text)))[-1]
    assert [(r[0], r[3]) for r in head[1:]] == [(ENGAGE, "TS-1"), (ENGAGE, "TS-2")]
    notes = bullets(section(parse(text), "Worked steps"))
    assert [n.split(": ", 1)[1] for n in notes if "escalation raised" in n] == [
        "escalation raised, case TS-1",
        "escalation raised, case TS-2",
    ]
    points = tables(section(parse(full), "Escalation points"))[0]
    assert next(r for r in points if r[0] == ENGAGE)[4] == "TS-1, TS-2"
    assert ", cases TS-1, TS-2." in full  # the 🆘 quote below the step in the full list


def test_who_did_what_counts_each_actor(engine, monkeypatch):
    with opened_store() as store:
        incident = store.create("two people", meta={}, actor="alice")
        session = IncidentSession(store, incident, engine)
        monkeypatch.setenv("TSBRUNBOOK_USER", "alice")
        session.mark_down(["management-plane"])
        session.add_note("paging bob")
        monkeypatch.setenv("TSBRUNBOOK_USER", "bob")
        session.set_step("management-plane-failure/recovery/check-mp-pods", "done")
        text = incident_markdown(session.state, engine, now=LATER)
    items = {i.partition(":")[0]: i.partition(": ")[2] for i in bullets(summary(parse(text)))}
    assert items["Who did what"] == (
        "alice: 3 actions (1 start, 1 marked down, 1 note); bob: 1 action (1 step change)"
    )
    assert "(done " in text and " by bob)" in text


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
