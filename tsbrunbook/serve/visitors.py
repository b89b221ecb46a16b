"""Who is logged in: browser session cookies and the grant each was made from.

A cookie is a random 32-byte value; the server keeps only its SHA-256, so a lookup is by digest
(the timing of a dict lookup on a digest says nothing useful about the cookie) and the final
check is a constant-time comparison. Sessions live in memory: a restarted server asks everyone
to log in again with their token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from ..store.protocol import AccessGrant

COOKIE = "tsbrunbook_session"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Visitor:
    """A logged-in browser: whose grant it came from."""

    name: str
    read_only: bool
    token_sha256: str  # the grant's: a revocation ends every session made from it


@dataclass
class Visitors:
    """Cookie digest → the visitor it belongs to."""

    _by_cookie: dict[str, Visitor] = field(default_factory=dict)

    def log_in(self, grant: AccessGrant) -> str:
        """A new cookie value for this grant (handed to the browser, never stored)."""
        cookie = secrets.token_urlsafe(32)
        self._by_cookie[_digest(cookie)] = Visitor(grant.name, grant.read_only, grant.token_sha256)
        return cookie

    def visitor(self, cookie: str | None) -> Visitor | None:
        if not cookie:
            return None
        digest = _digest(cookie)
        for known, visitor in self._by_cookie.items():
            if hmac.compare_digest(known, digest):
                return visitor
        return None

    def forget_revoked(self, in_force: set[str]) -> list[Visitor]:
        """Drop every session whose grant is no longer in force (token digests); those dropped."""
        gone = {k: v for k, v in self._by_cookie.items() if v.token_sha256 not in in_force}
        for key in gone:
            del self._by_cookie[key]
        return list(gone.values())
