"""Hostile corpus: text in the places the export's summary and worked steps now show it.

Each case stores one hostile string where the new layout puts it — the second case number of a
step escalated twice (the summary's escalation table, the worked step, `--full`'s escalation
points), the actor's name ("Who did what", "by …" on a worked step) or a note on a worked step —
then exports the incident with the real process, compact and `--full`. Both are accepted, keep
their structure (the same sections, every table row as wide as its header, only the worked steps
as task items) and carry nothing that acts on a terminal.
"""

from __future__ import annotations

import pytest

from tests.hostile.harness import accepted, run_bounded
from tests.hostile.test_display import check_clean
from tests.test_incident_export import FULL_SECTIONS, SECTIONS, headings, parse, tables, tasks

MP = "management-plane-failure"
STEP = f"{MP}/recovery/check-mp-pods"
ENGAGE = f"{MP}/restoration/engage-tetrate-support"

# (case id, where the text is stored, the hostile text, payload fragments that must not show)
CASES = [
    ("second-case-table-breaker", "case", "TS-2 | x |\n## not a heading\n- [x] not a task", []),
    ("second-case-osc52", "case", "MARK \x1b]52;c;cHduZWQ=\x07 END", ["cHduZWQ=", "52;c"]),
    ("second-case-backtick-fence", "case", "```sh\nrm -rf /\n```", []),
    ("actor-markdown-and-csi", "actor", "eve | `x` **y** \x1b[31m# h", ["[31m"]),
    ("worked-step-note-fake-task", "note", "- [x] fake\n| a | b |\n### fake heading", []),
]


def store(where: str, text: str, monkeypatch) -> str:
    """An incident with one step done and one escalated twice, holding `text` at `where`."""
    from tsbrunbook.workspace import Workspace

    if where == "actor":
        monkeypatch.setenv("LOGNAME", text)  # getpass.getuser() reads LOGNAME first
    session = Workspace().start("hostile export corpus")
    session.mark_down(["management-plane"])
    session.set_step(STEP, "done", text if where == "note" else "")
    session.raise_escalation(ENGAGE, "TS-1")
    session.raise_escalation(ENGAGE, text if where == "case" else "TS-2")
    monkeypatch.delenv("LOGNAME", raising=False)
    return session.id


def check_structure(markdown: str, sections: list[str]) -> list:
    tokens = parse(markdown)
    assert len(headings(tokens, "h1")) == 1
    assert headings(tokens, "h2") == sections
    for table in tables(tokens):
        assert all(len(row) == len(table[0]) for row in table), table
    return tokens


@pytest.mark.parametrize("where,text,payload", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_text_in_the_summary_and_worked_steps(where, text, payload, monkeypatch):
    incident = store(where, text, monkeypatch)
    compact = accepted(run_bounded("incident", "export", incident))
    check_clean(compact.out, payload)
    tokens = check_structure(compact.out, SECTIONS)
    assert len(tasks(tokens)) == 2  # the done step and the escalated one: nothing injected
    raised = next(t for t in tables(tokens) if t[0] == ["Step", "Title", "Raised", "Case", "By"])
    assert [row[0] for row in raised[1:]] == [ENGAGE, ENGAGE]  # both escalations, one row each
    full = accepted(run_bounded("incident", "export", incident, "--full"))
    check_clean(full.out, payload)
    check_structure(full.out, FULL_SECTIONS)
