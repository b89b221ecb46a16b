"""Nothing is cut mid-word on screen at 80×24 or 160×48: labels and titles that do not fit end
in "…" after a whole word, markers (🆘, notes) stay, the footer keeps `?` and `q`, and help's
hint shows without scrolling."""

from __future__ import annotations

import re

import pytest

from tests.tui.support import settle, snapshot_app

SIZES = [(80, 24), (160, 48)]
LONG_TITLE = "eu-west edge down after the upgrade of the control plane to the new release"


def screen_lines(app) -> list[str]:
    """The rendered screen (the active screen, dialogs and toasts included), line by line."""
    return [
        "".join(s.text for s in strip if not s.control)
        for strip in app.screen._compositor.render_strips()
    ]


def shown_whole_or_cut_at_a_word(lines: list[str], phrase: str) -> bool:
    """`phrase` is on a line whole, or as its first words then "…"; never cut inside a word.
    False when not even its first word is on screen (scrolled away)."""
    first_word = len(phrase.split(" ")[0])
    best, where = 0, ""
    for line in lines:
        for k in range(len(phrase), best, -1):
            at = line.find(phrase[:k])
            # Followed by more words, it is another phrase that starts alike.
            rest = line[at + k :].lstrip(" ")
            if at >= 0 and (k == len(phrase) or not rest or not rest[0].isalnum()):
                best, where = k, line
                break
    if best == len(phrase):
        return True
    if best <= first_word:  # one word in common is no evidence of this phrase
        return False
    at = where.find(phrase[:best])
    if where[at + best : at + best + 1] == "…":
        # Only what a word-boundary cut removes (a space, punctuation) may be missing before it.
        kept = phrase[:best].rstrip(" ,;:·—–-/")
        assert not phrase[len(kept)].isalnum(), f"{phrase!r} cut inside a word: {where!r}"
        return True
    mid_word = phrase[best - 1].isalnum() and phrase[best].isalnum()
    assert not mid_word, f"{phrase!r} is cut inside a word on screen: {where!r}"
    return False  # a shorter phrase that starts alike


def down_and_escalation(session) -> None:
    session.mark_down(["edge-control-plane/eu-west", "central-control-plane"])


@pytest.mark.parametrize("size", SIZES)
async def test_step_titles_are_whole_or_cut_at_a_word_with_their_markers(size):
    from tsbrunbook.domain.incident import checklists

    app = snapshot_app(down_and_escalation)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await pilot.pause()
        views = checklists(app.session.state, app.engine)
        steps = [s for v in views if v.phase == "recovery" for s in v.steps]
        lines = screen_lines(app)
        seen = 0
        for sv in steps:
            if shown_whole_or_cut_at_a_word(lines, sv.step.title):
                seen += 1
                if sv.step.escalation:
                    line = next(ln for ln in lines if sv.step.title.split()[0] in ln and "[" in ln)
                    assert "🆘" in line, f"🆘 cut from {sv.step.title!r}: {line!r}"
        assert seen >= 5, "\n".join(lines)
        for view in views:
            shown_whole_or_cut_at_a_word(lines, view.title)


async def test_the_empty_checklists_hint_is_cut_at_a_word_at_80_columns():
    app = snapshot_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await pilot.pause()
        lines = screen_lines(app)
        phrase = (
            "Nothing is down: no checklist applies. Mark a component down in the components pane."
        )
        assert shown_whole_or_cut_at_a_word(lines, phrase), "\n".join(lines)


@pytest.mark.parametrize("size", SIZES)
async def test_a_long_incident_title_ends_at_a_word(size):
    app = snapshot_app(down_and_escalation, title=LONG_TITLE)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        header = screen_lines(app)[0]
        shown = shown_whole_or_cut_at_a_word([header], LONG_TITLE)
        if size[0] >= 160:  # at 80 columns the counts come first and the title may not fit
            assert shown, header


@pytest.mark.parametrize("pane", ["1", "2", "3"])
async def test_footer_keeps_help_and_quit_at_80_columns(pane):
    app = snapshot_app(down_and_escalation)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(pane)
        await pilot.pause()
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert re.search(r"\?\s+Help", footer), footer
        assert re.search(r"q\s+Quit", footer), footer


async def test_help_hint_shows_without_scrolling_at_80x24():
    app = snapshot_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "esc or ? closes this help" in text.lower(), text


@pytest.mark.parametrize("size", SIZES)
async def test_help_descriptions_wrap_under_their_column(size):
    """A description too long for one line continues under itself, not under the keys."""
    app = snapshot_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        lines = screen_lines(app)
        start = next(ln for ln in lines if "ctrl+p" in ln)
        column = start.index("command palette")
        after = lines[lines.index(start) + 1]
        if "mark down/up" not in start or "theme" not in start:  # it wrapped
            left = start.index("█")  # the dialog's border
            assert after[column:].strip(" █"), (start, after)
            assert after[left + 1 : column].strip() == "", f"continuation flush left: {after!r}"


@pytest.mark.parametrize("size", SIZES)
async def test_a_step_ref_wraps_after_a_slash_with_a_hanging_indent(size):
    """The longest refs do not fit the step detail at 80 (nor at 160) columns: they break after
    a `/` and go on indented under the ref, never inside a word."""
    from tsbrunbook.tui.widgets.checklists import ChecklistsPane

    app = snapshot_app(lambda session: session.mark_down(["edge-control-plane/eu-central"]))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("3", "r")
        await pilot.pause()
        pane = app.main.query_one(ChecklistsPane)
        view = pane.tree_view.current_step()
        assert view is not None
        ref = view.ref
        assert (
            ref == "edge-control-plane-failure@eu-central/restoration/reinstall-edge-control-plane"
        )
        text, shown = pane.detail.content_region, pane.detail.parent.content_region  # scrolled
        lines = screen_lines(app)
        rows = [lines[y][text.x : text.right] for y in range(shown.y, shown.bottom)]
        start = next(i for i, row in enumerate(rows) if row.startswith(ref[:20]))
        pieces = [rows[start].rstrip()]
        while "".join(p.strip() for p in pieces) != ref:
            assert start + len(pieces) < len(rows), rows
            row = rows[start + len(pieces)]
            assert row.startswith("  ") and row.strip(), f"not a hanging indent: {row!r}"
            pieces.append(row.rstrip())
            assert len(pieces) < 6, rows
        assert len(pieces) > 1, "the ref was expected not to fit on one line here"
        for piece in pieces[:-1]:
            assert piece.endswith("/"), f"ref cut inside a word: {pieces!r}"
