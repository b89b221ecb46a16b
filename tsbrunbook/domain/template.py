"""`{{placeholder}}` substitution in runbook text and commands.

Double braces, because commands contain JSON (`-p '{"spec":{"suspend":true}}'`) and shell
`$VARS` that must pass through untouched.
"""

from __future__ import annotations

import re

from .model import Estate

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
CLUSTER_PLACEHOLDERS = ("cluster", "cluster_context")
ESTATE_PLACEHOLDERS = ("mgmt_context", "mgmt_namespace", "fqdn", "org")
PLACEHOLDERS = CLUSTER_PLACEHOLDERS + ESTATE_PLACEHOLDERS


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER_RE.findall(text)


def variables(estate: Estate, cluster: str | None) -> dict[str, str]:
    """The values the placeholders stand for in this estate (and cluster, if any)."""
    values = {
        "mgmt_context": estate.management.context,
        "mgmt_namespace": estate.management.namespace,
        "fqdn": estate.management.fqdn,
        "org": estate.management.organization,
    }
    if cluster:
        values["cluster"] = cluster
        values["cluster_context"] = estate.cluster(cluster).context
    return values


def fill(text: str, values: dict[str, str]) -> str:
    """Replace known placeholders; unknown ones stay visible rather than vanish."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
