"""Real HTTP servers on 127.0.0.1 for the webhook and probe tests (http.server in a thread)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorder:
    """What the server saw, and how it answers (changeable while it runs)."""

    status: int = 200
    body: bytes = b'{"status": "ok"}'  # JSON, like the TSB status endpoint (webhooks ignore it)
    content_type: str | None = "application/json"  # None: no Content-Type header at all
    delay: float = 0.0  # seconds to sleep before answering (longer than the client's timeout)
    fail_first: int = 0  # answer 500 to this many requests first
    requests: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def texts(self) -> list[str]:
        with self.lock:
            return [
                json.loads(r["body"])["text"]
                for r in self.requests
                if r["method"] == "POST" and r["status"] < 300
            ]


def _handler(rec: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if rec.delay:
                rec.release.wait(rec.delay)  # the test's teardown releases a hanging request
            with rec.lock:
                status = 500 if rec.fail_first > 0 else rec.status
                rec.fail_first = max(0, rec.fail_first - 1)
                rec.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body.decode("utf-8", "replace"),
                        "status": status,
                    }
                )
            try:
                self.send_response(status)
                if rec.content_type is not None:
                    self.send_header("Content-Type", rec.content_type)
                self.send_header("Content-Length", str(len(rec.body)))
                self.end_headers()
                self.wfile.write(rec.body)
            except OSError:
                pass  # the client gave up (timeout): nothing to answer

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

    return Handler


@contextmanager
def serve(**settings) -> Iterator[tuple[str, Recorder]]:
    """A server on 127.0.0.1:<free port>; yields (base URL, recorder)."""
    rec = Recorder(**settings)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", rec
    finally:
        rec.release.set()
        server.shutdown()
        server.server_close()
        thread.join(2)


def closed_port() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------------------------------
# Raw servers: answers http.server cannot give (dripping bytes, stalling mid-answer, bad bytes).
# Each `respond(conn, stop)` writes what it likes after the request head has been read; `stop` is
# set at teardown so that a dripping or stalled answer ends at once (no thread outlives the test).


@dataclass
class RawServer:
    url: str
    connections: int = 0  # how many clients connected (a refused request must make none)
    heads: list[bytes] = field(default_factory=list)  # the request heads received


def _read_head(conn: socket.socket, limit: int = 64 * 1024) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def serve_raw(respond, *, read_head: bool = True) -> Iterator[RawServer]:
    """A TCP server on 127.0.0.1:<free port> answering every connection with `respond`."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    server = RawServer(f"http://127.0.0.1:{listener.getsockname()[1]}")
    workers: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                if read_head:
                    server.heads.append(_read_head(conn))
                respond(conn, stop)
            except OSError:
                pass  # the client gave up: that is what these servers test

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            server.connections += 1
            worker = threading.Thread(target=handle, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(2)
        listener.close()
        for worker in workers:
            worker.join(2)


def drip_headers(interval: float = 0.5):
    """A status line, then one header byte every `interval` seconds, for ever: every read gets a
    byte long before any per-read timeout, so only a total deadline ends it."""

    def respond(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        while not stop.wait(interval):
            conn.sendall(b"a")

    return respond


def stall_after_headers(content_type: bytes = b"application/json", sent: bytes = b'{"sta'):
    """Complete headers promising 1000 bytes, a few of them, then nothing (until teardown)."""

    def respond(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: "
            + content_type
            + b"\r\nContent-Length: 1000\r\n\r\n"
            + sent
        )
        stop.wait()

    return respond


def drip_body(interval: float = 0.5):
    """Complete headers, then one body byte every `interval` seconds, for ever (chunk by chunk)."""

    def respond(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        while not stop.wait(interval):
            conn.sendall(b"1\r\n \r\n")

    return respond


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read nothing more, answer nothing (a TLS handshake to it stalls too)."""
    stop.wait()


def huge_body(size: int = 50 * 1024 * 1024, content_type: bytes = b"application/json"):
    """A 200 whose body is `size` bytes, sent as fast as the client reads it."""

    def respond(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: "
            + content_type
            + b"\r\nContent-Length: "
            + str(size).encode()
            + b"\r\n\r\n"
        )
        chunk = b" " * 65536
        for _ in range(size // len(chunk)):
            if stop.is_set():
                return
            conn.sendall(chunk)

    return respond


def answer(raw: bytes):
    """Exactly these bytes, then close (hostile status lines, headers and bodies)."""

    def respond(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(raw)

    return respond
