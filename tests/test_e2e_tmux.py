"""End to end in a real terminal: the installed `tsbrunbook` under tmux, read back via the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

import pytest

from tests.conftest import run_process

pytestmark = (
    pytest.mark.slow
)  # a real terminal / process tree: run by `make test`, skipped by -m 'not slow'

TSBRUNBOOK = os.path.join(os.path.dirname(sys.executable), "tsbrunbook")


def tmux_or_skip() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing in CI: .ci/run must install it")
        pytest.skip("tmux is not installed")
    return tmux


class Terminal:
    """One tmux server of our own (-L), so tests never touch a user's sessions."""

    def __init__(
        self,
        tmux: str,
        env: dict[str, str],
        width: int = 120,
        height: int = 40,
        options: tuple[str, ...] = (),
    ) -> None:
        """`options`: global tmux options (`set-clipboard on`), set when the server starts."""
        self.tmux = tmux
        self.socket = f"tsbrunbook-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        # Textual draws on stderr: leave it on the terminal. It reads its size once at start
        # (COLUMNS/LINES first, then the pty): the pty may still be 80x24 at that moment and the
        # resize signal come before the app listens, leaving it at 80 columns for good.
        size = f"COLUMNS={width} LINES={height}"
        command = f"env {exports} TERM=xterm-256color {size} {TSBRUNBOOK}; echo EXITED-$?; sleep 30"
        # Our own configuration, read before the first window exists, so the options hold
        # before the app writes anything.
        with tempfile.NamedTemporaryFile(
            "w", prefix="tsbrunbook-tmux-", suffix=".conf", delete=False
        ) as conf:
            conf.write(f"set-option -g default-size {width}x{height}\n")
            conf.writelines(f"set-option -g {option}\n" for option in options)
        self.config = conf.name
        subprocess.run(
            [
                tmux,
                "-L",
                self.socket,
                "-f",
                self.config,
                "new-session",
                "-d",
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            capture_output=True,
            text=True,
            check=True,
        )

    def run(self, *args: str) -> str:
        return subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        return self.wait_until(lambda screen: text in screen, f"'{text}' never appeared", timeout)

    def wait_until(self, seen: Callable[[str], bool], failure: str, timeout: float = 20.0) -> str:
        """Poll the visible screen until `seen(screen)`; the screen (AssertionError at the deadline)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if seen(screen):
                return screen
            time.sleep(0.1)  # a poll interval, not a synchronisation: the deadline bounds the wait
        size = self.run("display-message", "-p", "#{pane_width}x#{pane_height}").strip()
        raise AssertionError(f"{failure}; the screen ({size}) was:\n{screen}")

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)
        os.unlink(self.config)


def pane_of(screen: str) -> str:
    """The components pane (the left 38 columns at 120 wide), below the header and tabs."""
    return "\n".join(line[:38] for line in screen.splitlines()[2:])


def test_filter_mark_down_quit_then_read_back(isolated_home, tmp_path):
    tmux = tmux_or_skip()
    env = {"TSBRUNBOOK_HOME": str(isolated_home), "TSBRUNBOOK_EXPORT_DIR": str(tmp_path)}
    term = Terminal(tmux, env)
    try:
        term.wait_for("Components")
        term.wait_for("● Workload cluster")
        # Each key only once the app shows it is ready for it (typing into a filter that has no
        # focus yet sends the letters to the tree): the footer's "Mark down/up" is there exactly
        # while the tree has the focus.
        term.wait_for("Mark down/up")
        term.keys("/")
        term.wait_until(
            lambda s: "filter components" in s and "Mark down/up" not in s,
            "the filter never took the focus",
        )
        term.keys("-l", "us-east")
        term.wait_until(
            lambda s: "us-east" in pane_of(s) and "eu-central" not in pane_of(s),
            "the filter never applied",
        )
        term.keys("Enter")
        term.wait_for("Mark down/up")  # back on the tree, the cursor on the first match
        term.keys("Space")
        screen = term.wait_for("✖ Workload cluster (down)")
        tree = pane_of(screen)
        assert "us-east" in tree and "eu-central" not in tree and "Management plane" not in tree
        term.keys("3")
        term.wait_for("One workload cluster fails")
        term.keys("q")
        term.wait_for("EXITED-0")
    finally:
        term.close()
    listing = run_process("incident", "list", "--format", "json", env=env)
    assert listing.rc == 0, listing.err
    (incident,) = json.loads(listing.out)
    shown = run_process("incident", "show", incident["id"], "--format", "json", env=env)
    assert shown.rc == 0, shown.err
    data = json.loads(shown.out)
    assert [d["component"] for d in data["down"]] == ["workload-cluster/us-east"]
    assert data["impact"]["operations"]["running-workloads"]["level"] == "limited"
    assert any(c["instance"] == "workload-cluster-failure@us-east" for c in data["checklists"])


# OSC 52 sets the clipboard (tmux: a paste buffer, with set-clipboard on), in both of its
# terminators (BEL and ST); OSC 0 retitles the pane; CSI 2 J clears the screen.
OSC52_BEL = "\x1b]52;c;cHduZWQ=\x07"  # base64 of "pwned"
OSC52_ST = "\x1b]52;c;cHduZWQ=\x1b\\"
RETITLE = "\x1b]0;pwned-title\x07"


def buffers(term: Terminal) -> str:
    """Every tmux paste buffer's content ('' when there is none)."""
    names = subprocess.run(
        [term.tmux, "-L", term.socket, "list-buffers", "-F", "#{buffer_name}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    return "\n".join(term.run("show-buffer", "-b", name) for name in names)


def test_osc52_note_does_not_reach_the_tmux_clipboard(isolated_home, tmp_path):
    tmux = tmux_or_skip()
    env = {"TSBRUNBOOK_HOME": str(isolated_home), "TSBRUNBOOK_EXPORT_DIR": str(tmp_path)}
    started = run_process("incident", "start", f"TITLEMARK {RETITLE}{OSC52_ST} end", env=env)
    assert started.rc == 0, started.err
    incident = started.out.split()[-1]
    note = f"NOTEMARK {OSC52_BEL} {OSC52_ST} {RETITLE} \x1b[2J AFTERMARK"
    noted = run_process("incident", "note", incident, note, env=env)
    assert noted.rc == 0, noted.err
    term = Terminal(tmux, env, options=("set-clipboard on", "allow-rename on"))
    try:
        assert term.run("show-options", "-gv", "set-clipboard").strip() == "on"
        title_before = term.run("display-message", "-p", "#{pane_title}").strip()
        # The app resumes the incident: the title shows in the header, the note among the
        # latest events, all of it (an escape sequence let through may swallow what follows).
        # Judged after the clipboard, which is what matters most.
        term.wait_for("TITLEMARK")
        try:
            term.wait_until(lambda s: "NOTEMARK" in s and "AFTERMARK" in s, "", timeout=10.0)
            note_shown = True
        except AssertionError:
            note_shown = False
        term.keys("q")
        term.wait_for("EXITED-0")  # the app has exited: tmux has read every byte it wrote
        assert "pwned" not in buffers(term) and "cHduZWQ" not in buffers(term), (
            "an OSC 52 in a stored title or note set the clipboard"
        )
        title = term.run("display-message", "-p", "#{pane_title}").strip()
        assert "pwned" not in title and title == title_before, f"the pane was retitled to {title!r}"
        assert note_shown, "the note (or the text after its escape sequences) never showed"
    finally:
        term.close()


def test_clearing_the_filter_leaves_space_on_the_same_component(isolated_home, tmp_path):
    """`/management plane`, enter, space, esc, space: both spaces act on the management plane
    (down, then up again); nothing else, the management cluster least of all, is ever marked."""
    tmux = tmux_or_skip()
    env = {"TSBRUNBOOK_HOME": str(isolated_home), "TSBRUNBOOK_EXPORT_DIR": str(tmp_path)}
    term = Terminal(tmux, env)
    try:
        term.wait_for("Components")
        term.wait_for("Mark down/up")
        term.keys("/")
        term.wait_until(
            lambda s: "filter components" in s and "Mark down/up" not in s,
            "the filter never took the focus",
        )
        term.keys("-l", "management plane")
        term.wait_until(
            lambda s: "Management plane" in pane_of(s) and "eu-west" not in pane_of(s),
            "the filter never applied",
        )
        term.keys("Enter")
        term.wait_for("Mark down/up")
        term.keys("Space")
        term.wait_for("✖ Management plane (down)")
        term.keys("Escape")
        term.wait_until(
            lambda s: "eu-west" in pane_of(s) and "Mark down/up" in s,
            "the filter was never cleared",
        )
        term.keys("Space")
        term.wait_until(
            lambda s: "Management plane" in pane_of(s) and "(down)" not in pane_of(s),
            "the second space did not bring the management plane up",
        )
        term.keys("q")
        term.wait_for("EXITED-0")
    finally:
        term.close()
    listing = run_process("incident", "list", "--format", "json", env=env)
    assert listing.rc == 0, listing.err
    (incident,) = json.loads(listing.out)
    shown = run_process("incident", "show", incident["id"], "--format", "json", env=env)
    assert shown.rc == 0, shown.err
    data = json.loads(shown.out)
    assert data["down"] == []
    marks = [
        (e["type"], e["data"]["components"])
        for e in data["timeline"]
        if e["type"] in ("down", "up")
    ]
    assert marks == [("down", ["management-plane"]), ("up", ["management-plane"])]


def step_commands(incident: str) -> set[str]:
    """What `c` may copy in this incident: each step's commands, as the checklists pane joins
    them (one text per step that has commands)."""
    from tsbrunbook.domain import template
    from tsbrunbook.domain.incident import checklists
    from tsbrunbook.tui.widgets.checklists import ChecklistsPane
    from tsbrunbook.workspace import Workspace

    with Workspace() as workspace:
        session = workspace.open(incident)
        texts = set()
        for view in checklists(session.state, session.engine, session.impact()):
            for step in view.steps:
                cluster = ChecklistsPane.cluster_of(step)
                lines = template.commands(step.step, session.engine.estate, cluster)
                if lines:
                    texts.add("\n".join(lines))
        return texts


def test_copy_reaches_tmux_buffer_under_set_clipboard_external(isolated_home, tmp_path):
    """tmux's default `set-clipboard external` drops the app's OSC 52: `c` must still put the
    step's commands into tmux's buffer (and say so)."""
    tmux = tmux_or_skip()
    env = {"TSBRUNBOOK_HOME": str(isolated_home), "TSBRUNBOOK_EXPORT_DIR": str(tmp_path)}
    started = run_process("incident", "start", "copy under tmux", env=env)
    assert started.rc == 0, started.err
    incident = started.out.split()[-1]
    marked = run_process("incident", "down", incident, "edge-control-plane/eu-west", env=env)
    assert marked.rc == 0, marked.err
    expected = step_commands(incident)
    assert expected, "the checklist has no step with commands"
    term = Terminal(tmux, env, options=("set-clipboard external",))
    try:
        assert term.run("show-options", "-gv", "set-clipboard").strip() == "external"
        term.wait_for("Mark down/up")
        term.keys("3")
        term.wait_for("Copy cmd")  # the checklists tree has the focus
        copied = ""
        for _ in range(20):  # down the checklist to the first step with commands
            term.keys("c")
            term.wait_until(
                lambda s: bool(buffers(term)) or "no command to copy" in s,
                "c neither copied nor said why",
            )
            if buffers(term):
                # The newest buffer (a `c` still on its way may add one: each is one step's).
                copied = term.run("show-buffer")
                break
            term.keys("Down")
        assert copied in expected, f"the tmux buffer holds {copied!r}"
        term.wait_until(lambda s: "tmux buffer" in s, "the toast never said how it was copied")
        term.keys("q")
        term.wait_for("EXITED-0")
    finally:
        term.close()
