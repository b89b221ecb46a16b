"""The war-room view in a real browser: Debian's Chromium driven by Playwright (the Python API
only: the browser is /usr/bin/chromium, never one Playwright downloads) against
`tsbrunbook serve` on a loopback port.

The screen is a canvas (xterm.js): these tests type into xterm's hidden textarea, read the app's
WebSocket frames and the incident store, never the DOM's text. One server and one browser for
the module; each test opens its own browser context (its own cookies)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tsbrunbook.store.sqlite import Store
from tsbrunbook.workspace import Workspace

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]
DEADLINE_S = 30.0
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


def wait_for(
    condition: Callable[[], object],
    what: str,
    seconds: float = DEADLINE_S,
    page: object | None = None,
) -> object:
    """Poll `condition` until it is truthy (its value), failing after `seconds`. With a `page`,
    Playwright runs between polls (its events, such as WebSocket frames, arrive only then)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if page is not None:
            page.wait_for_timeout(50)  # type: ignore[attr-defined]
        else:
            time.sleep(0.05)


@dataclass
class WarRoom:
    url: str
    tokens: dict[str, str]
    store: Store
    exports: Path
    log: Path

    def workspace(self) -> Workspace:
        return Workspace(store=self.store)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def war_room(tmp_path_factory) -> Iterator[WarRoom]:
    root = tmp_path_factory.mktemp("war-room")
    data, exports = root / "data", root / "exports"
    exports.mkdir()
    store = Store(data / "incidents.sqlite3")
    workspace = Workspace(store=store)
    tokens = {
        "alice": workspace.grant_access("alice"),
        "bob": workspace.grant_access("bob", read_only=True),
    }
    env = {
        **os.environ,
        "TSBRUNBOOK_HOME": str(data),
        "TSBRUNBOOK_EXPORT_DIR": str(exports),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    for name in ("TSBRUNBOOK_DATABASE_URL", "TSBRUNBOOK_USER", "TSBRUNBOOK_RUNBOOKS"):
        env.pop(name, None)
    port = free_port()
    log = root / "serve.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "tsbrunbook", "serve", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:

        def listening() -> bool:
            assert server.poll() is None, log.read_text()
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, "the server to listen")
        yield WarRoom(f"http://127.0.0.1:{port}", tokens, store, exports, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        store.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A browser context on the war room: its page, what it requested, the app's frames."""

    page: object
    requested: list[str] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)
    downloads: list = field(default_factory=list)

    def wait_for(self, condition: Callable[[], object], what: str) -> object:
        return wait_for(condition, what, page=self.page)

    def screen_text(self) -> str:
        """What the app drew so far, escape sequences and spacing removed."""
        raw = b"".join(self.frames)
        return re.sub(r"\s+", "", ANSI.sub(b"", raw).decode("utf-8", "replace"))


@pytest.fixture
def visit(browser, war_room) -> Iterator[Callable[..., Visit]]:
    """A new browser context logged in as `name`: with `app`, on the war room's page once the
    app's first frame has arrived (else only logged in, no session started)."""
    contexts = []

    def open_as(name: str, app: bool = True) -> Visit:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)

        def guard(route) -> None:  # anything not for this server is recorded and stopped
            seen.requested.append(route.request.url)
            if route.request.url.startswith(war_room.url + "/"):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", guard)
        page.on("websocket", lambda ws: seen.requested.append(ws.url))
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda f: seen.frames.append(f if isinstance(f, bytes) else f.encode()),
            ),
        )
        # The app's download opens /download/KEY in a new tab; Chromium reports it on the page.
        page.on("download", lambda download: seen.downloads.append(download))
        login = f"{war_room.url}/login?token={war_room.tokens[name]}"
        if not app:
            assert context.request.get(login).status == 200  # the context keeps the cookie
            return seen
        page.goto(login)
        page.wait_for_selector("body.-first-byte", timeout=DEADLINE_S * 1000)
        page.focus(".xterm-helper-textarea")
        return seen

    yield open_as
    for context in contexts:
        context.close()


def events_by(war_room: WarRoom, actor: str) -> list:
    return [
        e
        for incident in war_room.store.ids()
        for e in war_room.store.events(incident)
        if e.actor == actor
    ]


def test_an_operator_marks_down_with_the_keyboard_and_gets_the_export_as_a_download(
    war_room, visit
):
    alice = visit("alice")

    alice.wait_for(lambda: "Managementplane" in alice.screen_text(), "the components pane")
    alice.page.keyboard.press("Space")  # the cursor starts on the management cluster
    down = alice.wait_for(
        lambda: [e for e in events_by(war_room, "alice") if e.type == "down"], "the mark"
    )
    assert down[0].data["components"] == ["management-cluster"]
    # The server's warm spare ran alice's session (told over its stdin who it is).
    assert re.search(r"session for alice started \(\d+ open, warm\)", war_room.log.read_text())

    alice.page.keyboard.press("e")
    (download,) = alice.wait_for(lambda: alice.downloads, "the export's download")
    assert download.suggested_filename == f"{down[0].incident}.md"
    text = Path(download.path()).read_text()
    assert text.startswith(f"# Incident {down[0].incident}")
    assert "management-cluster" in text
    assert list(war_room.exports.iterdir()) == []  # nothing written on the server

    outside = [url for url in alice.requested if not url.startswith(war_room.url)]
    outside = [u for u in outside if not u.startswith(war_room.url.replace("http", "ws", 1))]
    assert outside == []


def test_a_read_only_viewer_sees_the_incident_changes_nothing_and_revoking_ends_it(war_room, visit):
    if not war_room.store.latest_open():
        war_room.workspace().resume_or_start()
    before = {i: len(war_room.store.events(i)) for i in war_room.store.ids()}
    bob = visit("bob")

    bob.wait_for(lambda: "Managementplane" in bob.screen_text(), "the components pane")
    bob.page.keyboard.press("Space")

    bob.wait_for(lambda: "read-onlyaccess" in bob.screen_text(), "the refusal")
    bob.page.keyboard.press("h")  # the probe uses the keyring's TSB credentials

    bob.wait_for(lambda: "TSBAPIcredentials" in bob.screen_text(), "the probe's refusal")
    assert {i: len(war_room.store.events(i)) for i in war_room.store.ids()} == before
    assert events_by(war_room, "bob") == []
    # The spare started after alice's first screen ran bob's: read-only held across the handoff.
    assert re.search(r"session for bob started \(\d+ open, warm\)", war_room.log.read_text())

    war_room.workspace().revoke_access("bob")
    bob.page.wait_for_selector("body.-closed", timeout=DEADLINE_S * 1000)
    assert bob.page.request.get(war_room.url + "/").status == 401


def test_a_page_of_another_origin_cannot_open_a_session_with_the_visitors_cookie(war_room, visit):
    alice = visit("alice", app=False)
    context = alice.page.context
    assert context.request.get(war_room.url + "/").status == 200  # the cookie works here
    sessions = war_room.log.read_text().count("session for alice started")
    foreign = war_room.url.rsplit(":", 1)[0] + f":{free_port()}"  # same site, another origin
    context.route(
        foreign + "/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f"""<script>
                const ws = new WebSocket("{war_room.url.replace("http", "ws", 1)}/ws");
                ws.onopen = () => document.title = "opened";
                ws.onclose = (e) => document.title = "closed " + e.code;
            </script>""",
        ),
    )
    page = context.new_page()
    frames: list = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
    page.goto(foreign + "/")
    page.wait_for_function("document.title.startsWith('closed')", timeout=DEADLINE_S * 1000)
    assert page.title() == "closed 1006"  # the handshake was refused (403): never opened
    assert frames == []
    assert war_room.log.read_text().count("session for alice started") == sessions
