"""Child processes of benchmarks/run.py (never imported by the package).

Only `os`, `sys` and `time` are imported at the top, so that the start-up measurement pays for
exactly what each app imports and nothing of the harness:

    _child.py startup RESULT hello|widgets|tsbrunbook [--estate FILE]   first frame, then exit
    _child.py memory ESTATE RESULT [TOGGLES]        the real `tsbrunbook tui`, a few toggles
    _child.py interaction ESTATE TOGGLES RESULT     toggle-to-repaint with Pilot
    _child.py cli-memory RESULT ARG…                `tsbrunbook ARG…`, then its peak RSS

Each writes one JSON object to RESULT. Times are `time.monotonic()`, which on Linux is the
system-wide CLOCK_MONOTONIC: the parent compares them with its own clock from before the spawn.
"""

import os
import sys
import time

marks: dict[str, float] = {}  # phase → time.monotonic()
SIZE = (160, 48)  # wide enough for the three panes side by side
OPERATION = "local-cluster-operations"  # every per-cluster failure makes it LIMITED overall
KINDS = ("workload-cluster", "edge-control-plane", "connectivity")


def _write(path: str, data: dict) -> None:
    import json

    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    /proc's VmHWM counts this program only. `ru_maxrss` is no good for a spawned child: Linux
    carries the forking parent's peak into it across exec, so a big parent inflates every child.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def _patch_run(on_ready, auto_pilot=None) -> None:
    """Make every App run headless at SIZE and call `on_ready(app)` once its first frame is drawn.

    Textual posts `Ready` to the app after the first screen's first layout and compositor refresh
    (screen.py), i.e. when the first frame has been rendered; the headless driver then discards it.

    The patch is applied when the app itself imports `textual.app`, not before: the harness
    imports nothing of Textual, so each app imports it at its own point of its own start (the
    `tsbrunbook` program, for one, imports it after pausing its garbage collector).
    """
    _when_imported("textual.app", lambda module: _patch_app(module.App, on_ready, auto_pilot))


def _when_imported(name: str, then) -> None:
    """Call `then(module)` just after module `name` is first imported (now, if it was)."""
    if name in sys.modules:
        then(sys.modules[name])
        return
    import importlib.util

    class Hook:
        def find_spec(self, fullname, path=None, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            execute = spec.loader.exec_module

            def exec_module(module) -> None:
                execute(module)
                then(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Hook())


def _patch_app(App, on_ready, auto_pilot) -> None:  # noqa: N803 — the class itself
    original = App.run

    def run(self, *args, **kwargs):
        marks["app_run"] = time.monotonic()
        kwargs.update(headless=True, size=SIZE)
        if auto_pilot is not None:
            kwargs["auto_pilot"] = auto_pilot
        return original(self, *args, **kwargs)

    App.run = run  # type: ignore[method-assign]
    App.on_ready = lambda self: on_ready(self)  # type: ignore[attr-defined]  # App defines none


def startup(result: str, which: str, *args: str) -> None:
    def ready(app) -> None:
        _write(result, {"ready": time.monotonic(), **marks})
        app.exit()

    _patch_run(ready)
    if which == "hello":
        from textual.app import App, ComposeResult
        from textual.widgets import Static

        class Hello(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("hello")

        Hello().run()
    elif which == "widgets":
        _same_widgets_app().run()
    else:
        # Exactly what `tsbrunbook` without arguments does: parse, Workspace, resume_or_start on
        # the demo estate (TSBRUNBOOK_HOME is a temp dir set by the parent), RunbookApp.run();
        # with `--estate FILE`, `tsbrunbook tui --estate FILE`.
        from tsbrunbook.entry import main

        code = main(["tui", *args] if args else [])
        if code:
            sys.exit(code)


def _same_widgets_app():
    """A plain Textual app (no tsbrunbook code) with the widget tree of tsbrunbook's first screen
    — the same widgets in the same containers, each pane's rules in CSS — and about the amount
    of content of the demo estate's screen: the framework's own floor for such a screen."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.containers import Horizontal, Vertical, VerticalScroll
    from textual.widgets import DataTable, Footer, Input, Static, Tree

    words = "the edge control plane configures the local data plane and reports status " * 3

    class SameWidgets(App[None]):
        CSS = """
        #header { height: 1; background: $panel; padding: 0 1; }
        #tabs { height: 1; display: none; }
        #panes { height: 1fr; }
        .pane { border: round $panel; border-title-color: $text-muted; height: 1fr; width: 1fr; }
        .pane.-current { border: round $accent; border-title-color: $text; }
        #left { width: 38; }
        #legend { height: 1; color: $text-muted; }
        Input { display: none; height: 3; }
        #hidden { display: none; height: auto; color: $warning; }
        DataTable { height: auto; max-height: 12; }
        #reasons { height: 1fr; min-height: 4; border-top: solid $panel; }
        #summary { height: auto; max-height: 10; border-top: solid $panel; }
        #phase { height: 1; color: $text-muted; }
        #steps Tree { height: 1fr; min-height: 5; }
        #detail { height: 1fr; min-height: 5; border-top: solid $panel; }
        """
        BINDINGS = [
            Binding(k, "bell", d)
            for k, d in zip(
                "nseiBhq",
                ("Note", "Skip", "Export", "Incidents", "Brief", "Probe", "Quit"),
                strict=True,
            )
        ]

        def compose(self) -> ComposeResult:
            yield Static(
                "INC-20261127-001 eu-west edge down  0:16:35  down 2 · steps 1/23 · escalations 0/2",
                id="header",
            )
            yield Static(" 1 Components   2 Impact   3 Checklists ", id="tabs")
            with Horizontal(id="panes"):
                with Vertical(classes="pane -current", id="left") as left:
                    left.border_title = "1 Components"
                    yield Static("x down  o affected  . ok", id="legend")
                    yield Input()
                    yield Static(id="hidden")
                    tree: Tree[str] = Tree("estate")
                    tree.show_root = False
                    for group in (
                        "Management side",
                        "eu-west",
                        "eu-central",
                        "us-east",
                        "ap-south",
                    ):
                        node = tree.root.add(group, expand=True)
                        for leaf in (
                            "Workload cluster",
                            "Edge control plane",
                            "Link to management",
                        ):
                            node.add_leaf(f"* {leaf}")
                    yield tree
                with Vertical(classes="pane") as middle:
                    middle.border_title = "2 Impact"
                    table: DataTable = DataTable()
                    table.add_columns("Scope", "Workloads", "Local ops", "Metrics", "Management")
                    for scope in (
                        "Overall",
                        "mgmt",
                        "eu-west",
                        "eu-central",
                        "us-east",
                        "ap-south",
                    ):
                        table.add_row(scope, "ok", "limited", "ok", "ok")
                    yield table
                    with VerticalScroll(id="reasons"):
                        yield Static(words * 2)
                    with VerticalScroll(id="summary"):
                        yield Static(words)
                with Vertical(classes="pane") as right:
                    right.border_title = "3 Checklists"
                    yield Static("RECOVERY (r: show restoration)", id="phase")
                    with Vertical(id="steps"):
                        steps: Tree[str] = Tree("checklists")
                        steps.show_root = False
                        for group in (
                            "The central control plane fails",
                            "The edge control plane fails",
                        ):
                            node = steps.root.add(group, expand=True)
                            for i in range(6):
                                node.add_leaf(f"[ ] step {i} of the recovery checklist")
                        yield steps
                    with VerticalScroll(id="detail"):
                        yield Static(words * 3)
            yield Footer()

    return SameWidgets()


def memory(estate: str, result: str, count: int = 6) -> None:
    ready_at: list[float] = []

    async def toggles(pilot) -> None:
        from tsbrunbook.tui.widgets.components import ComponentsPane

        app = pilot.app
        await pilot.pause()
        pane = app.screen.query_one(ComponentsPane)
        clusters = app.engine.clusters
        picks = [
            "management-plane",
            f"workload-cluster/{clusters[0]}",
            f"edge-control-plane/{clusters[len(clusters) // 2]}",
            f"connectivity/{clusters[-1]}",
        ]
        for cid in (picks + picks[:2])[:count]:  # four down, two of them up again
            pane.tree_view.move_cursor(pane.nodes[cid])
            await pilot.pause()
            await pilot.press("space")
            await pilot.pause()
        # The marks are stored by the store worker; the store's watch worker runs as long as
        # the app does, so it is not waited for.
        while not app.jobs.idle:
            await app.workers.wait_for_complete([w for w in app.workers if w.group != "watch"])
            await pilot.pause()
        down = sorted(app.session.state.down)
        _write(
            result,
            {"ready": ready_at[0] if ready_at else None, "down": down, "peak_mb": peak_rss_mb()},
        )
        app.exit()

    _patch_run(lambda app: ready_at.append(time.monotonic()), auto_pilot=toggles)
    from tsbrunbook.entry import main

    code = main(["tui", "--estate", estate])
    if code:
        sys.exit(code)


def interaction(estate: str, toggles: int, result: str) -> None:
    import asyncio
    import random

    from tsbrunbook.domain.model import Level
    from tsbrunbook.tui.app import RunbookApp
    from tsbrunbook.tui.widgets.components import ComponentsPane
    from tsbrunbook.tui.widgets.impact import ImpactPane
    from tsbrunbook.workspace import Workspace

    workspace = Workspace()
    app = RunbookApp(workspace, workspace.resume_or_start(estate))
    watch: dict = {"want": None, "at": None, "table": None}
    display = app._display

    def timed_display(screen, renderable) -> None:
        # A frame is rendered (compositor update) just before the app hands it to the driver.
        display(screen, renderable)
        if (
            renderable is None
            or app._batch_count
            or watch["want"] is None
            or watch["at"] is not None
        ):
            return
        if str(watch["table"].table.get_cell("overall", OPERATION)).endswith(watch["want"]):
            watch["at"] = time.perf_counter()

    app._display = timed_display  # type: ignore[method-assign]

    async def drive() -> list[float]:
        samples: list[float] = []
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            pane = app.screen.query_one(ComponentsPane)
            watch["table"] = app.screen.query_one(ImpactPane)
            rnd = random.Random(11)
            for _ in range((toggles + 1) // 2):
                cid = f"{rnd.choice(KINDS)}/{rnd.choice(app.engine.clusters)}"
                pane.tree_view.move_cursor(pane.nodes[cid])
                await pilot.pause()
                for want in (Level.LIMITED, Level.OK):  # down, then up again
                    watch.update(want=want.id, at=None)
                    start = time.perf_counter()
                    await pilot.press("space")
                    deadline = start + 30
                    while watch["at"] is None:
                        if time.perf_counter() > deadline:
                            raise RuntimeError(
                                f"the matrix never showed {want.id} after toggling {cid}"
                            )
                        await asyncio.sleep(0.0005)
                    samples.append(watch["at"] - start)
                    watch["want"] = None
                    assert (cid in app.session.state.down) == (want == Level.LIMITED), cid
                    await pilot.pause()
        return samples

    samples = asyncio.run(drive())
    _write(result, {"samples": samples})


def cli_memory(result: str, argv: list[str]) -> None:
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 — for the life of the process
    from tsbrunbook.cli import main

    code = main(argv)
    _write(result, {"code": code, "peak_mb": peak_rss_mb()})


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "startup":
        startup(sys.argv[2], sys.argv[3], *sys.argv[4:])
    elif mode == "memory":
        memory(sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:5]))
    elif mode == "interaction":
        interaction(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "cli-memory":
        cli_memory(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(f"unknown mode {mode}")
