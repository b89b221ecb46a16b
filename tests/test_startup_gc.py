"""The garbage collector is paused while `tsbrunbook` starts (tsbrunbook/startup_gc.py): a
command runs with it on again, the TUI turns it on just after its first frame, and nothing turns
it on that this module did not turn off."""

from __future__ import annotations

import argparse
import gc

import pytest

from tests.tui.support import settle, snapshot_app, until
from tsbrunbook import entry, startup_gc
from tsbrunbook.cli.screen import opens_screen


@pytest.fixture(autouse=True)
def collector_back_on():
    was = gc.isenabled()
    yield
    startup_gc._paused = False
    if was:
        gc.enable()


def run_command(monkeypatch, command) -> int:
    """`tsbrunbook probe-gc` through the real entry point, `command` being what it runs."""

    class Parser:
        def parse_args(self, argv):
            return argparse.Namespace(command="probe-gc", database_url=None, func=command)

    monkeypatch.setattr("tsbrunbook.cli.build_parser", lambda: Parser())
    return entry.main(["probe-gc"])


def test_a_command_runs_with_the_collector_on(monkeypatch):
    seen = []
    assert run_command(monkeypatch, lambda args, workspace: seen.append(gc.isenabled())) == 0
    assert seen == [True] and gc.isenabled()


def test_a_command_that_opens_the_tui_keeps_it_paused_until_the_first_frame(monkeypatch):
    seen = []

    @opens_screen
    def command(args, workspace):
        seen.append(gc.isenabled())

    assert run_command(monkeypatch, command) == 0
    assert seen == [False]  # the TUI's first frame turns it on (below); here main's end does
    assert gc.isenabled()


def test_the_program_pauses_it_while_it_starts(monkeypatch):
    states = []

    def cli_main(argv, open_screen, serve):  # what entry.main hands over to
        states.append(gc.isenabled())
        return 0

    monkeypatch.setattr("tsbrunbook.cli.main", cli_main)
    assert entry.main([]) == 0
    assert states == [False]  # while starting
    assert gc.isenabled()  # and on again when the program returns


async def test_the_tui_turns_it_on_just_after_its_first_frame():
    startup_gc.pause()
    assert not gc.isenabled()
    app = snapshot_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await until(pilot, gc.isenabled)
    assert not startup_gc._paused


def test_resume_leaves_a_collector_someone_else_paused_alone():
    gc.disable()
    startup_gc.pause()  # already off: not ours to turn back on
    startup_gc.resume()
    assert not gc.isenabled()
