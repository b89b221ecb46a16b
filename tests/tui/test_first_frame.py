"""Start-up (issue 13, problem 10): the first frame the app draws is already the whole picture —
panes built with their data in compose, not filled after mounting — and what the first frame
does not need is not imported before it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT
from tests.tui.support import settle, snapshot_app
from tests.tui.test_snapshots import mid_incident


def frame_text(update) -> list[str]:
    """The lines of a full compositor update (a LayoutUpdate: one list of strips per row)."""
    return ["".join(seg.text for strip in row for seg in strip) for row in update.strips]


async def test_the_first_frame_already_shows_the_incident():
    app = snapshot_app(mid_incident)
    frames: list[list[str]] = []
    notifier_at_first_frame: list[object] = []
    display = app._display

    def record(screen, renderable) -> None:
        if renderable is not None and hasattr(renderable, "strips") and not frames:
            frames.append(frame_text(renderable))
            notifier_at_first_frame.append(app.notifier)
        display(screen, renderable)

    app._display = record
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        # The chat notifier (http, email, a thread) starts once the first frame is drawn.
        assert notifier_at_first_frame == [None] and app.notifier is not None
    assert frames, "no frame was drawn"
    first = "\n".join(frames[0])
    for shown in (
        "eu-west edge down after upgrade",  # the header's title
        "Edge control plane (down)",  # the components' statuses
        "Local cluster operations — overall",  # the reasons under the impact matrix
        "Clusters hit:",  # the impact summary
        "The central control plane fails",  # the checklists
        "Changes for eu-west queue until its edge control plane",  # the highlighted step's detail
    ):
        assert shown in first, f"{shown!r} is not in the first frame:\n{first}"


def test_the_first_frame_imports_no_dialog_exercise_notifier_or_yaml(tmp_path):
    """In a fresh interpreter, up to the first frame of `tsbrunbook` (the second start: the
    runbook cache is warm), none of these modules is imported."""
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from textual.app import App

def ready(app):
    print(" ".join(sorted(m for m in sys.modules if m.startswith(("tsbrunbook", "yaml", "email", "http")))))
    app.exit()

original = App.run
App.run = lambda self, *a, **k: original(self, headless=True, size=(160, 48))
App.on_ready = ready
from tsbrunbook.entry import main
main([])
"""
    env = {"TSBRUNBOOK_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [  # the first start writes the cache
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
        )
        for _ in range(2)
    ]
    assert all(proc.returncode == 0 for proc in runs), runs[-1].stderr[-2000:]
    loaded = set(runs[-1].stdout.split())
    assert "tsbrunbook.tui.screens.main" in loaded  # (the list is what it seems)
    for module in (
        "yaml",
        "email",
        "http.client",
        "tsbrunbook.integrations.notify",
        "tsbrunbook.domain.exercise",
        "tsbrunbook.domain.exercise_run",
        "tsbrunbook.tui.screens.prediction",
        "tsbrunbook.tui.screens.confirm",
        "tsbrunbook.tui.screens.prompt",
        "tsbrunbook.tui.screens.help",
        "tsbrunbook.tui.screens.incidents",
        "tsbrunbook.tui.editor",
        "tsbrunbook.integrations.probe",
    ):
        assert module not in loaded, f"{module} is imported before the first frame"


async def test_the_matrix_columns_are_as_wide_as_datatable_would_measure_them():
    """ImpactTable measures its cells by their length instead of with a Rich console: the
    widths, and the scrollable size, are what DataTable's own measuring gives."""
    from textual.render import measure

    from tsbrunbook.tui.widgets.impact import ImpactPane

    app = snapshot_app(mid_incident)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ImpactPane).table
        for index, column in enumerate(table.ordered_columns):
            cells = [table._get_row_renderables(row).cells[index] for row in range(table.row_count)]
            widths = [measure(app.console, column.label, 1)]
            widths += [measure(app.console, cell, 1) for cell in cells]
            assert column.content_width == max(widths), column.label
        assert table.virtual_size.height == table.row_count + 1  # the rows and the header
        assert table.size.height == table.row_count + 1  # all shown (the demo has six)
