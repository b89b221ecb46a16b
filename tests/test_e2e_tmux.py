"""End to end in a real terminal: the installed `tsbrunbook` under tmux, read back via the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import run_process

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

    def __init__(self, tmux: str, env: dict[str, str], width: int = 120, height: int = 40) -> None:
        self.tmux = tmux
        self.socket = f"tsbrunbook-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        # Textual draws on stderr: leave it on the terminal.
        command = f"env {exports} TERM=xterm-256color {TSBRUNBOOK}; echo EXITED-$?; sleep 30"
        self.run("new-session", "-d", "-x", str(width), "-y", str(height), command)

    def run(self, *args: str) -> str:
        return subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"'{text}' never appeared; the screen was:\n{screen}")

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)


def test_filter_mark_down_quit_then_read_back(isolated_home, tmp_path):
    tmux = tmux_or_skip()
    env = {"TSBRUNBOOK_HOME": str(isolated_home), "TSBRUNBOOK_EXPORT_DIR": str(tmp_path)}
    term = Terminal(tmux, env)
    try:
        term.wait_for("Components")
        term.wait_for("● Workload cluster")
        term.keys("/")
        time.sleep(0.3)
        term.keys("-l", "us-east")
        time.sleep(0.3)
        term.keys("Enter")
        time.sleep(0.3)
        term.keys("Space")
        screen = term.wait_for("✖ Workload cluster (down)")
        tree = "\n".join(line[:38] for line in screen.splitlines())  # the components pane
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
