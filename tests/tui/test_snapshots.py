"""SVG snapshots of the main screens at 80×24 and 160×48 (deterministic clock and store)."""

from __future__ import annotations

from tests.tui.support import snapshot_app


def mid_incident(session) -> None:
    session.mark_down(["edge-control-plane/eu-west", "central-control-plane"])
    refs = [
        s.ref
        for v in __import__("tsbrunbook.domain.incident", fromlist=["checklists"]).checklists(
            session.state, session.engine
        )
        for s in v.steps
    ]
    session.set_step(refs[0], "done")
    session.set_step(refs[1], "skip", "ControlPlane CR not readable yet")
    session.set_step(refs[2], "fail", "edge still crash-looping")
    session.add_note("paged the network team", None)


def test_wide_mid_incident(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(160, 48))


def test_narrow_components(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(80, 24))


def test_narrow_impact(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(80, 24), press=["2", "down"])


def test_narrow_checklists(snap_compare):
    assert snap_compare(snapshot_app(mid_incident), terminal_size=(80, 24), press=["3"])


def test_help_screen(snap_compare):
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), press=["question_mark"])


def test_wide_management_cluster_down(snap_compare):
    def setup(session):
        session.mark_down(["management-cluster", "workload-cluster/ap-south"])

    assert snap_compare(
        snapshot_app(setup, title="mgmt cluster lost [bold]not markup[/bold]"),
        terminal_size=(160, 48),
        press=["2", "down", "down", "right"],
    )
