"""`estate.management`: the management cluster and how to reach its API (fqdn, organization,
ports, status URL), each field checked so the probe never builds a URL from a bad value."""

from __future__ import annotations

import re

from ..model import ManagementSide
from .mapping import Obj
from .textrules import invisible_character


def read_management(m: Obj | None) -> ManagementSide:
    """The `management:` mapping of an estate; placeholders the probe reports as "not set"
    when the mapping is absent (`Obj.obj` has already reported it missing)."""
    if m is None:
        return ManagementSide("management", "", "management", "<fqdn>", "<org>", "tsb")
    mgmt_cluster = m.text("cluster")
    side = ManagementSide(
        cluster=mgmt_cluster,
        region=m.text("region", required=False),
        context=m.text("context", required=False) or mgmt_cluster,
        fqdn=_fqdn(m),
        organization=_organization(m),
        namespace=m.text("namespace", required=False, default="tsb") or "tsb",
        status_url=_status_url(m),
        front_envoy_port=_port(m, "front_envoy_port", 8443),
        helm_chart_version=m.text("helm_chart_version", required=False),
    )
    m.done()
    return side


# `management.fqdn`: a host name (or IPv4 address, or [IPv6]) with an optional :port — what goes
# between `https://` and the path. No scheme, path, spaces or user@ (credentials live in the keyring).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
FQDN_RE = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::(\d{{1,5}}))?$")


# `management.organization`: one path segment of /v2/organizations/<org>/status.
ORG_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def _fqdn(m: Obj) -> str:
    """`management.fqdn`, checked; `<fqdn>` (the probe's "not set") when absent or wrong."""
    value = m.text("fqdn", required=False)
    if not value or value == "<fqdn>":  # left as in a template: the probe says it is not set
        return "<fqdn>"
    match = FQDN_RE.match(value)
    port = int(match.group(1)) if match and match.group(1) else None
    if match and len(value.split(":")[0]) <= 253 and (port is None or 0 < port <= 65535):
        return value
    if "@" in value:
        # Never echo it: whatever sits before the @ may be a credential.
        m.src.problem(
            m.line_of("fqdn"),
            "management: 'fqdn' must not carry user@ or user:password@; give the host name only, e.g. tsb.example.com (credentials live in the keyring: `tsbrunbook secret set tsb-api-user`)",
        )
    elif "://" in value:
        m.src.problem(
            m.line_of("fqdn"),
            f"management: 'fqdn' is '{value[:60]}', a URL; give the host name only, without the scheme, e.g. tsb.example.com (or set management.status_url for a full URL)",
        )
    elif port is not None:
        m.src.problem(
            m.line_of("fqdn"),
            f"management: 'fqdn' has port {port}, which is out of range; give a port between 1 and 65535, e.g. tsb.example.com:8443",
        )
    else:
        m.src.problem(
            m.line_of("fqdn"),
            f"management: 'fqdn' is '{value[:60]}', not a host name; give a host name with an optional :port and no path or spaces, e.g. tsb.example.com or tsb.example.com:8443",
        )
    return "<fqdn>"


def _port(m: Obj, key: str, default: int) -> int:
    """A TCP port under `management` (1–65535); `default` when absent or wrong."""
    value = m.get(key, int, default)
    if not 0 < value <= 65535:
        m.src.problem(
            m.line_of(key),
            f"management: '{key}' is {value}, out of range; give a port between 1 and 65535, e.g. {default}",
        )
        return default
    return value


def _organization(m: Obj) -> str:
    """`management.organization`, checked; `<org>` (the probe's "not set") when absent or wrong."""
    value = m.text("organization", required=False)
    if not value or value == "<org>":
        return "<org>"
    if ORG_RE.match(value) and value not in (".", ".."):
        return value
    m.src.problem(
        m.line_of("organization"),
        f"management: 'organization' is '{value[:60]}', not a plain TSB organization name; use letters, digits, '.', '_' and '-' only, e.g. my-org",
    )
    return "<org>"


def _status_url(m: Obj) -> str | None:
    """`management.status_url`: replaces the probe's computed URL (a proxy, a test server)."""
    from urllib.parse import urlsplit

    url = m.get("status_url", str)
    if not url or invisible_character(url) is not None:
        return None  # a control character was reported with every other estate value
    if any(ch.isspace() for ch in url):
        m.src.problem(
            m.line_of("status_url"),
            "management: 'status_url' contains a space; give one http:// or https:// URL (encode a space in the path as %20)",
        )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        m.src.problem(
            m.line_of("status_url"),
            f"management: 'status_url' is '{url[:60]}', it must be an http:// or https:// URL",
        )
        return None
    if parts.username is not None or parts.password is not None:
        # Never echo it: whatever sits before the @ is a credential.
        m.src.problem(
            m.line_of("status_url"),
            "management: 'status_url' must not carry user:password@; credentials live in the keyring (`tsbrunbook secret set tsb-api-user`)",
        )
        return None
    return url
