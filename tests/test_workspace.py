"""The service layer: the one way the CLI and the TUI open, resume and act on incidents."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tsbrunbook.domain.clock import FakeClock
from tsbrunbook.domain.exercise import find_exercise
from tsbrunbook.domain.runbooks.paths import demo_estate_path
from tsbrunbook.store import IncidentStore, Store, default_db_path
from tsbrunbook.workspace import Workspace

EU_WEST = "workload-cluster/eu-west"


class CountingStore:
    """An IncidentStore that counts, per incident, how often all its events were read."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.full_reads: Counter[str] = Counter()

    def events(self, incident, after=0):
        if after == 0:
            self.full_reads[incident] += 1
        return self.inner.events(incident, after)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def counting(tmp_path, pack):
    with Store(tmp_path / "s.sqlite3") as store:
        yield CountingStore(store)


@pytest.fixture
def other_estate(tmp_path) -> str:
    path = tmp_path / "prod.yaml"
    shutil.copy(demo_estate_path(), path)
    return str(path)


def test_resuming_reads_only_the_start_of_incidents_on_other_estates(counting, pack, other_estate):
    workspace = Workspace(store=counting, pack=pack)
    old = workspace.start("old")
    new = workspace.start("new")
    for session in (old, new):
        for _ in range(3):
            session.mark_down([EU_WEST])
            session.mark_up([EU_WEST])
    counting.full_reads.clear()

    fresh = workspace.resume_or_start(other_estate)
    assert fresh.id not in (old.id, new.id)
    assert counting.full_reads == {fresh.id: 1}  # the new incident's own fold, nothing else

    counting.full_reads.clear()
    assert workspace.resume_or_start().id == new.id
    assert counting.full_reads == {new.id: 1}  # opened: its events are folded once


def test_opening_reads_the_events_once(counting, pack):
    workspace = Workspace(store=counting, pack=pack)
    incident = workspace.start("once").id
    counting.full_reads.clear()
    assert workspace.open(incident.lower()).id == incident
    assert counting.full_reads == {incident: 1}


def test_an_exercise_run_resumes_the_latest_unfinished_run_of_that_exercise(counting, pack):
    workspace = Workspace(store=counting, pack=pack)
    drill = find_exercise("edge-and-link-drill", pack)
    cascade = find_exercise("cascade", pack)
    first = workspace.exercise_session(drill, participants="ana, bo")
    assert first.state.meta["participants"] == ["ana", "bo"]
    other = workspace.exercise_session(cascade, new=True)
    counting.full_reads.clear()
    assert workspace.exercise_session(drill).id == first.id
    assert counting.full_reads == {first.id: 1}
    assert workspace.exercise_session(cascade).id == other.id
    assert workspace.exercise_session(drill, new=True).id not in (first.id, other.id)
    assert workspace.exercise_session(drill, resume=first.id).id == first.id


def test_the_store_is_opened_only_when_needed_and_closed_with_the_workspace(pack):
    with Workspace(pack=pack) as workspace:
        assert workspace.engine(None).estate.name
        assert not Path(default_db_path()).exists()  # runbook commands never create a store
        assert isinstance(workspace.store, IncidentStore)
        workspace.start("now it exists")
        assert Path(default_db_path()).exists()
    with pytest.raises(Exception, match="closed"):
        workspace.store.ids()


def test_the_default_title_uses_the_workspace_clock(tmp_path, pack):
    from datetime import UTC, datetime

    clock = FakeClock(datetime(2026, 11, 30, 19, 41, 7, tzinfo=UTC))
    with Store(tmp_path / "s.sqlite3", clock=clock) as store:
        session = Workspace(store=store, pack=pack, clock=clock).resume_or_start()
    assert session.state.title == "Incident 2026-11-30 19:41 UTC"


def test_mark_records_a_change_only_and_names_the_new_checklists(pack):
    with Workspace(pack=pack) as workspace:
        session = workspace.start("mark")
        marked = workspace.mark(session, "down", [EU_WEST])
        assert marked.event is not None and marked.event.data == {"components": [EU_WEST]}
        assert [(v.instance, v.phase) for v in marked.new_checklists] == [
            ("workload-cluster-failure@eu-west", "recovery"),
            ("workload-cluster-failure@eu-west", "restoration"),
        ]
        again = workspace.mark(session, "down", [EU_WEST])
        assert again.event is None and again.new_checklists == []
        assert workspace.mark(session, "up", [EU_WEST]).event is not None
        with pytest.raises(ValueError):
            workspace.mark(session, "sideways", [EU_WEST])


def test_renderings_include_what_other_processes_appended(pack):
    with Workspace(pack=pack) as workspace:
        session = workspace.start("export")
        with Workspace(pack=pack) as elsewhere:  # an alert hook in another process
            elsewhere.open(session.id).add_note("the hook was here")
        assert "the hook was here" in workspace.export_markdown(session)
        assert "the hook was here" in workspace.support_brief(session)


def test_exports_go_to_the_export_folder_under_a_fresh_name(pack, tmp_path):
    workspace = Workspace(pack=pack)
    first = workspace.write_export("INC-1.md", "one")
    second = workspace.write_export("INC-1.md", "two")
    assert Path(first) == tmp_path / "exports" / "INC-1.md"
    assert Path(second).name == "INC-1-2.md"
    assert Path(first).read_text() == "one" and Path(second).read_text() == "two"


def test_runbook_commands_do_not_import_the_store():
    """`tsbrunbook components` (and every command without an incident) stays off sqlite3."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tsbrunbook.cli import main\n"
        "assert main(['components']) == 0\n"
        "print(sorted(m for m in ('sqlite3', 'tsbrunbook.store') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
