"""Bad input: one clear line naming the file:line or the id, a hint, exit 2, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import DATA, Result, run_forked, run_process


def one_error_line(result: Result) -> str:
    assert result.rc == 2, (result.rc, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("tsbrunbook")
    return lines[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["impact", "--down", "workload-cluster/eu-wset"], "did you mean workload-cluster/eu-west"),
        (["impact", "--down", "data-plane/eu-west"], "cannot be marked down"),
        (["checklist", "no-such-scenario"], "unknown scenario 'no-such-scenario'"),
        (["checklist", "workload-cluster-failure"], "--cluster"),
        (["checklist", "workload-cluster-failure", "--cluster", "eu-wst"], "did you mean eu-west"),
        (["checklist", "management-plane-failure", "--cluster", "eu-west"], "estate-wide"),
        (["impact", "--format", "xml"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["impact", "--estate", "/no/such/file.yaml"], "/no/such/file.yaml: no such file"),
        (["impact", "--estate", str(DATA)], "is a directory"),
        (
            ["impact", "--estate", str(DATA / "broken" / "malformed.yaml")],
            "malformed.yaml:4: malformed YAML",
        ),
        (
            ["components", "--estate", str(DATA / "broken" / "estate-types.yaml")],
            "estate-types.yaml:",
        ),
        (
            ["components", "--estate", str(DATA / "broken" / "scenario-missing-op.yaml")],
            "expected a 'estate:' document",
        ),
    ],
)
def test_one_line_errors(cli, args, expected):
    line = one_error_line(cli(*args))
    assert expected in line, line


def test_several_estate_problems_point_to_validate(cli):
    line = one_error_line(
        cli("components", "--estate", str(DATA / "broken" / "estate-defects.yaml"))
    )
    assert "more problem(s); run `tsbrunbook validate`" in line


def test_hostile_ids_are_neutralised(cli):
    evil = "\x1b[2J\x1b]0;pwned\x07workload-cluster/eu-west\nrm -rf /"
    line = one_error_line(cli("impact", "--down", evil))
    assert "\x1b" not in line and "\x07" not in line


def test_not_utf8_and_binary_files(cli, tmp_path):
    bad = tmp_path / "estate.yaml"
    bad.write_bytes(b"estate:\n  name: \xff\xfe\n")
    assert "not UTF-8" in one_error_line(cli("components", "--estate", str(bad)))


def test_alias_bomb_is_refused(cli, tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("estate:\n  " + "\n  ".join(lines) + "\n")
    assert "alias bomb" in one_error_line(cli("components", "--estate", str(bomb)))


def test_python_tags_are_not_executed(cli, tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("estate: !!python/object/apply:os.system ['touch pwned']\n")
    line = one_error_line(cli("components", "--estate", str(evil)))
    assert "evil.yaml:1" in line
    assert not (tmp_path / "pwned").exists()


def test_real_process_reports_without_traceback():
    result = run_process("impact", "--down", "nope")
    line = one_error_line(result)
    assert "unknown component 'nope'" in line


def test_version_and_help_on_every_command(cli):
    assert run_forked("--version").out.startswith("tsbrunbook ")
    for command in ("impact", "components", "scenarios", "checklist", "graph", "validate"):
        result = run_forked(command, "--help")
        assert result.rc == 0 and "usage: tsbrunbook " + command in result.out


def test_tui_bad_arguments_fail_before_any_screen():
    for args, expected in (
        (["tui", "--incident", "INC-NOPE"], "unknown incident 'INC-NOPE'"),
        (["tui", "--estate", "/no/such.yaml"], "no such file"),
    ):
        line = one_error_line(run_forked(*args))
        assert expected in line
