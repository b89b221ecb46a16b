"""The guide's six single-failure tables, cell by cell, through the CLI's JSON."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_forked

OPS = (
    "running-workloads",
    "local-cluster-operations",
    "metrics-collection",
    "management-operations",
)

# Straight from the seed's tables (failure-scenarios.md): workloads / local ops / metrics / management.
SEED = {
    "workload-cluster/eu-west": ("workload-cluster-failure", "limited", "limited", "limited", "ok"),
    "edge-control-plane/eu-west": ("edge-control-plane-failure", "ok", "limited", "limited", "ok"),
    "connectivity/eu-west": ("connectivity-loss", "ok", "limited", "limited", "ok"),
    "central-control-plane": ("central-control-plane-failure", "ok", "limited", "ok", "ok"),
    "management-plane": ("management-plane-failure", "ok", "ok", "limited", "outage"),
    "management-cluster": ("management-cluster-failure", "ok", "limited", "outage", "outage"),
}


@pytest.mark.parametrize("component", list(SEED))
def test_seed_table_through_cli_json(cli, component):
    result = cli("impact", "--down", component, "--format", "json")
    assert result.rc == 0, result.err
    data = json.loads(result.out)
    scenario, *levels = SEED[component]
    assert [data["operations"][op]["level"] for op in OPS] == levels
    assert [s["id"] for s in data["scenarios"]] == [scenario]
    assert data["down"] == [component]
    for op in OPS:
        if data["operations"][op]["level"] != "ok":
            assert data["operations"][op]["reasons"], f"{op} has no reason"
            assert all(
                r["text"] and r["component"] == component for r in data["operations"][op]["reasons"]
            )


def test_all_24_cells_through_the_command_line():
    """The same 24 cells from `python -m tsbrunbook` (a process each, forked from the test's
    zygote), as an alert hook would call it."""
    cells = 0
    for component, (_scenario, *levels) in SEED.items():
        result = run_forked("impact", "--down", component, "--format", "json")
        assert result.rc == 0, result.err
        data = json.loads(result.out)
        for op, level in zip(OPS, levels, strict=True):
            assert data["operations"][op]["level"] == level
            cells += 1
    assert cells == 24


def test_nothing_down_is_all_ok(cli):
    data = json.loads(cli("impact", "--format", "json").out)
    assert all(v["level"] == "ok" and not v["reasons"] for v in data["operations"].values())
    assert data["scenarios"] == [] and data["queued"] == []
