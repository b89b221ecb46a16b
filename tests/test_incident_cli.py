"""`tsbrunbook incident …` end to end, and every kind of bad input: one line, exit 2, store untouched."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, run_process
from tests.incident_stores import SQLITE, IncidentStoreUnderTest
from tests.test_bad_input import one_error_line
from tsbrunbook.domain.runbooks.paths import demo_estate_path

# Every test once on the local SQLite store and once on PostgreSQL (TSBRUNBOOK_DATABASE_URL).
pytestmark = pytest.mark.usefixtures("incident_store")

WC = "workload-cluster-failure@eu-west/recovery"
ID_RE = re.compile(r"INC-\d{8}-\d{3}")


def start(
    cli: Callable[..., Result], title: str = "Checkout errors in eu-west", *extra: str
) -> str:
    result = cli("incident", "start", title, *extra)
    assert result.rc == 0, result.err
    assert ID_RE.fullmatch(result.out.strip()), result.out  # the id and nothing else
    return result.out.strip()


def store_bytes(home: Path) -> str:
    """The SQLite database in `home` and any write-ahead log: what must not change on refused
    input (for tests that are about the SQLite file itself)."""
    return IncidentStoreUnderTest(SQLITE, str(home / "incidents.sqlite3")).snapshot()


def ok(result):
    assert result.rc == 0, result.err
    return result


@pytest.mark.long
def test_session_through_real_processes(tmp_path):
    started = run_process("incident", "start", "Checkout errors in eu-west")
    assert started.rc == 0, started.err
    incident = started.out.strip()
    assert ID_RE.fullmatch(incident)
    down = run_process("incident", "down", incident, "workload-cluster/eu-west")
    assert down.rc == 0 and "marked down: workload-cluster/eu-west" in down.out
    assert f"new checklist {WC}" in down.out
    assert run_process("incident", "step", incident, f"{WC}/confirm-cluster-back", "done").rc == 0
    skip = run_process(
        "incident",
        "step",
        incident,
        f"{WC}/check-tsb-pods",
        "skip",
        "--note",
        "bot checked the pods",
    )
    assert skip.rc == 0 and "→ skipped" in skip.out
    assert (
        run_process(
            "incident",
            "note",
            incident,
            "restarted edge, no effect",
            "--step",
            f"{WC}/restart-edge-if-stuck",
        ).rc
        == 0
    )
    shown = run_process("incident", "show", incident, "--format", "json")
    data = json.loads(shown.out)
    states = {s["ref"]: s["state"] for c in data["checklists"] for s in c["steps"]}
    assert (
        states[f"{WC}/confirm-cluster-back"] == "done"
        and states[f"{WC}/check-tsb-pods"] == "skipped"
    )
    assert run_process("incident", "close", incident).rc == 0
    listed = json.loads(run_process("incident", "list", "--all", "--format", "json").out)
    assert [(i["id"], i["events"], i["closed"] is not None) for i in listed] == [
        (incident, 6, True)
    ]
    assert run_process("incident", "list").out.strip().startswith("No open incidents")
    out = tmp_path / "incident.md"
    exported = run_process("incident", "export", incident, "-o", str(out))
    assert exported.rc == 0 and exported.out.strip() == f"{incident}: exported to {out}"
    text = out.read_text()
    assert text.startswith(f"# Incident {incident}: Checkout errors in eu-west")
    assert "- [x] **Confirm the cluster answers again**" in text
    assert "- [ ] **SKIPPED** ⏭️ **Check the Tetrate pods in istio-system**" in text

    def body(markdown: str) -> list[str]:  # all but the footer, which says when it was exported
        return [line for line in markdown.splitlines() if not line.startswith("_Exported by")]

    assert body(run_process("incident", "export", incident).out) == body(
        text
    )  # closed: nothing else moves


def test_show_json_shape(cli):
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west", "postgres"))
    ok(
        cli(
            "incident",
            "step",
            incident,
            f"{WC}/check-cluster-status",
            "fail",
            "--note",
            "NOT_READY",
        )
    )
    ok(cli("incident", "note", incident, "first note"))
    ok(cli("incident", "escalate", incident, f"{WC}/check-cluster-status", "--case", "77"))
    data = json.loads(ok(cli("incident", "show", incident, "--format", "json")).out)
    assert {
        "id",
        "title",
        "kind",
        "started",
        "closed",
        "down",
        "impact",
        "checklists",
        "readiness",
        "escalations",
        "timeline",
    } <= set(data)
    assert (data["id"], data["title"], data["kind"], data["closed"]) == (
        incident,
        "Checkout errors in eu-west",
        "incident",
        None,
    )
    assert [d["component"] for d in data["down"]] == ["workload-cluster/eu-west", "postgres"]
    assert all(d["since"].endswith("Z") for d in data["down"])
    same = json.loads(
        ok(
            cli(
                "impact",
                "--down",
                "workload-cluster/eu-west",
                "--down",
                "postgres",
                "--format",
                "json",
            )
        ).out
    )
    assert data["impact"] == same  # exactly the shape of `tsbrunbook impact`
    assert [(c["instance"], c["phase"]) for c in data["checklists"]] == [
        (instance, phase)
        for instance in ("postgres-failure", "workload-cluster-failure@eu-west")
        for phase in ("recovery", "restoration")
    ]
    first = data["checklists"][2]
    assert set(first) == {"instance", "phase", "title", "active", "steps"}
    step = next(s for s in first["steps"] if s["id"] == "check-cluster-status")
    assert set(step) == {
        "ref",
        "id",
        "title",
        "state",
        "at",
        "actor",
        "claimed_by",
        "claimed_at",
        "notes",
        "escalation",
        "destructive",
        "destructive_reason",
        "escalations",
    }
    assert step["state"] == "failed" and step["notes"][0]["text"] == "NOT_READY"
    assert step["escalation"]["case"] == "77" and step["escalation"]["raised"]
    assert [(e["ref"], e["case"]) for e in step["escalations"]] == [
        (f"{WC}/check-cluster-status", "77")
    ]
    assert [t["seq"] for t in data["timeline"]] == [1, 2, 3, 4, 5]
    assert [t["type"] for t in data["timeline"]] == [
        "started",
        "down",
        "step",
        "note",
        "escalation",
    ]
    assert {"seq", "at", "type", "data", "actor"} == set(data["timeline"][0])
    assert data["readiness"]["phase"] == "readiness" and data["readiness"]["gaps"]


def test_show_table_and_markdown(cli):
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west"))
    ok(
        cli(
            "incident",
            "step",
            incident,
            f"{WC}/check-tsb-pods",
            "skip",
            "--note",
            "done by the bot",
        )
    )
    table = ok(cli("incident", "show", incident)).out
    assert table.startswith(f"{incident}  Checkout errors in eu-west")
    assert re.search(
        r"\[ \]\s+check-tsb-pods\s+SKIPPED\s+\d\d:\d\d:\d\d\s+\S+\s+done by the bot", table
    )
    assert "Running workloads" in table and "Timeline:" in table
    markdown = ok(cli("incident", "show", incident, "--format", "markdown")).out
    assert markdown.startswith(f"# Incident {incident}")


def test_escalate_warns_on_a_step_that_is_not_an_escalation_point(cli):
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west", "management-plane"))
    plain = ok(cli("incident", "escalate", incident, f"{WC}/check-cluster-status", "--case", "7"))
    # the TUI's words ("Not a runbook escalation point, but you may still call Tetrate support")
    assert plain.err == (
        f"tsbrunbook: warning: {WC}/check-cluster-status is not a runbook escalation point, "
        "but you may still call Tetrate support (recorded)\n"
    )
    assert "escalation raised on" in plain.out  # recorded all the same
    engage = "management-plane-failure/restoration/engage-tetrate-support"
    assert ok(cli("incident", "escalate", incident, engage)).err == ""
    data = json.loads(ok(cli("incident", "show", incident, "--format", "json")).out)
    assert [e["data"]["ref"] for e in data["timeline"] if e["type"] == "escalation"] == [
        f"{WC}/check-cluster-status",
        engage,
    ]


def test_show_lists_every_case_number_of_a_step(cli):
    incident = start(cli)
    ok(cli("incident", "down", incident, "management-plane"))
    engage = "management-plane-failure/restoration/engage-tetrate-support"
    ok(cli("incident", "escalate", incident, engage, "--case", "TS-1"))
    ok(cli("incident", "escalate", incident, engage, "--case", "TS-2"))
    shown = ok(cli("incident", "show", incident)).out
    line = next(x for x in shown.splitlines() if x.strip().startswith(f"{engage}: raised"))
    assert line.endswith(", case TS-1, TS-2")


def test_export_is_compact_unless_full(cli):
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west"))
    ok(cli("incident", "step", incident, f"{WC}/confirm-cluster-back", "done"))
    compact = ok(cli("incident", "export", incident)).out
    assert f"not started — `tsbrunbook incident export {incident} --full` lists them" in compact
    assert "```" not in compact and "- [x] **Confirm the cluster answers again**" in compact
    full = ok(cli("incident", "export", incident, "--full")).out
    assert "kubectl --context gke-eu-west get nodes" in full and "not started" not in full
    assert full.count("- [ ] ") > compact.count("- [ ] ")
    assert f"Rebuild it with `tsbrunbook incident export {incident} --full`" in full


def test_marking_is_idempotent_for_alert_hooks(cli):
    incident = start(cli)
    ok(cli("incident", "down", incident, "postgres"))
    again = ok(cli("incident", "down", incident, "postgres"))
    assert "already down" in again.out and "nothing recorded" in again.out
    assert "not down" in ok(cli("incident", "up", incident, "management-plane")).out
    ok(cli("incident", "up", incident, "postgres"))
    data = json.loads(cli("incident", "show", incident, "--format", "json").out)
    assert [t["type"] for t in data["timeline"]] == ["started", "down", "up"]


def test_incident_keeps_its_own_estate(cli, tmp_path):
    custom = tmp_path / "estate.yaml"
    custom.write_text(
        Path(demo_estate_path())
        .read_text()
        .replace("eu-west", "emea-1")
        .replace("Demo retail estate", "EMEA estate")
    )
    incident = start(cli, "on the custom estate", "--estate", str(custom))
    ok(cli("incident", "down", incident, "workload-cluster/emea-1"))
    data = json.loads(ok(cli("incident", "show", incident, "--format", "json")).out)
    assert data["estate"] == {"name": "EMEA estate", "file": str(custom), "tsb_version": "1.12"}
    # Editing the file (dropping the cluster) or deleting it takes nothing from the incident.
    custom.write_text(Path(demo_estate_path()).read_text())
    ok(
        cli(
            "incident",
            "step",
            incident,
            "workload-cluster-failure@emea-1/recovery/confirm-cluster-back",
            "done",
        )
    )
    custom.unlink()
    data = json.loads(ok(cli("incident", "show", incident, "--format", "json")).out)
    assert [d["component"] for d in data["down"]] == ["workload-cluster/emea-1"]
    steps = {s["ref"]: s["state"] for c in data["checklists"] for s in c["steps"]}
    assert steps["workload-cluster-failure@emea-1/recovery/confirm-cluster-back"] == "done"
    ok(cli("incident", "up", incident, "workload-cluster/emea-1"))


def test_lower_case_ids_are_accepted(cli):
    incident = start(cli)
    assert ok(cli("incident", "show", incident.lower())).out.startswith(incident)


def test_list_formats(cli):
    assert "No open incidents" in ok(cli("incident", "list")).out
    assert json.loads(ok(cli("incident", "list", "--format", "json")).out) == []
    first = start(cli, "first | one")
    second = start(cli, "second")
    ok(cli("incident", "down", second, "postgres"))
    ok(cli("incident", "close", first))
    lines = ok(cli("incident", "list")).out.splitlines()
    assert lines[0].split() == [
        "ID",
        "KIND",
        "STARTED",
        "(UTC)",
        "STATUS",
        "EVENTS",
        "DOWN",
        "TITLE",
    ]
    assert len(lines) == 3 and lines[2].startswith(second) and "postgres" in lines[2]
    every = json.loads(ok(cli("incident", "list", "--all", "--format", "json")).out)
    assert [(i["id"], i["title"], i["down"]) for i in every] == [
        (second, "second", ["postgres"]),
        (first, "first | one", []),
    ]


# ---------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, the database untouched


@pytest.fixture
def worked(cli):
    incident = start(cli)
    ok(cli("incident", "down", incident, "workload-cluster/eu-west"))
    ok(cli("incident", "step", incident, f"{WC}/confirm-cluster-back", "done"))
    return incident


def refused(cli, store: IncidentStoreUnderTest, *args: str) -> str:
    before = store.snapshot()
    line = one_error_line(cli(*args))
    assert store.snapshot() == before, "a refused command changed the store"
    return line


def test_unknown_incident(cli, incident_store, worked):
    missing = worked[:-3] + "009"
    line = refused(cli, incident_store, "incident", "show", missing)
    assert f"unknown incident '{missing}'" in line and f"did you mean {worked}" in line
    for args in (
        ("down", missing, "postgres"),
        ("step", missing, f"{WC}/confirm-cluster-back", "done"),
        ("note", missing, "x"),
        ("export", missing),
        ("close", missing),
    ):
        assert "unknown incident" in refused(cli, incident_store, "incident", *args)


def test_no_incidents_yet(cli):
    line = one_error_line(cli("incident", "show", "INC-20260101-001"))
    assert "there are no incidents yet" in line


def test_unknown_step_ref_suggests_the_closest(cli, incident_store, worked):
    line = refused(cli, incident_store, "incident", "step", worked, f"{WC}/check-tsb-pod", "done")
    assert (
        f"unknown step ref '{WC}/check-tsb-pod'" in line
        and f"did you mean {WC}/check-tsb-pods" in line
    )
    line = refused(
        cli,
        incident_store,
        "incident",
        "note",
        worked,
        "x",
        "--step",
        "workload-cluster-failure@eu-wst/recovery/confirm-cluster-back",
    )
    assert f"did you mean {WC}/confirm-cluster-back" in line


def test_skip_needs_a_note(cli, incident_store, worked):
    line = refused(cli, incident_store, "incident", "step", worked, f"{WC}/check-tsb-pods", "skip")
    assert "a skipped step needs a reason" in line and "--note" in line


def test_bad_component_and_action(cli, incident_store, worked):
    assert "did you mean workload-cluster/eu-west" in refused(
        cli, incident_store, "incident", "down", worked, "workload-cluster/eu-wset"
    )
    assert "invalid choice: 'finish'" in refused(
        cli, incident_store, "incident", "step", worked, f"{WC}/check-tsb-pods", "finish"
    )
    assert "the following arguments are required" in refused(cli, incident_store, "incident")
    assert "the note is empty" in refused(cli, incident_store, "incident", "note", worked, "   ")


def test_closed_incident_refuses_changes(cli, incident_store, worked):
    ok(cli("incident", "close", worked))
    for args in (
        ("down", worked, "postgres"),
        (
            "down",
            worked,
            "workload-cluster/eu-west",
        ),  # already down: still refused, not "nothing to do"
        ("up", worked, "workload-cluster/eu-west"),
        ("step", worked, f"{WC}/check-tsb-pods", "done"),
        ("note", worked, "too late"),
        ("escalate", worked, f"{WC}/check-tsb-pods"),
        ("close", worked),
    ):
        assert f"incident {worked} is closed" in refused(cli, incident_store, "incident", *args)
    assert ok(cli("incident", "show", worked)).out  # reading a closed incident is fine


def test_hostile_id_is_neutralised(cli, worked):
    line = one_error_line(cli("incident", "show", "\x1b[2J\x1b]0;pwned\x07INC\nrm -rf /"))
    assert "\x1b" not in line and "\x07" not in line


def test_export_refuses_a_directory_or_a_missing_one(cli, incident_store, worked, tmp_path):
    line = refused(cli, incident_store, "incident", "export", worked, "-o", str(tmp_path))
    assert f"{tmp_path}: is a directory" in line
    line = refused(
        cli, incident_store, "incident", "export", worked, "-o", str(tmp_path / "nope" / "x.md")
    )
    assert f"the directory {tmp_path / 'nope'} does not exist" in line
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize(
    "command",
    [("incident", "list"), ("incident", "start", "x"), ("incident", "show", "INC-20260101-001")],
)
def test_newer_schema_store_is_refused_untouched(cli, incident_store, command):
    start(cli)
    newer = incident_store.schema_version + 1
    incident_store.set_schema_version(newer)
    line = refused(cli, incident_store, *command)
    assert f"schema version {newer}, newer than this tsbrunbook understands" in line
    assert incident_store.location in line


def sqlite_only(store: IncidentStoreUnderTest) -> None:
    if store.kind != SQLITE:
        pytest.skip("about the SQLite file's bytes: PostgreSQL has no file to damage")


@pytest.mark.parametrize("command", [("incident", "list"), ("incident", "start", "x")])
def test_corrupt_store_is_refused_untouched(cli, incident_store, command):
    sqlite_only(incident_store)
    incident_store.sqlite_path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    line = refused(cli, incident_store, *command)
    assert incident_store.location in line and "damaged" in line


def test_corrupt_store_through_a_real_process(incident_store):
    sqlite_only(incident_store)
    incident_store.sqlite_path.write_bytes(b"\x00garbage" * 1000)
    before = incident_store.snapshot()
    result = run_process("incident", "list")
    line = one_error_line(result)
    assert "not an SQLite database" in line
    assert incident_store.snapshot() == before


def test_help_for_every_incident_command(cli):
    for action in (
        "start",
        "list",
        "down",
        "up",
        "step",
        "note",
        "escalate",
        "show",
        "export",
        "close",
    ):
        result = cli("incident", action, "--help")
        assert result.rc == 0 and f"usage: tsbrunbook incident {action}" in result.out
