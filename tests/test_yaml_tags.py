"""YAML tags other than the ones the safe loader resolves implicitly are problems at their line,
never plain data read as if the tag were not there (and never executed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import Result
from tests.test_validate import BROKEN, planted
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.domain.runbooks.paths import demo_estate_path, runbooks_dir
from tsbrunbook.domain.runbooks.yamlsrc import Source, _parse

SCENARIO = "workload-cluster-failure.yaml"


def problems(cli: Callable[..., Result], path: Path) -> list[str]:
    result = cli("validate", str(path))
    assert result.rc == 2 and "Traceback" not in result.err, result.err
    return result.err.strip().splitlines()[:-1]


def test_tags_in_an_estate_are_reported_one_problem_each(cli):
    path = BROKEN / "estate-tags.yaml"
    reported = problems(cli, path)
    markers = planted(path)
    assert len(reported) == len(markers), reported
    for (line_no, text), got in zip(markers, reported, strict=True):
        assert got.startswith(f"{path}:{line_no}: ") and text in got, got


def test_custom_tags_in_a_scenario_are_reported_at_their_line(cli, tmp_path):
    lines = (Path(runbooks_dir()) / "scenarios" / SCENARIO).read_text(encoding="utf-8").splitlines()
    title = lines.index("        title: Confirm the cluster answers again")
    commands = lines.index("        commands:", title)
    summary = lines.index("  summary: >-")
    lines[title] = "        title: !foo Confirm the cluster answers again"
    lines[commands] = "        commands: !!python/object/apply:os.system"
    lines[summary] = "  summary: !include >-"
    path = tmp_path / SCENARIO
    path.write_text("\n".join(lines) + "\n")
    reported = problems(cli, path)
    assert reported == [
        f"{path}:{summary + 1}: unsupported YAML tag '!include'; remove it (only plain text, numbers, true/false, lists and mappings are read)",
        f"{path}:{title + 1}: unsupported YAML tag '!foo'; remove it (only plain text, numbers, true/false, lists and mappings are read)",
        f"{path}:{commands + 1}: unsupported YAML tag '!!python/object/apply:os.system' on a list; remove it (only plain text, numbers, true/false, lists and mappings are read)",
    ]


@pytest.mark.parametrize(
    "snippet, message",
    [
        ("region: !!int eu", "bad value 'eu' for YAML tag '!!int'"),
        ("region: !!bool maybe", "bad value 'maybe' for YAML tag '!!bool'"),
        ("region: !!timestamp soon", "bad value 'soon' for YAML tag '!!timestamp'"),
        ("<<: {region: eu}", "merge keys ('<<') are not supported"),
        ("!vault region: eu", "unsupported YAML tag '!vault'"),
    ],
)
def test_values_the_constructor_cannot_build_are_problems_not_tracebacks(
    cli, tmp_path, snippet, message
):
    text = (
        Path(demo_estate_path())
        .read_text(encoding="utf-8")
        .replace("    region: europe-west3\n", f"    {snippet}\n", 1)
    )
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    line = text.splitlines().index(f"    {snippet}") + 1
    reported = problems(cli, path)
    assert len(reported) == 1 and reported[0].startswith(f"{path}:{line}: {message}"), reported


def test_standard_tags_and_plain_values_still_load():
    text = Path(demo_estate_path()).read_text(encoding="utf-8")
    text = text.replace("    namespace: tsb\n", "    namespace: !!str tsb\n", 1).replace(
        "    region: europe-west3\n", "    region: =\n", 1
    )
    estate = load_estate(text=text)
    assert estate.management.namespace == "tsb" and estate.management.region == "="


@pytest.mark.skipif(getattr(yaml, "CSafeLoader", None) is None, reason="no libyaml")
@pytest.mark.parametrize(
    "doc",
    [
        "a: !foo x\n",
        "a: !!python/object/apply:os.system [ls]\n",
        "a: !!set {x}\nb: 2024-01-01\nc: [1, ~, true]\n",
        "<<: {a: 1}\n",
    ],
)
def test_the_c_and_python_composers_agree(doc):
    fast, slow = Source("f"), Source("f")
    a, b = _parse(doc, fast, yaml.CSafeLoader), _parse(doc, slow, yaml.SafeLoader)
    assert fast.problems == slow.problems and fast.problems
    assert a == b
