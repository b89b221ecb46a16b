"""Terminal control characters never reach a Markdown export: `incident export | cat` must not let
a hostile title, note or runbook text retitle the terminal, clear it or ring it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import run_forked
from tsbrunbook.domain import markdown as md
from tsbrunbook.domain.brief import support_brief
from tsbrunbook.domain.export import checklist_markdown
from tsbrunbook.domain.incident import IncidentSession
from tsbrunbook.domain.incident_markdown import incident_markdown
from tsbrunbook.domain.runbooks.paths import runbooks_dir
from tsbrunbook.workspace import Workspace

# OSC retitle ended by BEL, a 7-bit CSI, the 8-bit C1 CSI (\x9b), DEL, backspace, CR and friends.
HOSTILE = "t\x1b]0;pwn\x07 \x1b[2J\x9b31m\x7f\x08 \x85x\x1c\rend"
CONTROL_BYTES = [chr(c) for c in range(0x20) if chr(c) not in "\n"] + [
    chr(c) for c in range(0x7F, 0xA0)
]
MP = "management-plane-failure"
WC = "workload-cluster-failure@eu-west"


def no_controls(text: str, tabs: bool = False) -> None:
    bad = sorted(
        {f"{ord(ch):#04x}" for ch in text if ch in CONTROL_BYTES and not (tabs and ch == "\t")}
    )
    assert not bad, f"control characters in the output: {bad}"


def test_helpers_drop_control_characters():
    for out in (
        md.inline(HOSTILE),
        md.code_span(HOSTILE),
        md.cell_code(HOSTILE),
        md.table([HOSTILE], [[HOSTILE]]),
        md.link(HOSTILE, "https://x/\x1b[2J"),
    ):
        no_controls(out)
        assert "pwn" not in out and "end" in out  # the whole sequence goes, payload and all
    block = md.code_block([HOSTILE, "a\tb"], lang="sh\x1b")
    no_controls(block, tabs=True)
    assert "a\tb" in block and block.startswith("```sh\n")
    no_controls(md.quote(HOSTILE + "\nsecond"))
    assert md.inline("a\x1b]0;x\x07b") == "ab"


def hostile_incident() -> IncidentSession:
    s = Workspace().start(HOSTILE)
    s.mark_down(["management-plane", "workload-cluster/eu-west"])
    s.set_step(f"{MP}/recovery/check-mp-pods", "fail", HOSTILE)
    s.set_step(f"{WC}/recovery/check-tsb-pods", "skip", HOSTILE)
    s.add_note(HOSTILE)
    s.add_note(HOSTILE, f"{MP}/recovery/check-mp-pods")
    s.raise_escalation(f"{MP}/restoration/engage-tetrate-support", HOSTILE)
    return s


def test_export_brief_and_checklists_carry_no_control_characters():
    s = hostile_incident()
    export = incident_markdown(s.state, s.engine)
    brief = support_brief(s.state, s.engine)
    for text in (export, brief):
        no_controls(text)
        assert "pwn" not in text and "end" in text
    scenario = s.engine.pack.scenario(MP)
    states = {"check-mp-pods": s.state.steps[f"{MP}/recovery/check-mp-pods"]}
    checklist = checklist_markdown(scenario, "recovery", s.engine.estate, None, states)
    no_controls(checklist)
    assert "pwn" not in checklist and "end" in checklist


def test_runbook_text_with_escapes_is_cleaned(tmp_path, monkeypatch, cli):
    """YAML can carry controls too (a double-quoted "\\e"): the checklist command drops them."""
    root = tmp_path / "runbooks"
    shutil.copytree(runbooks_dir(), root)
    path = root / "scenarios" / "workload-cluster-failure.yaml"
    text = path.read_text()
    for old, new in (
        (
            "title: Confirm the cluster answers again",
            'title: "Confirm \\e]0;pwn\\a the cluster \\x9b2J"',
        ),
        (
            "- 'kubectl --context {{cluster_context}} get nodes'",
            '- "kubectl \\e[2J get nodes\\r\\x07"',
        ),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text)
    monkeypatch.setenv("TSBRUNBOOK_RUNBOOKS", str(root))
    result = cli("checklist", "workload-cluster-failure", "--cluster", "eu-west")
    assert result.rc == 0, result.err
    assert "Confirm the cluster" in result.out and "kubectl  get nodes" in result.out
    assert "pwn" not in result.out and "2J" not in result.out
    no_controls(result.out)


def test_cli_export_and_brief_files_carry_no_control_characters(tmp_path):
    env = {"TSBRUNBOOK_HOME": str(tmp_path / "home")}
    start = run_forked("incident", "start", HOSTILE, env=env)
    assert start.rc == 0, start.err
    iid = start.out.strip().splitlines()[-1].split()[0]
    assert run_forked("incident", "note", iid, HOSTILE, env=env).rc == 0
    for argv in (["incident", "export", iid], ["incident", "brief", iid]):
        out = run_forked(*argv, env=env)
        assert out.rc == 0, out.err
        no_controls(out.out)
        target = tmp_path / (argv[1] + ".md")
        written = run_forked(*argv, "-o", str(target), env=env)
        assert written.rc == 0, written.err
        no_controls(Path(target).read_text(encoding="utf-8"))
