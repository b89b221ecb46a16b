"""The war-room server: textual-serve's `Server`, with access control around it.

Routes (every one needs the session cookie, else 401, except /login):
- `GET /login?token=T` swaps a token (`tsbrunbook access create`) for an HttpOnly,
  SameSite=Strict cookie (Secure under TLS) and sends the browser on to `/`;
- `GET /` the page (our template: no font service, no CDN), or "server full";
- `GET /ws` the app's WebSocket: also needs the Origin to be the served origin (403 otherwise:
  no other site's page can drive a session with the visitor's cookie), and a free session slot;
- `GET /download/{key}` an export the visitor's own app delivered (`App.deliver_text`);
- `GET /static/…` textual-serve's own script, stylesheet and font files.

Each WebSocket runs the real TUI as a subprocess (textual-serve's way) with the visitor's name
as `TSBRUNBOOK_USER`, the author of everything it records, and `--read-only` for a read-only
token. It is a warm spare when one is ready (`--warm N`, tsbrunbook/serve/spare.py: started
ahead with Python and Textual imported, then told over its stdin who it runs as), else a cold
start of the same command; either way one process serves one session. Grants are read from the incident store on every request and every second for the live
sessions, so `tsbrunbook access revoke NAME` (from any process) ends NAME's sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import signal
import ssl
import sys
from asyncio.subprocess import PIPE, Process
from dataclasses import dataclass
from html import escape
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from ..domain.errors import UserError
from ..workspace import WarRoomOptions, Workspace
from .spare import SPARE_MODULE, Handoff, tui_args
from .spares import SparePool, end_unused, hand_over
from .visitors import COOKIE, Visitor, Visitors

log = logging.getLogger("textual-serve")  # textual-serve's own messages go the same way

USER_ENV = "TSBRUNBOOK_USER"  # the author name of the session's app (team mode's actor)
TITLE = "tsbrunbook war room"
TEMPLATES = Path(__file__).parent / "templates"
STATICS = Path(textual_serve.__file__).parent / "static"  # xterm.css, textual.js, Roboto Mono
REVOCATION_POLL_S = 1.0  # how soon a revocation ends live sessions
MAX_TOKEN_CHARS = 200  # a token is 43 characters; anything much longer is not one
CLOSE_REVOKED = 4001  # WebSocket close code (4000–4999 are the application's own)
VISITOR = web.RequestKey("visitor", Visitor)  # who made the request (set by `guard`)
REFILL_AFTER_S = 10.0  # the longest a new spare waits for the session that took the last one
# An app's output longer than this is screen content, not one of the terminal set-up codes it
# sends first (each 6–9 bytes): textual-serve's page takes the same as its "first byte".
FRAME_BYTES = 10


def page(title: str, text: str, status: int) -> web.Response:
    """A small HTML page of our own (login, refusals): text only, escaped."""
    body = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        '</title></head><body style="font-family: monospace; background: #0c181f; color: #eee; '
        f'padding: 2em"><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>'
    )
    return web.Response(status=status, text=body, content_type="text/html")


NOT_LOGGED_IN = (
    "Not logged in. Open the login link you were given (…/login?token=…); tokens come from "
    "`tsbrunbook access create NAME` on the server."
)


def app_environment(debug: bool, width: int = 80, height: int = 24) -> dict[str, str]:
    """textual-serve's environment for an app process (its driver, colours, the size), naming
    nobody: the visitor's name is added per session."""
    # AppService builds it in a method that reads only `debug` from the service.
    stand_in = cast(AppService, SimpleNamespace(debug=debug))
    environment = AppService._build_environment(stand_in, width=width, height=height)
    environment.pop(USER_ENV, None)  # never the server's own name by accident
    return environment


async def start_spare(debug: bool) -> Process:
    """A warm spare: the app program, importing, waiting on its stdin for a visitor."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        SPARE_MODULE,
        stdin=PIPE,
        stdout=PIPE,
        stderr=PIPE,
        env=app_environment(debug),
    )


class VisitorApp(AppService):
    """One browser tab's app process, run as the visitor: a warm spare handed over to them when
    the pool has one, else a cold start of the same program."""

    def __init__(
        self,
        visitor: Visitor,
        estate: str | None,
        spares: SparePool[Process] | None = None,
        **kwargs: Any,
    ) -> None:
        # The name goes into the environment or the handoff, never the command line.
        self.argv = [sys.executable, "-m", "tsbrunbook", *tui_args(estate, visitor.read_only)]
        super().__init__(shlex.join(self.argv), **kwargs)
        self.visitor = visitor
        self.estate = estate
        self.spares = spares
        self.warm = False  # a spare runs this session
        self.first_frame = asyncio.Event()
        self.size: tuple[int, int] | None = None  # the terminal size the app last heard of

    def handoff(self, width: int, height: int) -> Handoff:
        return Handoff(self.visitor.name, self.visitor.read_only, self.estate, width, height)

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = app_environment(self.debug, width, height)
        environment[USER_ENV] = self.visitor.name
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self.size = (width, height)
        spare = self.spares.take() if self.spares is not None else None
        if spare is not None:
            if await hand_over(spare, self.handoff(width, height)):
                self.warm = True
                self._process, self._stdin = spare, spare.stdin
                return spare
            await end_unused(spare)
        # Cold: the program itself, without a shell in between (textual-serve uses one).
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
            env=self._build_environment(width, height),
        )
        self._stdin = process.stdin
        return process

    async def set_terminal_size(self, width: int, height: int) -> None:
        """Pass a resize on unless the app has that size already: textual-serve's page opens
        the socket at its terminal's size, then sends the same size again as the app starts
        (an extra layout of the first screen)."""
        if (width, height) == self.size:
            return
        self.size = (width, height)
        await super().set_terminal_size(width, height)

    async def on_data(self, payload: bytes) -> None:
        if len(payload) > FRAME_BYTES:
            self.first_frame.set()
        await super().on_data(payload)


@dataclass
class Live:
    """A running session: whose, its WebSocket and its app (None while it starts)."""

    visitor: Visitor
    websocket: web.WebSocketResponse
    app: VisitorApp | None = None


class WarRoomServer(Server):
    def __init__(
        self,
        workspace: Workspace,
        request: WarRoomOptions,
        ssl_context: ssl.SSLContext | None = None,
        revocation_poll: float = REVOCATION_POLL_S,
    ) -> None:
        super().__init__(
            command="tsbrunbook tui",  # per visitor: see command_for
            host=request.host,
            port=request.port,
            title=TITLE,
            public_url=request.public_url,
            statics_path=STATICS,
            templates_path=TEMPLATES,
        )
        self.workspace = workspace
        self.request = request
        self.ssl_context = ssl_context
        self.revocation_poll = revocation_poll
        self.visitors = Visitors()
        self.live: dict[int, Live] = {}
        scheme, _, rest = request.public_url.partition("://")
        self.origin = f"{scheme}://{rest}"  # public_url is scheme://host[:port], nothing after
        self.websocket_url = ("wss" if scheme == "https" else "ws") + f"://{rest}/ws"
        self._watch: asyncio.Task[None] | None = None
        self.spares: SparePool[Process] = SparePool(request.warm, self.start_spare)
        self._refills: set[asyncio.Task[None]] = set()

    # -- the app each visitor gets -----------------------------------------------------------

    def app_for(self, visitor: Visitor, websocket: web.WebSocketResponse) -> VisitorApp:
        """The app of one session of this visitor, speaking over this WebSocket."""
        return VisitorApp(
            visitor,
            self.request.estate,
            self.spares,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )

    async def start_spare(self) -> Process:
        return await start_spare(self.debug)

    async def refill_after(self, app: VisitorApp) -> None:
        """Start the next spare once this session's app has drawn its first screen (or after
        REFILL_AFTER_S): not while it starts, when the two would share the CPU."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.first_frame.wait(), REFILL_AFTER_S)
        await self.spares.fill()

    def refill(self, app: VisitorApp) -> None:
        task = asyncio.create_task(self.refill_after(app))
        self._refills.add(task)  # kept until done: the loop holds only weak references
        task.add_done_callback(self._refills.discard)

    # -- the web application -----------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/login", self.handle_login, name="login"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_response_prepare.append(self.secure_headers)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def secure_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """On every answer: nothing outside this server may be loaded or connected to, no page
        may frame it, and no Referer (which could carry a login token) leaves it."""
        connect = self.websocket_url.rsplit("/ws", 1)[0]
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
            f"connect-src 'self' {connect}; worker-src 'self' blob:; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'none'"
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every route but /login needs a logged-in visitor whose grant is still in force; /ws
        first needs the served Origin (a cross-site page, or a client that sends none, gets
        403 whatever cookie it carries)."""
        if request.path == "/login":
            response: web.StreamResponse = await handler(request)
            return response
        if request.path == "/ws" and request.headers.get("Origin") != self.origin:
            return page("Forbidden", "This page may only be used from its own site.", 403)
        visitor = self.visitors.visitor(request.cookies.get(COOKIE))
        if visitor is None or not await self.in_force(visitor):
            return page("Not logged in", NOT_LOGGED_IN, 401)
        request[VISITOR] = visitor
        response = await handler(request)
        return response

    async def in_force(self, visitor: Visitor) -> bool:
        """Is the visitor's grant still in force (read from the store now)?"""
        try:
            digests = await asyncio.to_thread(self.grants_in_force)
        except UserError as exc:
            log.warning("cannot read the access grants: %s", exc)
            return False
        if visitor.token_sha256 in digests:
            return True
        self.visitors.forget_revoked(digests)
        return False

    def grants_in_force(self) -> set[str]:
        return {g.token_sha256 for g in self.workspace.access_grants()}

    # -- routes ------------------------------------------------------------------------------

    async def handle_login(self, request: web.Request) -> web.StreamResponse:
        """The token for a cookie. The answer is a page that moves on to `/` by itself rather
        than an HTTP redirect: a link clicked in a chat app (another site) would not send a
        SameSite=Strict cookie on a redirect that chain started; a navigation started by
        our own page does."""
        token = request.query.get("token", "")
        grant = None
        if 0 < len(token) <= MAX_TOKEN_CHARS:
            try:
                grant = await asyncio.to_thread(self.workspace.grant_for_token, token)
            except UserError as exc:
                log.warning("cannot read the access grants: %s", exc)
        if grant is None:
            return page(
                "Not logged in",
                "This token is not valid (mistyped, or revoked). Ask for a new one: "
                "`tsbrunbook access create NAME` on the server.",
                401,
            )
        cookie = self.visitors.log_in(grant)
        log.info("%s logged in (%s)", grant.name, grant.role)
        response = web.Response(
            text='<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="refresh" content="0; url=/"><title>Logged in</title></head>'
            '<body>Logged in. <a href="/">Open the war room</a></body></html>',
            content_type="text/html",
        )
        response.set_cookie(
            COOKIE, cookie, path="/", httponly=True, samesite="Strict", secure=self.request.tls
        )
        return response

    def full(self) -> bool:
        return len(self.live) >= self.request.max_sessions

    def server_full(self) -> web.Response:
        n = self.request.max_sessions
        return page(
            "Server full",
            f"The war room is full: {n} of {n} sessions are open. Close a tab you no longer "
            "need, or ask whoever runs `tsbrunbook serve` to raise --max-sessions.",
            503,
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.full():
            return self.server_full()
        visitor = request[VISITOR]
        context = {
            "title": TITLE,
            "name": visitor.name,
            "read_only": visitor.read_only,
            "websocket_url": self.websocket_url,
            "font_size": max(8, min(32, to_int(request.query.get("fontsize", "16"), 16))),
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler, with a session slot taken before anything awaits (so the
        cap holds however many tabs connect at once) and the app run as the visitor."""
        visitor = request[VISITOR]
        if self.full():
            raise web.HTTPServiceUnavailable(text="server full")
        websocket = web.WebSocketResponse(heartbeat=15)
        live = self.live[id(websocket)] = Live(visitor, websocket)
        width = max(20, min(500, to_int(request.query.get("width", "80"), 80)))
        height = max(5, min(200, to_int(request.query.get("height", "24"), 24)))
        try:
            await websocket.prepare(request)
            live.app = self.app_for(visitor, websocket)
            await live.app.start(width, height)
            self.refill(live.app)
            log.info(
                "session for %s started (%d open, %s)",
                visitor.name,
                len(self.live),
                "warm" if live.app.warm else "cold",
            )
            try:
                await self._process_messages(websocket, live.app)
            finally:
                await live.app.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # noqa: BLE001 — one session's failure, not the server's
            log.exception(error)
        finally:
            self.live.pop(id(websocket), None)
            if live.app is not None:
                await live.app.stop()
        return websocket

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        """An export, only to the visitor whose app delivered it."""
        visitor = request[VISITOR]
        try:
            meta = await self.download_manager.get_download_metadata(request.match_info["key"])
        except KeyError:
            raise web.HTTPNotFound(text="no such download") from None
        owner = meta.app_service
        if not isinstance(owner, VisitorApp) or owner.visitor.token_sha256 != visitor.token_sha256:
            raise web.HTTPNotFound(text="no such download")
        return await super().handle_download(request)

    # -- life cycle --------------------------------------------------------------------------

    async def on_startup(self, app: web.Application) -> None:
        self._watch = asyncio.create_task(self.watch_revocations())
        self._refills.add(fill := asyncio.create_task(self.spares.fill()))
        fill.add_done_callback(self._refills.discard)
        sys.stderr.write(
            f"tsbrunbook: war room on {self.request.public_url} (at most "
            f"{self.request.max_sessions} at once); people log in with "
            f"{self.request.public_url}/login?token=TOKEN (`tsbrunbook access create NAME`)\n"
        )
        sys.stderr.flush()

    async def on_shutdown(self, app: web.Application) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await self.spares.close()  # a spare still being started ends when it is, or on EOF
        for task in list(self._refills):
            task.cancel()
        for live in list(self.live.values()):
            await live.websocket.close(code=1001, message=b"server stopping")

    async def watch_revocations(self) -> None:
        """End the sessions of revoked grants, checking every `revocation_poll` seconds."""
        while True:
            await asyncio.sleep(self.revocation_poll)
            await self.sweep()

    async def sweep(self) -> None:
        """End the live sessions (and forget the cookies) of every grant no longer in force."""
        try:
            digests = await asyncio.to_thread(self.grants_in_force)
        except UserError as exc:
            log.warning("cannot read the access grants: %s", exc)
            return
        self.visitors.forget_revoked(digests)
        for live in list(self.live.values()):
            if live.visitor.token_sha256 not in digests:
                log.info("access of %s revoked: ending their session", live.visitor.name)
                await live.websocket.close(code=CLOSE_REVOKED, message=b"access revoked")

    def initialize_logging(self) -> None:
        """One plain line per message on stderr (textual-serve's own uses rich's handler)."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("tsbrunbook serve: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if self.debug else logging.INFO)
        log.propagate = False

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT or SIGTERM (textual-serve's, with TLS when a certificate is given)."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            ssl_context=self.ssl_context,
            handle_signals=False,
            loop=loop,
            print=None,
            access_log=None,
        )


def tls_context(request: WarRoomOptions) -> ssl.SSLContext | None:
    if request.certfile is None or request.keyfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(request.certfile, request.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise UserError(
            f"{request.certfile} / {request.keyfile}: cannot use them for TLS ({exc})",
            "give a PEM certificate and its private key",
        ) from None
    return context


def run(workspace: Workspace, request: WarRoomOptions) -> int:
    """Serve until stopped. The store and the TLS files are checked before anything listens."""
    workspace.access_grants()  # opens the store now: a bad or unreachable one is refused here
    server = WarRoomServer(workspace, request, tls_context(request))
    try:
        server.serve()
    except OSError as exc:
        raise UserError(
            f"cannot listen on {request.host}:{request.port} ({exc.strerror or exc})",
            "choose another --port, or stop what is using it",
        ) from None
    return 0
