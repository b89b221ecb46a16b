"""`tsbrunbook validate`: clean on the shipped runbooks, and every planted defect found at its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import DATA

BROKEN = DATA / "broken"
EXPECT = re.compile(r"#\s*expect:\s*(.+?)\s*$")


def planted(path: Path) -> list[tuple[int, str]]:
    """(line, expected substring) for each `# expect:` marker in a broken file."""
    return [
        (n, m.group(1))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if (m := EXPECT.search(line))
    ]


def test_shipped_runbooks_are_clean(cli):
    result = cli("validate")
    assert result.rc == 0, result.err
    assert re.match(r"ok: \d+ file\(s\), no problems", result.out)


def test_demo_estate_is_clean(cli):
    from tsbrunbook.domain.runbooks.paths import demo_estate_path

    assert cli("validate", demo_estate_path()).rc == 0


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.name)
def test_each_planted_defect_is_reported_with_its_line(cli, path):
    expected = planted(path)
    assert expected, f"{path.name} plants no defect"
    result = cli("validate", str(path))
    assert result.rc == 2
    lines = result.err.strip().splitlines()
    assert lines[-1].endswith("in 1 file(s)")
    for line_no, text in expected:
        prefix = f"{path}:{line_no}: "
        assert any(ln.startswith(prefix) and text in ln for ln in lines), (
            f"{path.name}:{line_no} '{text}' not in:\n{result.err}"
        )


def test_validate_whole_corpus_counts_every_file(cli):
    result = cli("validate", str(BROKEN))
    assert result.rc == 2
    n_files = len(list(BROKEN.glob("*.yaml")))
    assert result.err.strip().splitlines()[-1].endswith(f"in {n_files} file(s)")
    assert "Traceback" not in result.err


def test_dominance_keeps_the_engine_monotone(pack):
    """A host scenario milder than the one it subsumes is reported (it would break monotonicity)."""
    from dataclasses import replace

    from tsbrunbook.domain.model import Level, OperationImpact
    from tsbrunbook.domain.runbooks.checks import check_scenarios

    mc = pack.scenario("management-cluster-failure")
    weak = dict(mc.impact)
    weak["management-operations"] = OperationImpact(
        Level.LIMITED, {"clusters": Level.LIMITED, "management": Level.LIMITED}, "x"
    )
    scenarios = [replace(mc, impact=weak) if s.id == mc.id else s for s in pack.scenarios]
    problems = check_scenarios(pack.graph, scenarios)
    assert any("milder than the 'management-plane-failure'" in p.message for p in problems)
    assert not check_scenarios(pack.graph, list(pack.scenarios))
