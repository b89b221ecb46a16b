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
            return [json.loads(r["body"])["text"] for r in self.requests if r["method"] == "POST" and r["status"] < 300]


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
                rec.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body.decode("utf-8", "replace"), "status": status})
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
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
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
