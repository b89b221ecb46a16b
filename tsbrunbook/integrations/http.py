"""One small HTTP call with a timeout, for the webhook and the probe (urllib: no new dependency).

Errors come back as short phrases built from the kind of failure, never from the exception's
text alone: URLs (a webhook URL is a secret) and credentials must not leak into a status line,
an error message or a log. As a second line of defence, `mask()` removes the URL and its parts
from any text we do pass on.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "tsbrunbook"
MAX_BODY = 64 * 1024
RETRYABLE_STATUS = (408, 425, 429)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    latency: float  # seconds
    retry_after: float | None = None
    content_type: str = ""  # the Content-Type header as sent ("" when there was none)


class HttpFailure(Exception):
    """The call failed: `message` is safe to show; `status` is the HTTP status if one came back."""

    def __init__(self, message: str, status: int | None = None, latency: float = 0.0, permanent: bool = False, retry_after: float | None = None, kind: str = "error") -> None:
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

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirect())


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
        pieces += [parts.path, parts.query, parts.netloc, parts.path + ("?" + parts.query if parts.query else "")]
    for piece in sorted({p for p in pieces if p and len(p) >= 4}, key=len, reverse=True):
        out = out.replace(piece, "***")
    return out


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def request(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 5.0) -> Response:
    """Send one request; a 2xx is a Response, anything else an HttpFailure. Never raises anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpFailure("the URL is not an http(s) URL", permanent=True, kind="url")
    req = urllib.request.Request(url, data=body, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})})
    started = time.monotonic()
    try:
        with _opener().open(req, timeout=timeout) as resp:
            data = resp.read(MAX_BODY)
            return Response(resp.status, data, time.monotonic() - started, content_type=resp.headers.get("Content-Type") or "")
    except urllib.error.HTTPError as exc:
        latency = time.monotonic() - started
        code = exc.code
        retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        exc.close()
        if 300 <= code < 400:
            raise HttpFailure(f"HTTP {code}: a redirect (not followed; check the URL)", code, latency, permanent=True, kind="http") from None
        permanent = 400 <= code < 500 and code not in RETRYABLE_STATUS
        raise HttpFailure(f"HTTP {code}", code, latency, permanent=permanent, retry_after=retry_after, kind="http") from None
    except Exception as exc:  # noqa: BLE001 — every failure becomes one safe phrase
        latency = time.monotonic() - started
        message, kind = _describe(exc, timeout)
        raise HttpFailure(mask(message, url), None, latency, permanent=kind == "url", kind=kind) from None


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
    if isinstance(reason, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return "the connection was closed by the server", "network"
    if isinstance(reason, OSError):
        return f"network error ({reason.strerror or type(reason).__name__})", "network"
    if isinstance(reason, (ValueError, http.client.InvalidURL)):
        return "the URL is malformed", "url"
    return f"request failed ({type(reason).__name__})", "network"
