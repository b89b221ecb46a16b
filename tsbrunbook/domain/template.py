"""`{{placeholder}}` substitution in runbook text and commands.

Double braces, because commands contain JSON (`-p '{"spec":{"suspend":true}}'`) and shell
`$VARS` that must pass through untouched.

Two kinds of filling:
- `fill()` for display text (titles, details, verify): the value as it is;
- `commands()` for commands someone will paste into a shell with production credentials: every
  value is shell-quoted for the place it lands in (an estate `context: "x; rm -rf ~ #"` must stay
  one argument), and a command that uses per-cluster placeholders in an estate-wide checklist
  becomes one line per workload cluster.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from .model import Estate, Step

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
CLUSTER_PLACEHOLDERS = ("cluster", "cluster_context", "sole_services")
ESTATE_PLACEHOLDERS = (
    "mgmt_context",
    "mgmt_namespace",
    "fqdn",
    "org",
    "front_envoy_port",
    "tsb_version",
    "helm_chart_version",
)
PLACEHOLDERS = CLUSTER_PLACEHOLDERS + ESTATE_PLACEHOLDERS


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER_RE.findall(text)


def uses_cluster(text: str) -> bool:
    """Does this text use a per-cluster placeholder?"""
    return any(name in CLUSTER_PLACEHOLDERS for name in placeholders(text))


def sole_services(estate: Estate, cluster: str) -> str:
    """The estate's services that run only on `cluster`, comma-separated, or `none`."""
    names = [s.name for s in estate.services if s.clusters == (cluster,)]
    return ",".join(names) or "none"


def variables(estate: Estate, cluster: str | None) -> dict[str, str]:
    """The values the placeholders stand for in this estate (and cluster, if any)."""
    m = estate.management
    values = {
        "mgmt_context": m.context,
        "mgmt_namespace": m.namespace,
        "fqdn": m.fqdn,
        "org": m.organization,
        "front_envoy_port": str(m.front_envoy_port),
        "tsb_version": estate.tsb_version,
        "helm_chart_version": m.helm_chart_version or estate.tsb_version,
    }
    if cluster:
        values["cluster"] = cluster
        values["cluster_context"] = estate.cluster(cluster).context
        values["sole_services"] = sole_services(estate, cluster)
    return values


def fill(text: str, values: dict[str, str]) -> str:
    """Replace known placeholders in display text; unknown ones stay visible rather than vanish."""
    if "{{" not in text:  # most titles have none: no regex pass
        return text
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# ---------------------------------------------------------------------------------------------
# Commands

# The shell contexts a placeholder can sit in. A tiny scanner, not a shell parser: it follows
# quotes, backslashes, `$(…)` and backticks, which is all a runbook command uses.
_PLAIN, _SINGLE, _DOUBLE, _SUBST, _BACKTICK = "plain", "single", "double", "subst", "backtick"


def _scan(command: str) -> Iterable[tuple[str, int, re.Match[str] | None]]:
    """Yield (context, index, placeholder match or None) for each character or placeholder."""
    stack = [_PLAIN]
    i = 0
    while i < len(command):
        state = stack[-1]
        # Most characters are not a `{`: skip the regex for them (validate scans every command).
        match = PLACEHOLDER_RE.match(command, i) if command[i] == "{" else None
        if match:
            yield state, i, match
            i = match.end()
            continue
        yield state, i, None
        ch = command[i]
        nxt = command[i + 1] if i + 1 < len(command) else ""
        if state == _SINGLE:
            if ch == "'":
                stack.pop()
        elif ch == "\\" and nxt:
            yield state, i + 1, None  # the escaped character is literal, whatever it is
            i += 1
        elif state == _DOUBLE:
            if ch == '"':
                stack.pop()
            elif ch == "$" and nxt == "(":
                stack.append(_SUBST)
                yield state, i + 1, None
                i += 1
            elif ch == "`":
                stack.append(_BACKTICK)
        else:  # plain, inside $( … ) or inside backticks: quotes open, closers close
            if ch == "'":
                stack.append(_SINGLE)
            elif ch == '"':
                stack.append(_DOUBLE)
            elif ch == "`" and state == _BACKTICK:
                stack.pop()
            elif ch == "`":
                stack.append(_BACKTICK)
            elif ch == "$" and nxt == "(":
                stack.append(_SUBST)
                yield state, i + 1, None
                i += 1
            elif ch == ")" and state == _SUBST:
                stack.pop()
        i += 1


def _quoted(value: str, context: str) -> str:
    """`value` written so that the shell reads it back literally at a place of this context."""
    if context == _DOUBLE:
        if "!" in value:
            # Interactive bash expands `!word` even inside double quotes: leave them for this value.
            return '"' + shlex.quote(value) + '"'
        return re.sub(r'([\\$`"])', r"\\\1", value)
    if context == _SINGLE:
        # Refused by validate; if it happens anyway, close the quotes around the value.
        return "'" + shlex.quote(value) + "'"
    return shlex.quote(value)


def fill_command(command: str, values: dict[str, str]) -> str:
    """Replace known placeholders in one command, each value shell-quoted for its context."""
    if "{{" not in command:
        return command
    out: list[str] = []
    for context, i, match in _scan(command):
        if match is None:
            out.append(command[i])
        elif match.group(1) in values:
            out.append(_quoted(values[match.group(1)], context))
        else:
            out.append(match.group(0))
    return "".join(out)


def single_quoted_placeholders(command: str) -> list[str]:
    """The placeholders that sit inside single quotes (validate refuses them: no value can be
    quoted there)."""
    if "'" not in command or "{{" not in command:
        return []  # the common case, without scanning character by character
    return [m.group(1) for context, _, m in _scan(command) if m is not None and context == _SINGLE]


def commands(
    step_or_commands: Step | Iterable[str], estate: Estate, cluster: str | None
) -> list[str]:
    """A step's commands as shown and copied, for this estate and (optional) cluster.

    In an estate-wide checklist (`cluster` None), a command that uses per-cluster placeholders
    is rendered once per workload cluster, in estate order, each with that cluster's values."""
    raw = (
        step_or_commands.commands if isinstance(step_or_commands, Step) else tuple(step_or_commands)
    )
    values = variables(estate, cluster)
    out: list[str] = []
    for command in raw:
        if cluster is None and uses_cluster(command):
            out += [fill_command(command, variables(estate, name)) for name in estate.cluster_names]
        else:
            out.append(fill_command(command, values))
    return out
