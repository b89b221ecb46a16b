"""The one display sanitiser (tsbrunbook.domain.text) over a hostile corpus: no control
character, escape-sequence payload, bidirectional override or zero-width character survives,
and ordinary text (emoji with their variation selector, accents, CJK, markup brackets) does."""

from __future__ import annotations

import pytest

from tsbrunbook.domain.text import display, one_line

# Everything that must never reach a person's screen.
CONTROLS = {chr(c) for c in range(0x20) if c not in (0x09, 0x0A)} | {
    chr(c) for c in range(0x7F, 0xA0)
}
INVISIBLE = set(
    "\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)


def forbidden(text: str, multiline: bool = False) -> list[str]:
    allowed = {"\n"} if multiline else set()
    return sorted(
        {
            f"U+{ord(ch):04X}"
            for ch in text
            if (ch in CONTROLS or ch in INVISIBLE or ch == "\t") and ch not in allowed
        }
    )


# (hostile input, what display() must give). Payloads of recognised sequences go with them.
CASES = [
    ("osc52-bel", "a\x1b]52;c;cHduZWQ=\x07b", "ab"),
    ("osc52-st", "a\x1b]52;c;cHduZWQ=\x1b\\b", "ab"),
    ("osc52-c1-st", "a\x1b]52;c;cHduZWQ=\x9cb", "ab"),
    ("osc52-8bit", "a\x9d52;c;cHduZWQ=\x07b", "ab"),
    ("osc0-title", "\x1b]0;owned\x07Checkout down", "Checkout down"),
    ("osc8-hyperlink", "\x1b]8;;https://evil\x1b\\click\x1b]8;;\x1b\\", "click"),
    ("osc-unterminated", "x\x1b]52;c;cHduZWQ=", "x"),
    ("osc-unterminated-line", "x\x1b]0;title\nnext", "x next"),
    ("csi-clear", "a\x1b[2Jb", "ab"),
    ("csi-colour", "\x1b[31;1mred\x1b[0m", "red"),
    ("csi-private", "a\x1b[?1049hb", "ab"),
    ("csi-8bit", "a\x9b2Jb", "ab"),
    ("csi-cut-short", "a\x1b[12", "a"),
    ("dcs", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
    ("dcs-8bit", "a\x90tmux;payload\x9cb", "ab"),
    ("apc", "a\x1b_Gf=100;AAAA\x1b\\b", "ab"),
    ("pm-sos", "a\x1b^pm\x1b\\\x1bXsos\x1b\\b", "ab"),
    ("esc-reset", "a\x1bcb", "ab"),
    ("esc-charset", "a\x1b(0b", "ab"),
    ("esc-alone-at-end", "ab\x1b", "ab"),
    ("bel-nul-bs-del", "a\x07\x00\x08\x7fb", "ab"),
    ("c1-stray", "a\x84\x8e\x9ab", "ab"),
    ("bidi-override", "evil\u202etxt.exe", "eviltxt.exe"),
    ("bidi-isolates", "\u2066a\u2067b\u2068c\u2069", "abc"),
    ("bidi-marks", "\u200ea\u200fb\u061cc", "abc"),
    ("zero-width", "ku\u200bbe\u200cct\u2060l\ufeff", "kubectl"),
    ("zero-width-joiner", "👩\u200d💻", "👩💻"),
    ("soft-hyphen-invisible-ops", "a\u00adb\u2062c", "abc"),
    ("lone-surrogate", "a\ud800b", "ab"),
    ("crlf", "one\r\ntwo", "one two"),
    ("cr-overwrite", "safe\rEVIL", "safe EVIL"),
    ("nel-ls-ps", "a\x85b\u2028c\u2029d", "a b c d"),
    ("tab", "a\tb", "a b"),
]


@pytest.mark.parametrize(
    "raw,want", [(raw, want) for _, raw, want in CASES], ids=[name for name, _, _ in CASES]
)
def test_display_removes_hostile_characters(raw, want):
    shown = display(raw)
    assert shown == want
    assert not forbidden(shown)
    assert not forbidden(display(raw, multiline=True), multiline=True)


@pytest.mark.parametrize(
    "text",
    [
        "⚠️ limited",
        "✅ ok ❌ outage 🆘",
        "Zürich – café",
        "東京クラスタ",
        "[bold red]x[/] [@click=app.quit]",
        "a\\b $HOME `id`",
        "👍🏽 ok",
    ],
)
def test_display_keeps_ordinary_text(text):
    assert display(text) == text
    assert display(text, multiline=True) == text
    assert one_line(text) == text


def test_variation_selector_is_kept():
    assert "\ufe0f" in display("⚠\ufe0f")


def test_multiline_keeps_line_breaks_and_expands_tabs():
    assert display("one\r\ntwo\rthree\nfour", multiline=True) == "one\ntwo\nthree\nfour"
    assert display("a\tb\n\tc", multiline=True) == "a   b\n    c"
    assert display("a\tb", multiline=True, keep_tabs=True) == "a\tb"
    assert display("x\x1b]52;c;AAAA\x07\ny\x1b[2J", multiline=True) == "x\ny"


def test_every_control_character_goes_alone_and_in_combinations():
    every = "".join(sorted(CONTROLS | INVISIBLE))
    for multiline in (False, True):
        shown = display(f"start{every}end", multiline=multiline)
        assert not forbidden(shown, multiline), shown
        assert shown.startswith("start")
    for ch in sorted(CONTROLS | INVISIBLE):
        assert not forbidden(display(f"a{ch}b")), repr(ch)
        assert not forbidden(display(f"a{ch}b", multiline=True), True), repr(ch)


def test_one_line_collapses_and_cuts():
    assert one_line("  a \n\n b\t\tc  ") == "a b c"
    assert one_line("a\x1b]0;t\x07 b") == "a b"
    assert one_line("abcdefghij", 5) == "abcd…"
    assert one_line("abcde", 5) == "abcde"
    assert one_line("abc d  efgh", 5) == "abc…"  # no dangling space before the ellipsis
    assert one_line(None) == "None"


def test_one_line_cuts_at_a_word_boundary():
    # The ellipsis follows a whole word: never "Mark a component dow…".
    assert one_line("Mark a component down in the components pane", 20) == "Mark a component…"
    assert one_line("(no longer matches what is down)", 14) == "(no longer…"
    assert len(one_line("Mark a component down in the components pane", 20)) <= 20
    # Punctuation before the cut is not left dangling either.
    assert one_line("down, affected, ok and more", 17) == "down, affected…"
    # One word longer than the width has no boundary: it is cut where it must be.
    assert one_line("cp-eu-west-1-management-plane", 10) == "cp-eu-wes…"
    assert one_line("short", 1) == "…"


def test_cli_and_markdown_use_the_same_sanitiser():
    from tsbrunbook.cli.text import one_line as cli_one_line
    from tsbrunbook.domain import markdown as md

    hostile = "a\x1b]52;c;cHduZWQ=\x07b\u202ec\u200bd"
    assert cli_one_line(hostile) == "abcd"
    assert md.printable(hostile) == "abcd"
    assert md.block_text(hostile + "\n\te") == "abcd\n\te"
    assert md.inline(hostile) == "abcd"


def test_a_stray_escape_before_a_space_takes_nothing_else():
    assert display("MARK \x1b END") == "MARK  END"
    assert display("a\x1b E") == "a E"


@pytest.mark.parametrize("raw", [raw for _, raw, _ in CASES], ids=[name for name, _, _ in CASES])
def test_display_is_idempotent(raw):
    for multiline in (False, True):
        once = display(raw, multiline)
        assert display(once, multiline) == once


def test_json_keeps_the_data_but_escapes_what_acts_on_a_terminal():
    import json

    from tsbrunbook.cli.text import json_text

    data = {"title": "a\x1b]52;c;x\x07\x9b\x7f\u202e\u200b⚠️ é", "n": [1, "\ud800"]}
    out = json_text(data)
    assert json.loads(out) == data
    assert not forbidden(out, multiline=True) and "\ud800" not in out
    assert "⚠️ é" in out  # readable text stays readable
