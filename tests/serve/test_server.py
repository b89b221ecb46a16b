"""The war-room server's access control, in-process (aiohttp's test client, no browser, no app
process): cookies, 401s, the Origin check, the session cap, revocation, downloads."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestClient, TestServer

from tsbrunbook.serve.server import CLOSE_REVOKED, USER_ENV, Live, VisitorApp, WarRoomServer
from tsbrunbook.serve.visitors import COOKIE, Visitor
from tsbrunbook.store.sqlite import Store
from tsbrunbook.workspace import WarRoomOptions, Workspace

PUBLIC = "http://127.0.0.1:8080"  # the origin the server says it is served from


@pytest.fixture
def workspace(tmp_path):
    store = Store(tmp_path / "incidents.sqlite3")
    yield Workspace(store=store)
    store.close()


def options(public_url: str = PUBLIC, max_sessions: int = 4) -> WarRoomOptions:
    # No warm spares: these tests start no app process (tests/serve/test_spare.py does).
    return WarRoomOptions("127.0.0.1", 8080, public_url, max_sessions, None, None, None, warm=0)


async def started(workspace: Workspace, **kwargs) -> tuple[WarRoomServer, TestClient]:
    server = WarRoomServer(workspace, options(**kwargs), revocation_poll=3600)
    client = TestClient(TestServer(await server._make_app(), host="127.0.0.1"))
    await client.start_server()
    return server, client


def set_cookie(response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


async def logged_in(client: TestClient, token: str) -> str:
    response = await client.get("/login", params={"token": token})
    assert response.status == 200
    client.session.cookie_jar.clear()  # each request below says which cookie it carries
    return set_cookie(response)[COOKIE].value


def carrying(cookie: str | None) -> dict[str, str]:
    """Headers of a WebSocket handshake carrying this session cookie (or none)."""
    return {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}


@pytest.mark.parametrize("path", ["/", "/static/js/textual.js", "/download/abc", "/nowhere"])
async def test_every_route_needs_the_session_cookie(workspace, path):
    _, client = await started(workspace)
    try:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 401
        assert "login" in await response.text()
        forged = await client.get(path, cookies={COOKIE: "not-a-session"})
        assert forged.status == 401
    finally:
        await client.close()


async def test_login_swaps_the_token_for_a_strict_http_only_cookie(workspace):
    token = workspace.grant_access("alice")
    _, client = await started(workspace)
    try:
        response = await client.get("/login", params={"token": token})
        assert response.status == 200
        assert 'http-equiv="refresh" content="0; url=/"' in await response.text()
        morsel = set_cookie(response)[COOKIE]
        assert morsel["httponly"] and morsel["samesite"] == "Strict" and not morsel["secure"]
        assert morsel["path"] == "/"
        assert token not in morsel.value
        assert response.headers["Referrer-Policy"] == "no-referrer"
        index = await client.get("/", cookies={COOKIE: morsel.value})
        assert index.status == 200
        html = await index.text()
        assert 'data-session-websocket-url="ws://127.0.0.1:8080/ws"' in html
        assert "googleapis" not in html and "https://" not in html
        assert "as alice" in html
        csp = index.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "connect-src 'self' ws://127.0.0.1:8080" in csp
        static = await client.get("/static/js/textual.js", cookies={COOKIE: morsel.value})
        assert static.status == 200
    finally:
        await client.close()


async def test_the_cookie_is_secure_when_browsers_come_over_tls(workspace):
    token = workspace.grant_access("alice")
    _, client = await started(workspace, public_url="https://warroom.example.com")
    try:
        response = await client.get("/login", params={"token": token})
        assert set_cookie(response)[COOKIE]["secure"]
        cookie = set_cookie(response)[COOKIE].value
        html = await (await client.get("/", cookies={COOKIE: cookie})).text()
        assert 'data-session-websocket-url="wss://warroom.example.com/ws"' in html
    finally:
        await client.close()


@pytest.mark.parametrize("token", ["", "x" * 43, "y" * 5000])
async def test_a_wrong_token_gets_no_cookie(workspace, token):
    workspace.grant_access("alice")
    _, client = await started(workspace)
    try:
        response = await client.get("/login", params={"token": token})
        assert response.status == 401
        assert COOKIE not in set_cookie(response)
    finally:
        await client.close()


async def test_revoking_refuses_the_token_and_every_cookie_made_from_it(workspace):
    token = workspace.grant_access("alice")
    other = workspace.grant_access("bob")
    _, client = await started(workspace)
    try:
        cookie = await logged_in(client, token)
        bobs = await logged_in(client, other)
        workspace.revoke_access("alice")
        assert (await client.get("/", cookies={COOKIE: cookie})).status == 401
        assert (await client.get("/login", params={"token": token})).status == 401
        assert (await client.get("/", cookies={COOKIE: bobs})).status == 200
    finally:
        await client.close()


async def test_the_websocket_needs_the_served_origin_before_anything_else(workspace):
    token = workspace.grant_access("alice")
    _, client = await started(workspace)
    try:
        cookie = await logged_in(client, token)
        refused = [
            (cookie, {"Origin": "http://evil.example"}),  # cross-site WebSocket hijacking
            (cookie, {"Origin": "http://127.0.0.1:8081"}),  # same site, another origin
            (cookie, {}),  # a plain client sending no Origin
            (None, {}),  # a raw WebSocket without the cookie
        ]
        for sent, headers in refused:
            with pytest.raises(WSServerHandshakeError) as caught:
                await client.ws_connect("/ws", headers={**carrying(sent), **headers})
            assert caught.value.status == 403, (sent, headers)
        with pytest.raises(WSServerHandshakeError) as caught:
            await client.ws_connect("/ws", headers={"Origin": PUBLIC})
        assert caught.value.status == 401  # the right origin, but nobody logged in
    finally:
        await client.close()


class FakeSocket:
    """Stands in for a live session's WebSocket: records how it was closed."""

    def __init__(self) -> None:
        self.closed_with: tuple[int, bytes] | None = None

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed_with = (code, message)
        return True


async def test_a_full_server_says_so_on_the_page_and_the_websocket(workspace):
    token = workspace.grant_access("alice")
    server, client = await started(workspace, max_sessions=1)
    try:
        cookie = await logged_in(client, token)
        assert (await client.get("/", cookies={COOKIE: cookie})).status == 200
        server.live[1] = Live(Visitor("bob", False, "digest"), FakeSocket())  # type: ignore[arg-type]
        full = await client.get("/", cookies={COOKIE: cookie})
        assert full.status == 503
        assert "Server full" in await full.text() and "--max-sessions" in await full.text()
        with pytest.raises(WSServerHandshakeError) as caught:
            await client.ws_connect("/ws", headers={**carrying(cookie), "Origin": PUBLIC})
        assert caught.value.status == 503
    finally:
        await client.close()


async def test_revoking_ends_that_persons_live_sessions_only(workspace):
    workspace.grant_access("alice")
    workspace.grant_access("bob")
    grants = {g.name: g for g in workspace.access_grants()}
    server, client = await started(workspace)
    try:
        alice, bob = FakeSocket(), FakeSocket()
        for n, (name, socket) in enumerate((("alice", alice), ("bob", bob))):
            visitor = Visitor(name, False, grants[name].token_sha256)
            server.live[n] = Live(visitor, socket)  # type: ignore[arg-type]
        await server.sweep()
        assert [alice.closed_with, bob.closed_with] == [None, None]
        workspace.revoke_access("alice")
        await server.sweep()
        assert [alice.closed_with, bob.closed_with] == [(CLOSE_REVOKED, b"access revoked"), None]
    finally:
        await client.close()


async def test_a_download_goes_only_to_the_visitor_whose_app_made_it(workspace):
    token = workspace.grant_access("alice")
    workspace.grant_access("bob")
    bob = next(g for g in workspace.access_grants() if g.name == "bob")
    server, client = await started(workspace)
    try:
        cookie = await logged_in(client, token)
        app = VisitorApp(
            Visitor("bob", False, bob.token_sha256),
            None,
            write_bytes=None,
            write_str=None,
            close=None,
            download_manager=server.download_manager,
        )
        await server.download_manager.create_download(
            app_service=app,
            delivery_key="k1",
            file_name="INC-1.md",
            open_method="download",
            mime_type="text/markdown",
        )
        response = await client.get("/download/k1", cookies={COOKIE: cookie})
        assert response.status == 404
    finally:
        await client.close()


async def test_each_app_runs_as_its_visitor_and_read_only_when_the_token_is(workspace):
    server = WarRoomServer(workspace, options())
    viewer = Visitor("Bob O'Neil; rm -rf /", True, "d")
    app = server.app_for(viewer, web.WebSocketResponse())
    assert app.command.endswith("tui --read-only")
    assert "Neil" not in app.command  # the name goes into the environment, never the command line
    env = app._build_environment(100, 30)
    assert env[USER_ENV] == "Bob O'Neil; rm -rf /"
    assert env["TEXTUAL_DRIVER"] == "textual.drivers.web_driver:WebDriver"
    alice = server.app_for(Visitor("alice", False, "d"), web.WebSocketResponse())
    assert "--read-only" not in alice.argv
