"""The TUI's copy (OSC 52 and tmux's buffer, said honestly), rename and close, long notes in
$EDITOR, and step dialogs that name their step."""

from __future__ import annotations

import contextlib
import os
import stat

import pytest
from textual.widgets import Input

from tests.tui.support import select_component, settle, until
from tsbrunbook.domain.errors import UserError
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.clipboard import tmux_load_buffer
from tsbrunbook.tui.editor import edit_note
from tsbrunbook.tui.screens.confirm import ConfirmScreen
from tsbrunbook.tui.screens.prompt import PromptScreen
from tsbrunbook.tui.widgets.checklists import ChecklistsPane
from tsbrunbook.workspace import Workspace


def new_app() -> RunbookApp:
    workspace = Workspace()
    return RunbookApp(workspace, workspace.resume_or_start(None))


def script(path, body: str):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def fake_tmux(tmp_path, monkeypatch, body: str = 'cat > "$REC.tmp"; mv "$REC.tmp" "$REC"\n'):
    """A `tmux` first on PATH that records its arguments and stdin, and `$TMUX` set."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "tmux-stdin"
    script(bindir / "tmux", f'REC={record}\necho "$@" > "$REC.args"\n' + body)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TMUX", "/tmp/tmux-fake/default,1,0")
    return record


def messages(app: RunbookApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def on_a_step_with_commands(pilot, app: RunbookApp):
    """Mark the eu-west edge down, go to its checklist, and down to a step with commands."""
    select_component(app, "edge-control-plane/eu-west")
    await settle(pilot)
    await pilot.press("space", "3")
    await settle(pilot)
    pane = app.screen.query_one(ChecklistsPane)
    for _ in range(40):
        view = pane.tree_view.current_step()
        if view is not None and view.step.commands:
            return pane, view
        await pilot.press("down")
    raise AssertionError("no step with commands in the first 40 rows")


async def test_copy_under_tmux_loads_the_buffer_and_says_so(tmp_path, monkeypatch):
    record = fake_tmux(tmp_path, monkeypatch)
    app = new_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        pane, view = await on_a_step_with_commands(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: any("tmux" in m for m in messages(app)))
        assert "Command copied (OSC 52 and tmux buffer)" in messages(app)
    assert record.read_text() == "\n".join(pane.commands(view))
    assert record.with_suffix(".args").read_text().split() == ["load-buffer", "-w", "-"]


async def test_copy_outside_tmux_says_osc52_is_unconfirmed(monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    app = new_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await on_a_step_with_commands(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: any("OSC 52" in m for m in messages(app)))
    assert (
        "Command copied to the terminal clipboard (OSC 52) — not confirmed by the terminal"
        in messages(app)
    )


async def test_a_failing_tmux_is_named_in_a_warning(tmp_path, monkeypatch):
    fake_tmux(tmp_path, monkeypatch, body="echo 'no server running' >&2; exit 1\n")
    app = new_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await on_a_step_with_commands(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: any("tmux" in m for m in messages(app)))
    (said,) = [m for m in messages(app) if "tmux" in m]
    assert "not confirmed" in said and "no server running" in said


async def test_brief_says_where_it_is_written_and_how_it_was_copied(tmp_path, monkeypatch):
    record = fake_tmux(tmp_path, monkeypatch)
    app = new_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("B")
        await until(pilot, lambda: any("tmux" in m for m in messages(app)))
    path = os.path.join(os.environ["TSBRUNBOOK_EXPORT_DIR"], f"{app.session.id}-brief.md")
    (said,) = [m for m in messages(app) if "brief" in m.lower()]
    assert f"written to {path}" in said and "copied (OSC 52 and tmux buffer)" in said
    with open(path, encoding="utf-8") as brief:
        assert record.read_text() == brief.read()


def test_a_hung_tmux_is_given_up_on_within_the_timeout(tmp_path, monkeypatch):
    fake_tmux(tmp_path, monkeypatch, body="exec sleep 30\n")
    copied = tmux_load_buffer("x", timeout=0.5)
    assert copied.tmux is False and "did not answer" in copied.tmux_error


async def test_rename_from_the_key_keeps_both_titles_in_the_timeline():
    app = new_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        old = app.session.state.title
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one("#answer", Input).value = "  eu-west   edge down  "
        await pilot.press("enter")
        await settle(pilot)
        assert app.session.state.title == "eu-west edge down"
    events = Workspace().store.events(app.session.id)
    assert events[0].data["title"] == old
    assert events[-1].type == "renamed" and events[-1].data == {"title": "eu-west edge down"}


@pytest.mark.long
async def test_close_from_the_palette_asks_first():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Close this incident")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot)
        # Each answer's effect read into its own name: mypy would carry `not ….closed` over
        # the key presses that change it.
        closed_after_no = app.session.state.closed
        assert not closed_after_no
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot)
        closed_after_yes = app.session.state.closed
        assert closed_after_yes
    assert Workspace().open(app.session.id).state.closed


async def test_skip_dialog_names_the_step():
    app = new_app()
    async with app.run_test(size=(160, 48)) as pilot:
        pane, view = await on_a_step_with_commands(pilot, app)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        assert view.step.title[:20] in prompt.question


async def test_long_note_key_stores_what_the_editor_wrote(tmp_path, monkeypatch):
    """Headless Pilot cannot suspend (no terminal to hand over): suspend is a no-op here, the
    editor is a real process writing into the file."""
    editor = script(tmp_path / "editor", "printf 'line one\\nline two\\n' > \"$1\"\n")
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    app = new_app()
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("N")
        await settle(pilot)
        assert app.session.state.notes[-1][1:3] == ("line one\nline two", None)


def test_edit_note_refuses_an_editor_that_fails(tmp_path):
    editor = script(tmp_path / "editor", "exit 3\n")
    with pytest.raises(UserError, match="exited with status 3"):
        edit_note("the incident", env={"EDITOR": str(editor)})
    with pytest.raises(UserError, match="could not be started"):
        edit_note("the incident", env={"EDITOR": str(tmp_path / "missing")})
