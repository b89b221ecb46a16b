"""A TCP proxy in front of the test PostgreSQL server that can lose the answer to a commit.

The situation the idempotency key exists for: the server committed, then the connection died
before the client heard so. Armed with `drop_next_answer(marker)`, the proxy forwards the next
request containing `marker` (b"COMMIT", or a text of an append, which commits at its Sync) to the
server, waits for the server's answer, throws it away and cuts the client off. The server answers
a pipeline only once it has run to its Sync, so the answer it loses comes after the commit.
"""

from __future__ import annotations

import socket
import threading


class AnswerDropper:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.dropped = 0
        self._armed = threading.Event()
        self._marker = b"COMMIT"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next_answer(self, marker: bytes) -> None:
        self._marker = marker
        self._armed.set()

    def __enter__(self) -> AnswerDropper:
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._listener.close()
        for s in self._sockets:
            s.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            cut = threading.Event()  # set once the marked request went through while armed
            threading.Thread(
                target=self._to_server, args=(client, server, cut), daemon=True
            ).start()
            threading.Thread(
                target=self._to_client, args=(server, client, cut), daemon=True
            ).start()

    def _to_server(
        self, client: socket.socket, server: socket.socket, cut: threading.Event
    ) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                return
            if not data:
                server.close()
                return
            if self._armed.is_set() and self._marker in data:
                self._armed.clear()
                cut.set()
            try:
                server.sendall(data)
            except OSError:
                return

    def _to_client(
        self, server: socket.socket, client: socket.socket, cut: threading.Event
    ) -> None:
        while True:
            try:
                data = server.recv(65536)
            except OSError:
                return
            if not data:
                client.close()
                return
            if cut.is_set():  # the answer to the marked request: the server committed; lose it
                self.dropped += 1
                client.shutdown(socket.SHUT_RDWR)
                client.close()
                server.close()
                return
            try:
                client.sendall(data)
            except OSError:
                return
