"""PostgreSQL URLs without psycopg: recognise one, find its host and port, and take its password out.

Kept apart from `postgres.py` so that choosing a store, checking a `--database-url` argument and
masking a URL in a message never import psycopg (the SQLite path's start-up time matters).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode

SCHEMES = ("postgresql://", "postgres://")
DEFAULT_PORT = "5432"


def is_postgres_url(text: str) -> bool:
    return text.startswith(SCHEMES)


@dataclass(frozen=True)
class PgUrl:
    """What tsbrunbook needs to know about a PostgreSQL URL."""

    url: str  # as given: handed to libpq, which also reads ~/.pgpass, PGPASSWORD, sslmode …
    location: str  # the URL without any password: the only form ever shown
    password: str  # from the URL ("" when it has none); only for masking and keyring decisions
    hidden: tuple[str, ...]  # every form of the password that could appear in a message
    host: str  # the first host (or PGHOST, or libpq's default), for "unreachable at host:port"
    port: str

    def mask(self, text: str, *more_secrets: str) -> str:
        """`text` with the URL's password (and any other secret given) replaced by ***."""
        for secret in sorted((*self.hidden, *more_secrets), key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text


def parse(url: str) -> PgUrl:
    """Split a postgresql:// URL into what we show and what we hide. Never raises on odd input:
    libpq judges the URL when connecting, and its error is then shown masked."""
    scheme, _, rest = url.partition("://")
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostspec = netloc.rpartition("@")
    user, colon, raw_password = userinfo.partition(":")
    params = parse_qsl(query, keep_blank_values=True)
    passwords = [unquote(raw_password)] if colon else []
    passwords += [value for key, value in params if key == "password"]
    kept = [(key, value) for key, value in params if key != "password"]

    first = hostspec.split(",")[0]
    if first.startswith("["):  # [::1]:5432
        host, _, tail = first[1:].partition("]")
        port = tail.removeprefix(":")
    else:
        host, _, port = first.partition(":")
    query_values = dict(params)
    host = unquote(host) or query_values.get("host", "") or os.environ.get("PGHOST", "localhost")
    port = port or query_values.get("port", "") or os.environ.get("PGPORT", DEFAULT_PORT)

    shown_netloc = (user + at if user else "") + hostspec
    location = f"{scheme}://{shown_netloc}{slash}{path}"
    if kept:
        location += "?" + urlencode(kept)
    if fragment:
        location += "#" + fragment
    password = next((p for p in passwords if p), "")
    # Also the still-encoded form, in case libpq repeats the URL as it was typed.
    hidden = tuple(p for p in {*passwords, raw_password} if p)
    return PgUrl(url, location, password, hidden, host, port)


def has_password(url: str) -> bool:
    return bool(parse(url).password)
