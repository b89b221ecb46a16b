"""Hostile text never reaches the terminal through the TUI.

A title, a note, a skip reason, a case number, an estate's names, runbook text, a probe answer or
an inject may carry terminal escape sequences (OSC 52 sets the clipboard, CSI 2 J blanks the
screen, OSC 0 retitles the window), bidirectional overrides and zero-width characters, or Textual
markup. Each is put into every surface it can reach; what the compositor would send to the
terminal (every segment of every line) must carry none of them, and the markup shows literally.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from textual.command import CommandList

from tests.tui.support import settle, until
from tsbrunbook.domain.impact import ImpactEngine
from tsbrunbook.domain.incident import IncidentSession
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.domain.runbooks.pack import load_pack
from tsbrunbook.domain.runbooks.paths import runbooks_dir
from tsbrunbook.integrations.notify import Notifier, NotifierStatus
from tsbrunbook.integrations.probe import ProbeResult, Suggestion
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.tui.screens.confirm import ConfirmScreen
from tsbrunbook.tui.screens.incidents import IncidentsScreen
from tsbrunbook.tui.screens.prediction import PredictionScreen
from tsbrunbook.tui.screens.prompt import PromptScreen
from tsbrunbook.tui.widgets.checklists import ChecklistsPane
from tsbrunbook.tui.widgets.exercise_bar import ExerciseBar
from tsbrunbook.tui.widgets.header import IncidentHeader
from tsbrunbook.workspace import Workspace

# Each hostile string starts with a visible marker, so a test can tell it reached the screen.
OSC52 = "\x1b]52;c;cHduZWQ=\x07"
PAYLOAD = (
    f"{OSC52}\x1b[2J\x1b]0;pwned-title\x07\x1bPq#0;2;0;0;0\x1b\\\x9b31m\x07\x9d8;;x\x9c"
    "\u202etxt.exe\u2066\u200b\u200d\ufeff[bold red]x[/] [@click=app.quit]"
)
MARKUP = "[bold red]x[/] [@click=app.quit]"
CONTROLS = {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}
INVISIBLE = set(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)
RESIDUE = ("cHduZWQ=", "52;c;", "pwned-title", "#0;2;0", "8;;x")

MP = "management-plane-failure"
WC = "workload-cluster-failure@eu-west"
CONFIRM = f"{WC}/recovery/confirm-cluster-back"


def hostile(marker: str) -> str:
    return f"{marker}{PAYLOAD}"


def rendered(app: RunbookApp) -> str:
    """Every character the compositor would send for the screens shown now (the active screen,
    with the toasts, and the incident screen under any dialog), line by line."""
    lines = []
    screens = [app.screen] + (
        [app.screen_stack[0]] if app.screen is not app.screen_stack[0] else []
    )
    for screen in screens:
        for strip in screen._compositor.render_strips():
            lines.append("".join(segment.text for segment in strip if not segment.control))
    return "\n".join(lines)


def assert_clean(app: RunbookApp, *markers: str) -> str:
    text = rendered(app)
    bad = sorted(
        {f"U+{ord(ch):04X}" for ch in text if (ch in CONTROLS and ch != "\n") or ch in INVISIBLE}
    )
    assert not bad, f"control or invisible characters reached the screen: {bad}\n{text}"
    for residue in RESIDUE:
        assert residue not in text, f"escape-sequence payload {residue!r} on the screen:\n{text}"
    for marker in markers:
        assert marker in text, f"{marker!r} never reached the screen:\n{text}"
    return text


def hostile_pack(tmp_path):
    """The bundled runbooks with hostile text in a step title, a command and a component kind."""
    root = tmp_path / "runbooks"
    shutil.copytree(runbooks_dir(), root)
    scenario = root / "scenarios" / "workload-cluster-failure.yaml"
    text = scenario.read_text()
    text = text.replace(
        "title: Confirm the cluster answers again",
        'title: "STEPTITLE\\e]52;c;cHduZWQ=\\a\\e[2J\\u202e [b]x[/b]"\n        escalation: "ESCTEXT\\e]0;pwned-title\\a\\x9b2J"',
        1,
    )
    text = text.replace(
        "- 'kubectl --context {{cluster_context}} get nodes'",
        '- "kubectl CMD\\e]0;pwned-title\\a get nodes"',
        1,
    )
    scenario.write_text(text)
    graph = root / "graph.yaml"
    graph.write_text(
        graph.read_text().replace(
            "title: Management plane", 'title: "KINDTITLE\\e]52;c;cHduZWQ=\\a\\u200b"', 1
        )
    )
    return load_pack(str(root))


def hostile_engine(pack) -> ImpactEngine:
    """The demo estate with hostile names wherever an estate holds free text. Built from the
    model, not from YAML: validate may (rightly) refuse such an estate file."""
    estate = load_estate()
    eu_west, *others = estate.clusters
    estate = dataclasses.replace(
        estate,
        name=hostile("ESTATENAME"),
        management=dataclasses.replace(estate.management, cluster=hostile("MGMTCLUSTER")),
        clusters=(dataclasses.replace(eu_west, region=hostile("REGION")), *others),
        services=(
            dataclasses.replace(estate.services[0], name=hostile("SERVICE")),
            *estate.services[1:],
        ),
        support=dataclasses.replace(
            estate.support,
            vendor=hostile("VENDOR"),
            contact=hostile("CONTACT"),
            account=hostile("ACCOUNT"),
        ),
    )
    return ImpactEngine(pack, estate)


def hostile_session(workspace: Workspace, engine: ImpactEngine) -> IncidentSession:
    workspace.start(hostile("OTHERTITLE"))  # for the incident switcher
    incident = workspace.store.create(hostile("INCTITLE"), meta={"estate_name": engine.estate.name})
    session = IncidentSession(workspace.store, incident, engine)
    session.mark_down(["management-plane", "workload-cluster/eu-west"])
    session.set_step(CONFIRM, "skip", hostile("SKIPREASON"))
    session.set_step(CONFIRM, "fail", hostile("FAILNOTE"))
    session.add_note(hostile("STEPNOTE"), CONFIRM)
    session.raise_escalation(CONFIRM, hostile("CASE"))
    session.add_note(hostile("INCNOTE\nsecond line\r\n"))
    return session


class StuckNotifier(Notifier):
    """The chat notifier as the app sees it, with a delivery error from a hostile server. Never
    started: no thread, nothing is posted (`close` is then a no-op already)."""

    @property
    def status(self) -> NotifierStatus:
        return NotifierStatus(
            enabled=True,
            pending=1,
            delivered=0,
            failed=0,
            last_error=hostile("CHATERROR"),
            last_delivered=None,
        )

    def submit(self, state) -> int:
        return 0


@pytest.mark.long
async def test_hostile_text_never_reaches_the_terminal(tmp_path):
    pack = hostile_pack(tmp_path)
    workspace = Workspace(pack=pack)
    engine = hostile_engine(pack)
    session = hostile_session(workspace, engine)
    app = RunbookApp(workspace, session)
    async with app.run_test(size=(200, 60), notifications=True) as pilot:
        await settle(pilot)
        # Header (title), components (management cluster, region, kind title), impact (services,
        # the latest events: notes, skip reason, case), all on one screen.
        text = assert_clean(
            app, "INCTITLE", "MGMTCLUSTER", "REGION", "KINDTITLE", "SERVICE", "INCNOTE"
        )
        assert MARKUP in text  # markup is shown as it was written, not applied
        # The header's status line with a delivery error from a hostile chat server.
        assert app.notifier is not None  # the app starts one for the open incident
        app.notifier.close(timeout=0.5)
        app.notifier = StuckNotifier(app.engine, app.session.id)
        app.every_second()
        await settle(pilot)
        assert_clean(app, "CHATERROR")

        # Checklists: the tree and the detail of the step that carries every kind of text.
        await pilot.press("3")
        pane = app.screen.query_one(ChecklistsPane)
        node = next(
            n
            for h in pane.tree_view.root.children
            for n in h.children
            if getattr(n.data, "ref", None) == CONFIRM
        )
        pane.tree_view.move_cursor(node)
        await settle(pilot)
        assert_clean(
            app,
            "STEPTITLE",
            "CMD",
            "ESCTEXT",
            "VENDOR",
            "CONTACT",
            "ACCOUNT",
            "CASE",
            "STEPNOTE",
            "SKIPREASON",
            "FAILNOTE",
        )
        await pilot.press("r")  # restoration phase: other headings, same hygiene
        await settle(pilot)
        assert_clean(app)
        await pilot.press("r")
        pane.tree_view.move_cursor(
            next(
                n
                for h in pane.tree_view.root.children
                for n in h.children
                if getattr(n.data, "ref", None) == CONFIRM
            )
        )
        await settle(pilot)

        # The note dialog names the step by its (hostile) title.
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        assert_clean(app, "STEPTITLE")
        await pilot.press("escape")

        # Toasts: whatever a caller hands them.
        app.notify(hostile("TOAST"), title=hostile("TOASTTITLE"), timeout=30)
        await settle(pilot)
        assert_clean(app, "TOAST", "TOASTTITLE")

        # The probe's answer: a toast and the confirmation dialog of its suggestion.
        result = ProbeResult(
            "https://tsb.example.com/",
            "unhealthy",
            503,
            0.01,
            hostile("PROBEMSG"),
            Suggestion("down", ("management-plane",), hostile("SUGGEST")),
        )
        app.probe_answered(result)
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert_clean(app, "PROBEMSG", "SUGGEST")
        await pilot.press("n")
        await settle(pilot)

        # The incident switcher lists the other (hostile) title.
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)
        assert_clean(app, "OTHERTITLE")
        await pilot.press("escape")
        await settle(pilot)

        # The command palette: component titles come from the (hostile) runbooks.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"management-plane")
        # The palette searches in a worker: wait for its hits.
        await until(
            pilot,
            lambda: (
                bool(app.screen.query(CommandList))
                and app.screen.query_one(CommandList).option_count > 0
            ),
        )
        await settle(pilot)
        assert_clean(app, "KINDTITLE")
        await pilot.press("escape")
        await settle(pilot)

        # Help: constant text, same check.
        await pilot.press("question_mark")
        await settle(pilot)
        assert_clean(app, "tsbrunbook keys")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen.query_one(IncidentHeader), IncidentHeader)


@pytest.fixture
def hostile_exercise(pack):
    from tests.test_exercise import start_run

    workspace, run = start_run(pack)
    first, *rest = run.exercise.injects
    first = dataclasses.replace(first, message=hostile("INJECTMSG"), question=hostile("QUESTION"))
    run.exercise = dataclasses.replace(
        run.exercise, title=hostile("EXTITLE"), injects=(first, *rest)
    )
    return workspace, run


async def test_exercise_screens_show_no_hostile_text(hostile_exercise):
    workspace, run = hostile_exercise
    app = RunbookApp(workspace, run.session, exercise=run)
    async with app.run_test(size=(200, 60), notifications=True) as pilot:
        await pilot.press("p", "j")  # start the clock, fire the (hostile) first inject
        await until(pilot, lambda: isinstance(app.screen, PredictionScreen))
        assert_clean(app, "INJECTMSG", "QUESTION")
        await pilot.press("o", "down", "o", "down", "o", "down", "o", "enter")
        await settle(pilot)
        assert_clean(app, "right")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one(ExerciseBar) is not None
        assert_clean(app, "EXERCISE", "INJECTMSG")  # the bar, and the inject's toast


def test_shown_text_keeps_styles_and_drops_sequences():
    from rich.text import Text

    from tsbrunbook.tui.shown import ShownText, shown_text

    styled = Text.assemble(("bold\x1b[2J", "bold"), " plain ", ("red\u202e", "red"))
    clean = shown_text(styled)
    assert clean.plain == "bold plain red"
    assert [(clean.plain[s.start : s.end], str(s.style)) for s in clean.spans] == [
        ("bold", "bold"),
        ("red", "red"),
    ]
    # Rich drops BEL when text is added, which would leave an OSC without its end: ShownText
    # cleans each string first, so the text after the sequence survives.
    built = ShownText.assemble("a", (f"{OSC52}b", "bold"), "c")
    assert built.plain == "abc"
