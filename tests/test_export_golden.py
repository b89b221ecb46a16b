"""The export's layout (issue 13, problem 7) pinned as a golden file: summary first (what is or
was down and for how long, worst impact, escalations with case numbers, who did what), then the
worked steps with their notes, then the timeline; untouched steps only counted per checklist.

After an intended change of the layout: `TSBRUNBOOK_UPDATE_GOLDEN=1 pytest tests/test_export_golden.py`,
then read the diff of tests/data/golden/ before committing it."""

from __future__ import annotations

import os
import re
from datetime import timedelta

from tests.conftest import DATA
from tests.tui.support import BASE, FixedClockSink
from tests.tui.test_snapshots import mid_incident
from tsbrunbook.domain.incident import checklists
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.workspace import Workspace

GOLDEN = DATA / "golden" / "export-mid-incident.md"


def export_text() -> str:
    session = Workspace(store=FixedClockSink()).start("eu-west edge down after upgrade")
    mid_incident(session)
    points = [
        sv.ref
        for view in checklists(session.state, session.engine)
        for sv in view.steps
        if sv.step.escalation
    ]
    session.raise_escalation(points[0], "CASE-1234")
    session.raise_escalation(points[0], "CASE-1250")  # raised again: both are kept
    session.mark_up(["edge-control-plane/eu-west"])
    text = incident_markdown(session.state, session.engine, now=BASE + timedelta(minutes=20))
    # The pack's checksum changes with every runbook edit; the layout does not.
    return re.sub(r"checksum `sha256:[0-9a-f]+`", "checksum `sha256:…`", text)


def test_the_export_layout_matches_the_golden_file():
    text = export_text()
    if os.environ.get("TSBRUNBOOK_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_the_golden_file_reads_in_the_order_the_commander_needs():
    text = GOLDEN.read_text(encoding="utf-8")
    order = [
        "- **Down now:**",
        "- **Worst impact:**",
        "- **Escalations:**",
        "- **Who did what:**",
        "| `edge-control-plane/eu-west` | 2026-11-27 03:01:00 UTC | 2026-11-27 03:04:30 UTC | 3m 30s |",
        "| CASE-1234 |",  # the escalations table: every case raised
        "| CASE-1250 |",
        "## Worked steps",
        "ControlPlane CR not readable yet",
        "## Timeline",
        "steps not started",
    ]
    at = 0
    for marker in order:  # each one after the one before
        found = text.find(marker, at)
        assert found >= 0, f"{marker!r} is missing, or comes too early"
        at = found + len(marker)
    assert "$ kubectl" not in text and "```" not in text  # no untouched commands: --full has them
