"""Hostile corpus: stored text that would drive the terminal, through the real CLI.

Each case stores one hostile string (a title, a note, a step note, a skip reason, a case number,
the actor's name) in an incident, then reads the incident back with the real process:
`incident show` (text, JSON, Markdown), `incident list` (text, JSON) and `incident export`. Every
answer is a clean acceptance: exit 0, and stdout carries no control character, no escape-sequence
payload, no bidirectional override or zero-width character; the text around them still shows,
and JSON still holds the data exactly (escaped).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.harness import Bounded, accepted, refused, run_bounded

MP = "management-plane-failure"
STEP = f"{MP}/recovery/check-mp-pods"
ESCALATION = f"{MP}/restoration/engage-tetrate-support"

# Characters a terminal must not receive from stored text (tab and newline are layout).
FORBIDDEN = {chr(c) for c in range(0x20) if c not in (0x09, 0x0A)} | {
    chr(c) for c in range(0x7F, 0xA0)
}
FORBIDDEN |= set(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)

# (case id, where the text is stored, the hostile text, payload fragments that must not show).
# Every text starts with MARK and ends with END, which must both show.
CASES = [
    ("title-osc52-bel", "title", "MARK \x1b]52;c;cHduZWQ=\x07 END", ["cHduZWQ=", "52;c"]),
    (
        "title-osc0-retitle-and-clear",
        "title",
        "MARK \x1b]0;pwned-title\x07\x1b[2J\x1b[H END",
        ["pwned-title", "[2J"],
    ),
    (
        "title-c1-csi-and-osc",
        "title",
        "MARK \x9b2J \x9d0;pwned-title\x9c END",
        ["pwned-title", "2J"],
    ),
    ("title-bidi-override", "title", "MARK \u202eexe.txt\u202c \u2066x\u2069 \u061c END", []),
    ("title-zero-width", "title", "MARK ku\u200bbe\u200cct\u200dl\u2060\ufeff END", []),
    (
        "note-dcs-and-apc",
        "note",
        "MARK \x1bPq#0;2;0;0;0#0~~\x1b\\ \x1b_Gf=100;AAAA\x1b\\ END",
        ["#0;2;0", "Gf=100"],
    ),
    ("note-cr-overwrite-nel", "note", "MARK safe\rEVIL\x85line\u2028two END", []),
    ("note-nul-bel-bs-del", "note", "MARK \x00\x07\x08\x7f\x1b END", []),
    (
        "note-osc8-hyperlink",
        "note",
        "MARK \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ END",
        ["evil.example"],
    ),
    ("step-note-osc52-st", "step-note", "MARK \x1b]52;c;cHduZWQ=\x1b\\ END", ["cHduZWQ=", "52;c"]),
    ("skip-reason-alternate-screen", "skip", "MARK \x1b[?1049h\x1b[?25l END", ["?1049h", "?25l"]),
    ("case-number-csi-colour-blink", "case", "MARK \x1b[5;31m\x1b[8m END", ["5;31m"]),
    ("actor-name-osc52", "actor", "MARK\x1b]52;c;cHduZWQ=\x07END", ["cHduZWQ="]),
    (
        "note-markup-and-escape",
        "note",
        "MARK [bold red]x[/] [@click=app.quit] \x1b[31m END",
        ["[31m"],
    ),
]

# Each case's own markers, so a text that vanished is noticed even in the shared incident.
CASES = [
    (case_id, where, text.replace("MARK", f"MARKx{n:02d}x", 1).replace("END", f"ENDx{n:02d}x"), bad)
    for n, (case_id, where, text, bad) in enumerate(CASES)
]


def markers(text: str) -> tuple[str, str]:
    return text.split()[0][:8], "ENDx" + text.rsplit("ENDx", 1)[1][:3]


COMMANDS = {
    "show": ["incident", "show", "{id}"],
    "show-json": ["incident", "show", "{id}", "--format", "json"],
    "show-markdown": ["incident", "show", "{id}", "--format", "markdown"],
    "list": ["incident", "list"],
    "list-json": ["incident", "list", "--format", "json"],
    "export": ["incident", "export", "{id}"],
}
# Where each kind of stored text shows: the title in every listing, the rest in show and export
# (the actor only in the Markdown and JSON renderings; the table of `list` cuts titles at 50).
SHOWN_IN = {
    "title": ["show", "show-json", "show-markdown", "list", "list-json", "export"],
    "note": ["show", "show-json", "export"],
    "step-note": ["show", "show-json", "export"],
    "skip": ["show", "show-json", "export"],
    "case": ["show", "show-json", "export"],
    "actor": ["show-json", "show-markdown", "export"],
}


PER_INCIDENT = [name for name in COMMANDS if "{id}" in " ".join(COMMANDS[name])]


def store_corpus(home: Path) -> dict[str, str]:
    """Every case's text stored as a hook would: each hostile title in an incident of its own,
    every other text (notes, step note, skip reason, case number, actor) in one shared incident.
    Case id → incident id."""
    from tsbrunbook.store.sqlite import Store
    from tsbrunbook.workspace import Workspace

    placed: dict[str, str] = {}
    with Workspace(store=Store(home / "incidents.sqlite3")) as workspace:
        shared = workspace.start("hostile display corpus")
        shared.mark_down(["management-plane"])
        for case_id, where, text, _ in CASES:
            if where == "title":
                session = workspace.start(text)
                session.mark_down(["management-plane"])
                placed[case_id] = session.id
                continue
            with pytest.MonkeyPatch.context() as mp:
                if where == "actor":
                    mp.setenv("LOGNAME", text)  # getpass.getuser() reads LOGNAME first
                if where in ("note", "actor"):
                    shared.add_note(text)
                elif where == "step-note":
                    shared.add_note(text, STEP)
                elif where == "skip":
                    shared.set_step(STEP, "skip", text)
                elif where == "case":
                    shared.raise_escalation(ESCALATION, text)
            placed[case_id] = shared.id
    return placed


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[dict[str, str], dict[tuple[str, str], Bounded]]:
    """The stored corpus and every command's answer, each command run once per incident (the
    real process costs the most here; every case then reads the answers it needs)."""
    home = tmp_path_factory.mktemp("display-corpus")
    placed = store_corpus(home)
    env = {"TSBRUNBOOK_HOME": str(home), "TSBRUNBOOK_EXPORT_DIR": str(home / "exports")}
    answers: dict[tuple[str, str], Bounded] = {}
    for incident in sorted(set(placed.values())):
        for name in PER_INCIDENT:
            argv = [a.format(id=incident) for a in COMMANDS[name]]
            answers[(name, incident)] = accepted(run_bounded(*argv, env=env))
    for name in set(COMMANDS) - set(PER_INCIDENT):
        answer = accepted(run_bounded(*COMMANDS[name], env=env))
        for incident in set(placed.values()):
            answers[(name, incident)] = answer
    return placed, answers


def strings(data: object):
    """Every string in decoded JSON."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


def check_clean(out: str, payload: list[str]) -> None:
    bad = sorted({f"U+{ord(ch):04X}" for ch in out if ch in FORBIDDEN})
    assert not bad, f"characters that act on a terminal reached stdout: {bad}\n{out[:3000]}"
    for fragment in payload:
        assert fragment not in out, f"escape-sequence payload {fragment!r} on stdout:\n{out[:3000]}"


@pytest.mark.parametrize(
    "case_id,where,text,payload", [tuple(c) for c in CASES], ids=[c[0] for c in CASES]
)
def test_stored_hostile_text_reads_back_clean(case_id, where, text, payload, corpus):
    placed, answers = corpus
    for name in COMMANDS:
        result = answers[(name, placed[case_id])]
        if name.endswith("json"):
            data = json.loads(result.out)
            if name in SHOWN_IN[where]:
                stored = " ".join(text.split()) if where == "title" else text  # titles are one line
                assert any(stored in s for s in strings(data)), (
                    f"{name}: the data was not kept exactly"
                )
        # JSON keeps the data exactly (escaped, so a payload may be read there, inert).
        check_clean(result.out, [] if name.endswith("json") else payload)
        if name in SHOWN_IN[where] and not name.endswith("json"):
            start, end = markers(text)
            assert start in result.out and end in result.out, (
                f"{name}: the text around the sequences is gone\n{result.out[:3000]}"
            )


def test_an_argument_that_is_not_utf8_is_refused_before_anything_is_written(tmp_path):
    """Undecodable bytes reach Python as lone surrogates; they are refused in one line."""
    env = {"TSBRUNBOOK_HOME": str(tmp_path / "home")}
    assert run_bounded("incident", "start", "bytes", env=env).rc == 0
    (summary,) = json.loads(run_bounded("incident", "list", "--format", "json", env=env).out)
    before = run_bounded("incident", "show", summary["id"], "--format", "json", env=env).out
    # subprocess passes a bytes argument through as it is: the child sees invalid UTF-8.
    result = run_bounded("incident", "note", summary["id"], b"\xff\xfe note", env=env)  # type: ignore[arg-type]
    refused(result, "argument 4", "not valid UTF-8")
    after = run_bounded("incident", "show", summary["id"], "--format", "json", env=env).out
    assert json.loads(after)["timeline"] == json.loads(before)["timeline"]
