"""The TSB health probe: one GET of the management plane's organization status endpoint.

`GET https://{fqdn}/v2/organizations/{org}/status` goes through front-envoy, iam and the TSB API
server (the guide's own health check), with basic auth from the keyring (`tsb-api-user`,
`tsb-api-password`). The estate's `management.status_url` replaces the computed URL (a proxy in
front of the API; tests on 127.0.0.1).

The endpoint answers JSON: a 2xx whose Content-Type or body is not JSON (a login page, a proxy's
placeholder) is inconclusive, not healthy.

Credentials never go over plain `http://` unless the caller says so (`allow_insecure_http`, the
CLI's `--allow-insecure-http`, or TSBRUNBOOK_ALLOW_INSECURE_HTTP=1 for the TUI): anyone on the path
could read them. A status URL holding control characters (ESC, CR/LF, bidi overrides) is refused
when it is used, whatever `validate` said: it would be printed, and sent as a request line.

The probe only *suggests*: mark the management plane down, or up, or nothing. It never changes
an incident — the engineer confirms, and the confirmation is the recorded action.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..domain.errors import UserError
from ..domain.impact import ImpactEngine
from ..domain.model import Estate
from .http import MAX_BODY, HttpFailure, Response, basic_auth, request

MANAGEMENT_PLANE = "management-plane"
DEFAULT_TIMEOUT = 5.0
PLACEHOLDERS = ("<fqdn>", "<org>")
INSECURE_HTTP_ENV = "TSBRUNBOOK_ALLOW_INSECURE_HTTP"

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"  # it failed, or did not answer: the plane (or the way to it) is down
INCONCLUSIVE = (
    "inconclusive"  # it answered, but not about health (bad credentials, wrong org, not JSON)
)


@dataclass(frozen=True)
class Suggestion:
    action: str  # "down" | "up" | "" (nothing to change)
    components: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class ProbeResult:
    url: str  # from the estate: not a secret
    verdict: str  # healthy | unhealthy | inconclusive
    status: int | None  # the HTTP status, if one came back
    latency: float  # seconds
    message: str  # safe to show: no credentials
    suggestion: Suggestion
    warning: str = ""  # e.g. the credentials went over plain http (allowed, but said)

    @property
    def ok(self) -> bool:
        return self.verdict == HEALTHY


def status_url(estate: Estate) -> str:
    """The URL the probe calls; UserError when the estate does not say where the plane is, or
    when the URL holds control characters."""
    m = estate.management
    if m.status_url:
        return _without_controls(m.status_url)
    missing = [
        key
        for key, value in (("fqdn", m.fqdn), ("organization", m.organization))
        if value in PLACEHOLDERS or not value
    ]
    if missing:
        raise UserError(
            f"the estate sets no management.{' or management.'.join(missing)}",
            "add them to the estate's management section (or management.status_url)",
        )
    return _without_controls(f"https://{m.fqdn}/v2/organizations/{m.organization}/status")


def _without_controls(url: str) -> str:
    """The URL, if no character in it is a control or format character (ESC, CR/LF, DEL, C1,
    bidi overrides, zero-width …); else UserError. The URL itself is not repeated: it is the
    hostile part."""
    bad = sorted(
        {f"U+{ord(ch):04X}" for ch in url if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")}
    )
    if bad:
        raise UserError(
            f"management.status_url contains control characters ({', '.join(bad[:5])}); it was not called",
            "remove them from the estate's management.status_url (check it with `tsbrunbook validate`)",
        )
    return url


def insecure_http_allowed(explicit: bool | None = None) -> bool:
    """Whether plain http:// may carry credentials: the caller's word, else the environment."""
    if explicit is not None:
        return explicit
    return os.environ.get(INSECURE_HTTP_ENV, "").strip().lower() in ("1", "yes", "true")


def check_transport(url: str, allow_insecure_http: bool) -> str:
    """ "" for https; for plain http, UserError unless allowed, else the warning to show."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return ""
    host = parts.hostname or "?"
    if not allow_insecure_http:
        raise UserError(
            f"refusing to send the TSB API credentials over plain http:// to {host} (anyone on the path could read them)",
            f"use an https:// management.status_url; or, on a path you trust, pass --allow-insecure-http (TUI: {INSECURE_HTTP_ENV}=1)",
        )
    return f"the TSB API credentials went over plain http:// to {host} (readable by anyone on the path)"


def credentials_from_keyring() -> tuple[str, str]:
    """(user, password) for basic auth; UserError (exit 2) when either is not set."""
    from .secrets import API_PASSWORD, API_USER, require

    user = require(API_USER, "the TSB API user for the probe")
    password = require(API_PASSWORD, "the TSB API password for the probe")
    return user, password


def suggest(verdict: str, engine: ImpactEngine | None, down: Iterable[str] = ()) -> Suggestion:
    """What the result suggests for an incident with these components marked down (pure)."""
    down = list(down)
    if verdict == HEALTHY:
        # A healthy answer contradicts the management plane, or anything hosting it, being down.
        contradicted = tuple(
            c
            for c in down
            if engine is not None
            and c in engine.graph.by_id
            and MANAGEMENT_PLANE in engine.graph.closure(c)
        )
        if contradicted:
            return Suggestion(
                "up",
                contradicted,
                f"the management plane answers: mark {', '.join(contradicted)} up?",
            )
        return Suggestion("", (), "the management plane answers; nothing to change")
    if verdict == UNHEALTHY:
        effective: set[str] = set()
        if engine is not None:
            for c in down:
                if c in engine.graph.by_id:
                    effective |= engine.graph.closure(c)
        if MANAGEMENT_PLANE in effective or MANAGEMENT_PLANE in down:
            return Suggestion(
                "", (), "the management plane is already marked down; nothing to change"
            )
        return Suggestion(
            "down",
            (MANAGEMENT_PLANE,),
            f"mark {MANAGEMENT_PLANE} down? (if only this machine may be cut off from it, check from another place first)",
        )
    return Suggestion("", (), "the answer says nothing about health; nothing to change")


def probe(
    estate: Estate,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    credentials: tuple[str, str] | None = None,
    engine: ImpactEngine | None = None,
    down: Iterable[str] = (),
    allow_insecure_http: bool | None = None,
) -> ProbeResult:
    """Call the status endpoint once. Blocking (≤ `timeout` in all: connect, TLS, headers and
    body share one deadline): run it in a worker thread from a UI. UserError for bad input (no
    FQDN, a status URL with control characters, credentials over plain http not allowed, no
    credentials, bad timeout); every network outcome is a ProbeResult. `allow_insecure_http`
    None means: as TSBRUNBOOK_ALLOW_INSECURE_HTTP says."""
    if not 0 < timeout <= 120:
        raise UserError(
            f"timeout {timeout:g} s is out of range", "give a value between 0 and 120 seconds"
        )
    url = status_url(estate)
    warning = check_transport(url, insecure_http_allowed(allow_insecure_http))
    user, password = credentials if credentials is not None else credentials_from_keyring()
    headers = {"Authorization": basic_auth(user, password), "Accept": "application/json"}
    try:
        resp = request("GET", url, headers=headers, timeout=timeout)
    except HttpFailure as exc:
        verdict, message = _judge(exc)
        return ProbeResult(
            url, verdict, exc.status, exc.latency, message, suggest(verdict, engine, down), warning
        )
    not_json = _not_status_json(resp)
    if not_json:
        return ProbeResult(
            url,
            INCONCLUSIVE,
            resp.status,
            resp.latency,
            not_json,
            suggest(INCONCLUSIVE, engine, down),
            warning,
        )
    message = f"HTTP {resp.status}"
    return ProbeResult(
        url, HEALTHY, resp.status, resp.latency, message, suggest(HEALTHY, engine, down), warning
    )


def _not_status_json(resp: Response) -> str:
    """Why a 2xx answer is not the status endpoint's JSON ("" when it is). A login page, a captive
    portal or a proxy's placeholder answers 200 too; that says nothing about the plane's health."""
    media = resp.content_type.split(";", 1)[0].strip().lower()
    shown = re.sub(r"[^A-Za-z0-9.+/_-]", "", media)[:60] or "none"
    where = "check management.fqdn, or management.status_url, in the estate"
    if resp.truncated:
        return f"HTTP {resp.status}, but the answer is larger than {MAX_BODY // 1024} KiB (only that much was read): not the TSB status endpoint; {where}"
    if not (
        media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    ):
        return f"HTTP {resp.status}, but the answer is not JSON (Content-Type {shown}): probably a login page or a proxy, not the TSB status endpoint; {where}"
    try:
        json.loads(resp.body)
    except (ValueError, RecursionError):
        return f"HTTP {resp.status}, but the body is not valid JSON: probably not the TSB status endpoint; {where}"
    return ""


def _judge(exc: HttpFailure) -> tuple[str, str]:
    status = exc.status
    if status in (401, 403):
        return (
            INCONCLUSIVE,
            f"{exc.message}: the credentials were refused (check `tsbrunbook secret set tsb-api-user` / `tsb-api-password`)",
        )
    if status == 404:
        return (
            INCONCLUSIVE,
            f"{exc.message}: no such organization or path (check management.organization in the estate)",
        )
    if status is not None and 300 <= status < 500 and status != 408:
        return INCONCLUSIVE, exc.message
    return UNHEALTHY, exc.message
