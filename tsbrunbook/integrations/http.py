"""One small HTTP call with a total deadline, for the webhook and the probe (urllib: no new
dependency).

**A deadline, not a read timeout.** A socket timeout bounds each read: a server that drips one
byte a second never trips it. Here `timeout` is the budget for the whole request: name
resolution, connect, TLS handshake, sending, the status line and headers, and the body (read in
chunks up to MAX_BODY). Before every read the socket timeout is set to what is left of the
budget, and a read that would start past the deadline fails at once (see `_DeadlineReader`).
TLS is verified exactly as before: `ssl.create_default_context()` (certificate and host name).

Errors come back as short phrases built from the kind of failure, never from the exception's
text alone: URLs (a webhook URL is a secret) and credentials must not leak into a status line,
an error message or a log. As a second line of defence, `mask()` removes the URL and its parts
from any text we do pass on.
"""

from __future__ import annotations

import base64
import functools
import http.client
import io
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from http.client import _DataType
    from socket import _Address

    from _typeshed import WriteableBuffer

USER_AGENT = "tsbrunbook"
MAX_BODY = 64 * 1024
READ_CHUNK = 16 * 1024
RETRYABLE_STATUS = (408, 425, 429)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    latency: float  # seconds
    retry_after: float | None = None
    content_type: str = ""  # the Content-Type header as sent ("" when there was none)
    truncated: bool = False  # the body was longer than MAX_BODY: only its start was read


class HttpFailure(Exception):
    """The call failed: `message` is safe to show; `status` is the HTTP status if one came back."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        latency: float = 0.0,
        permanent: bool = False,
        retry_after: float | None = None,
        kind: str = "error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.latency = latency
        self.permanent = permanent  # retrying cannot help (4xx, a bad URL)
        self.retry_after = retry_after
        self.kind = kind  # http | timeout | refused | dns | tls | network | url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is reported, not followed: a webhook or status URL that moves is misconfigured,
    and following it would send the body (and basic auth) somewhere we were not told to."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class _DeadlineReader(io.RawIOBase):
    """The socket's reading side, each read bounded by what is left until `deadline`."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # holds the socket open until we close
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        self._sock.settimeout(_remaining(self._deadline))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What http.client.HTTPResponse needs of a socket (`makefile`), reading under the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(
        self, sock: socket.socket, *args: object, deadline: float, **kwargs: object
    ) -> None:
        # HTTPResponse only calls sock.makefile("rb"); typeshed asks for a real socket.
        super().__init__(_DeadlineSocket(sock, deadline), *args, **kwargs)  # type: ignore[arg-type]


def _remaining(deadline: float) -> float:
    """Seconds left; TimeoutError once none are (a read must not start past the deadline)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


_AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, "_Address"]


def _resolve(host: str, port: int, deadline: float) -> list[_AddrInfo]:
    """getaddrinfo, which no socket timeout covers (a dead resolver), bounded by the deadline.
    The lookup runs in a daemon thread: if it outlives the deadline it is abandoned, not waited for."""
    infos: list[_AddrInfo] = []
    errors: list[OSError] = []

    def lookup() -> None:
        try:
            infos.extend(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except OSError as exc:
            errors.append(exc)

    thread = threading.Thread(target=lookup, name="tsbrunbook-resolve", daemon=True)
    thread.start()
    thread.join(_remaining(deadline))
    if thread.is_alive():
        raise TimeoutError("timed out")
    if errors:
        raise errors[0]
    return infos


def _connect(
    deadline: float, address: tuple[str, int], timeout: object = None, source_address: object = None
) -> socket.socket:
    """socket.create_connection, with resolution and each connect bounded by the deadline. The
    socket leaves with the remaining time as its timeout: that bounds the TLS handshake as a whole
    (CPython's handshake loop keeps one deadline for the whole exchange)."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in _resolve(host, port, deadline):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(sockaddr)
            sock.settimeout(_remaining(deadline))
            return sock
        except OSError as exc:
            sock.close()
            error = exc
            if isinstance(exc, TimeoutError):
                break
    raise error or OSError("no address to connect to")


class _DeadlineHTTPConnection(http.client.HTTPConnection):
    """An http.client connection whose every step shares one deadline."""

    # `kwargs` is whatever urllib's do_open passes on (timeout, and for HTTPS context).
    def __init__(self, host: str, *, deadline: float, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = functools.partial(_connect, deadline)
        # http.client only calls response_class(sock, method=...); typeshed types it as a class.
        respond = functools.partial(_DeadlineResponse, deadline=deadline)
        self.response_class = respond  # type: ignore[assignment]
        self._deadline = deadline

    def send(self, data: _DataType | str) -> None:
        if self.sock is not None:
            self.sock.settimeout(_remaining(self._deadline))  # sendall: one bound for all of it
        super().send(data)


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, http.client.HTTPSConnection):
    """The same over TLS: HTTPSConnection.connect wraps the socket `_create_connection` made."""


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(_DeadlineHTTPConnection, deadline=self._deadline), req
        )


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: float) -> None:
        # Verified: the platform's trust store, and the certificate must name the host.
        self._tls = ssl.create_default_context()
        super().__init__(context=self._tls)
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(_DeadlineHTTPSConnection, deadline=self._deadline),
            req,
            context=self._tls,
        )


def _opener(deadline: float) -> urllib.request.OpenerDirector:
    # urllib keeps what it does well (proxies from the environment, CONNECT tunnels, errors);
    # the handlers replace only the connection, so that every step shares the deadline.
    return urllib.request.build_opener(
        _NoRedirect(), _DeadlineHTTPHandler(deadline), _DeadlineHTTPSHandler(deadline)
    )


def _read_capped(resp: http.client.HTTPResponse) -> tuple[bytes, bool]:
    """The body in chunks, at most MAX_BODY bytes; whether more was there."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        chunk = resp.read(min(READ_CHUNK, MAX_BODY + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    return data[:MAX_BODY], size > MAX_BODY


def mask(text: str, *secrets: str | None) -> str:
    """`text` with every secret (and, for URLs, their path, query and host:port) replaced by ***."""
    out = str(text)
    pieces: list[str] = []
    for secret in secrets:
        if not secret:
            continue
        pieces.append(secret)
        try:
            parts = urlsplit(secret)
        except ValueError:
            continue
        pieces += [
            parts.path,
            parts.query,
            parts.netloc,
            parts.path + ("?" + parts.query if parts.query else ""),
        ]
    for piece in sorted({p for p in pieces if p and len(p) >= 4}, key=len, reverse=True):
        out = out.replace(piece, "***")
    return out


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> Response:
    """Send one request; a 2xx is a Response, anything else an HttpFailure. Never raises anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpFailure("the URL is not an http(s) URL", permanent=True, kind="url")
    req = urllib.request.Request(
        url, data=body, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})}
    )
    started = time.monotonic()
    deadline = started + timeout
    try:
        with _opener(deadline).open(req, timeout=timeout) as resp:
            data, truncated = _read_capped(resp)
            return Response(
                resp.status,
                data,
                time.monotonic() - started,
                content_type=resp.headers.get("Content-Type") or "",
                truncated=truncated,
            )
    except urllib.error.HTTPError as exc:
        latency = time.monotonic() - started
        code = exc.code
        retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        exc.close()
        if 300 <= code < 400:
            raise HttpFailure(
                f"HTTP {code}: a redirect (not followed; check the URL)",
                code,
                latency,
                permanent=True,
                kind="http",
            ) from None
        permanent = 400 <= code < 500 and code not in RETRYABLE_STATUS
        raise HttpFailure(
            f"HTTP {code}", code, latency, permanent=permanent, retry_after=retry_after, kind="http"
        ) from None
    except Exception as exc:  # noqa: BLE001 — every failure becomes one safe phrase
        latency = time.monotonic() - started
        message, kind = _describe(exc, timeout)
        raise HttpFailure(
            mask(message, url), None, latency, permanent=kind == "url", kind=kind
        ) from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _describe(exc: BaseException, timeout: float) -> tuple[str, str]:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason):
        return f"timed out after {timeout:g} s", "timeout"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused", "refused"
    if isinstance(reason, socket.gaierror):
        return "the host name does not resolve", "dns"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({reason.verify_message or 'verify failed'})", "tls"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({reason.reason or type(reason).__name__})", "tls"
    if isinstance(
        reason,
        (
            ConnectionResetError,
            BrokenPipeError,
            http.client.RemoteDisconnected,
            http.client.IncompleteRead,
        ),
    ):
        return "the connection was closed by the server", "network"
    if isinstance(reason, OSError):
        return f"network error ({reason.strerror or type(reason).__name__})", "network"
    if isinstance(reason, (ValueError, http.client.InvalidURL)):
        return "the URL is malformed", "url"
    return f"request failed ({type(reason).__name__})", "network"
