"""The one sanitiser for text shown to a person, in a terminal or in the TUI.

Titles, notes, skip reasons, case numbers and estate names are written by other people and
processes (alert hooks, a colleague, a shared estate repository). Shown as they are, they could
drive the terminal: `ESC ] 52 ; c ; … BEL` sets the clipboard, `ESC [ 2 J` blanks the screen,
`ESC ] 0 ; … BEL` retitles the window. Bidirectional overrides and zero-width characters make
text look like something else (`U+202E` reverses what follows; a zero-width space hides inside a
word). `display()` removes all of them and is what every screen, table and export goes through.

Escape sequences are removed whole where they can be recognised (CSI `ESC [ … final`, OSC
`ESC ] … BEL/ST`, DCS/SOS/PM/APC `ESC P … ST`, their 8-bit C1 forms, and two-byte `ESC x`), so no
payload such as `]52;c;cHduZWQ=` is left behind; any stray control character left after that is
dropped. The emoji variation selector U+FE0F is kept (⚠️ needs it).
"""

from __future__ import annotations

import re

# String sequences (OSC, DCS, SOS, PM, APC) in their 7-bit (ESC x) and 8-bit (C1) forms: the
# payload runs to BEL or ST (ESC \ or C1 0x9c). Without a terminator, a terminal would swallow
# what follows too; here the payload ends at the next control character (a newline at the
# latest), so an unterminated sequence never shows its payload and never eats other lines.
_STRING_SEQUENCE = (
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?"
)
# CSI: parameters 0x30–0x3f, intermediates 0x20–0x2f, a final 0x40–0x7e (absent when cut short).
_CSI = r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
# Any other escape: ESC, intermediates, one final byte (ESC ( B, ESC 7, ESC c, ESC =). A space
# is an intermediate too, but after a lone ESC it is far more likely ordinary text: it ends here.
_OTHER_ESCAPE = r"\x1b[!-/]*[0-~]?"
_ESCAPE_SEQUENCE = re.compile(f"{_STRING_SEQUENCE}|{_CSI}|{_OTHER_ESCAPE}")

# Line breaks in every spelling a terminal or Unicode knows (CR LF, CR, VT, FF, NEL, the file/
# group/record separators Python's splitlines honours, LINE and PARAGRAPH SEPARATOR).
_LINE_BREAK = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")

# Invisible characters that change how text looks or reads:
# - bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E/F, U+202A–E, U+2066–9);
# - zero-width space/non-joiner/joiner, word joiner, invisible operators, deprecated format
#   characters, the byte-order mark, the Mongolian vowel separator, the soft hyphen.
#   The zero-width joiner (U+200D) goes too: it only glues emoji into one picture, and the
#   terminal and Textual disagree on how wide such a picture is, which shifts the line; the
#   emoji stay, side by side;
# - lone surrogates (from JSON `\ud800`), which cannot even be encoded for the terminal.
_INVISIBLE = (
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ud800-\udfff"
)
# Control characters (C0 but tab and newline, DEL, C1) and the invisible ones above.
_DROP = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")

# What JSON may carry raw but a terminal must not see (JSON already escapes C0 controls).
_ESCAPABLE = re.compile(f"[\x7f-\x9f{_INVISIBLE}]")

TAB_SIZE = 4


def display(text: object, multiline: bool = False, keep_tabs: bool = False) -> str:
    """`text` as it may be shown to a person: no escape sequence, control character,
    bidirectional override or zero-width character.

    One line unless `multiline`: every line break and tab becomes a space. With `multiline`,
    CR LF, CR and the other line breaks become newlines and tabs become spaces (to the next
    multiple of four columns), unless `keep_tabs` (a Markdown code block keeps them)."""
    text = str(text)
    if text.isascii() and text.isprintable():
        # Space to tilde only: no escape, control, line break, tab or invisible character to
        # remove (most labels are such, and every redraw shows hundreds of them).
        return text
    text = _ESCAPE_SEQUENCE.sub("", text)
    if multiline:
        text = _LINE_BREAK.sub("\n", text)
        if not keep_tabs:
            text = "\n".join(line.expandtabs(TAB_SIZE) for line in text.split("\n"))
    else:
        text = _LINE_BREAK.sub(" ", text)
        if not keep_tabs:
            text = text.replace("\t", " ")
    # Whatever is left: stray controls (a lone BEL, NUL, backspace, C1) and invisible characters.
    return _DROP.sub("", text)


def one_line(text: object, width: int = 0) -> str:
    """`display(text)` with runs of whitespace collapsed to one space, cut to `width`
    characters at a word boundary with an ellipsis when it is longer (no cut when `width`
    is 0; see `cut_at_word`)."""
    cleaned = " ".join(display(text).split())
    return cut_at_word(cleaned, width) if width else cleaned


# Left dangling before an ellipsis, these read as part of a cut sentence: "down, …".
_TRAILING_PUNCTUATION = " ,;:·—–-/"


def cut_at_word(text: str, width: int) -> str:
    """`text` if it fits in `width` characters, otherwise its longest run of whole words that
    fits with an ellipsis after it ("Mark a component…", never "Mark a component dow…").
    A first word longer than `width` has no boundary to cut at: it is cut where it must be."""
    if len(text) <= width:
        return text
    room = max(width - 1, 0)  # the ellipsis takes one cell
    head = text[:room]
    if text[room : room + 1] != " ":  # the cut falls inside a word: drop that word
        space = head.rfind(" ")
        if space > 0:
            head = head[:space]
    return head.rstrip(_TRAILING_PUNCTUATION) + "…"


def escape_invisible(text: str) -> str:
    """`text` with every character `display` would drop written as a `\\uXXXX` escape: for JSON,
    which must keep the data as it is (it decodes to the same string) yet is read on terminals.
    (JSON escapes C0 itself; DEL, C1, bidi and zero-width characters it would print raw.)"""
    return _ESCAPABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
