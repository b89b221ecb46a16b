"""Colours come from the theme: switching theme (the palette's "Change theme") recolours the
error, warning and success cells of every pane. Glyphs and words keep carrying the meaning."""

from __future__ import annotations

import pytest
from rich.color import Color
from textual.app import App
from textual.screen import Screen

from tests.tui.support import settle, snapshot_app


def down_and_failed(session) -> None:
    from tsbrunbook.domain.incident import checklists

    session.mark_down(["edge-control-plane/eu-west", "central-control-plane"])
    refs = [s.ref for v in checklists(session.state, session.engine) for s in v.steps]
    session.set_step(refs[0], "done")
    session.set_step(refs[1], "fail", "edge still crash-looping")


def colour_of(app: App, word: str, screen: Screen | None = None) -> Color | None:
    """The foreground colour of the first piece of the rendered screen showing `word`."""
    screen = screen or app.screen
    for strip in screen._compositor.render_strips():
        for segment in strip:
            if not segment.control and segment.text.strip() == word and segment.style:
                return segment.style.color
    raise AssertionError(f"{word!r} is not on the screen")


def theme_colour(app, variable: str) -> Color:
    return Color.parse(app.theme_variables[variable])


# (word on screen, pane key, the theme variable its colour follows)
CELLS = [
    ("limited", "2", "warning"),  # the impact table's cells
    ("ok", "2", "success"),
    ("LIMITED", "2", "warning"),  # the reasons under the table (wrapped paragraphs)
    ("(down)", "1", "error"),  # the components tree: a component marked down
    ("(affected)", "1", "warning"),
    ("FAILED", "3", "error"),  # the checklists tree: a failed step
]


@pytest.mark.parametrize("word,pane,variable", CELLS)
async def test_switching_theme_recolours(word, pane, variable):
    app = snapshot_app(down_and_failed)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press(pane)
        await pilot.pause()
        seen = {}
        for theme in ("textual-dark", "nord", "textual-light"):
            app.theme = theme
            await pilot.pause()
            await pilot.pause()
            got = colour_of(app, word)
            assert got is not None, f"{word!r} has no colour in {theme}"
            assert got.triplet == theme_colour(app, variable).triplet, (
                f"{word!r} in {theme}: {got} is not ${variable}"
            )
            seen[theme] = got.triplet
        assert len(set(seen.values())) > 1, f"{word!r} kept one colour through themes: {seen}"
