"""Working with Tetrate support: `incident brief`, `incident chat` and `probe`.

`brief` and `chat` join the `incident` command defined in incident_cmds (they are added to its
sub-commands here, so the two modules can change independently).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..domain.errors import UserError
from ..domain.text import one_line
from .text import out

if TYPE_CHECKING:
    from ..workspace import Workspace

EXIT_HEALTHY, EXIT_UNHEALTHY = 0, 1  # bad input is a UserError: exit 2


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    from .incident_cmds import add_output_args

    isub = _subcommands(sub.choices["incident"])
    a = isub.add_parser(
        "brief",
        help="a Markdown brief to paste into a Tetrate support case (stdout or -o FILE)",
        description="Write the support case brief: estate, what is down since when, impact, scenarios, steps worked, "
        "escalations, readiness facts, timeline and the support contact.",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    add_output_args(a)
    a.set_defaults(func=cmd_brief)

    a = isub.add_parser(
        "chat",
        help="switch chat updates (webhook) on or off for an incident",
        description="Opt in (or out) of posting this incident's status changes to the chat webhook "
        "(`tsbrunbook secret set webhook-url`). The TUI posts them while it is open on the incident.",
    )
    a.add_argument("id", metavar="ID", help="incident id")
    a.add_argument("switch", choices=("on", "off"), metavar="on|off")
    a.set_defaults(func=cmd_chat)

    p = sub.add_parser(
        "probe",
        help="call the management plane's status endpoint and suggest marking it down or up",
        description="GET /v2/organizations/ORG/status on the estate's FQDN (or management.status_url) with basic auth "
        "from the keyring, within one deadline (--timeout) for the whole call. Credentials are never sent over plain "
        "http:// unless --allow-insecure-http is given. Exit 0 healthy, 1 unhealthy or unreachable, 2 bad input or "
        "missing credentials. It only suggests; it never changes an incident.",
    )
    estate_arg(p)
    p.add_argument(
        "--incident",
        metavar="ID",
        help="use this incident's estate, and suggest against what it has marked down",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds for the whole call: connect, TLS, headers and body (default 5)",
    )
    p.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="send the credentials even when the status URL is plain http:// (refused otherwise; a warning is printed)",
    )
    p.set_defaults(func=cmd_probe)


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def cmd_brief(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..output import check_output, write_atomically
    from .incident_cmds import open_incident

    if args.output:
        check_output(args.output, force=args.force, example_name=args.id.upper() + "-brief.md")
    sess = open_incident(workspace, args.id)
    text = workspace.support_brief(sess)
    if not args.output:
        out(text.rstrip())
        return 0
    write_atomically(args.output, text, force=args.force)
    out(f"{sess.id}: support brief written to {one_line(args.output)}")
    return 0


def cmd_chat(args: argparse.Namespace, workspace: Workspace) -> int:
    from .incident_cmds import open_incident

    enabled = args.switch == "on"
    sess = open_incident(workspace, args.id)
    event = workspace.set_chat(sess, enabled)
    if event is None:
        out(f"{sess.id}: chat updates already {args.switch} (nothing recorded)")
    else:
        out(f"{sess.id}: chat updates {args.switch} (event {event.seq}, {event.at:%H:%M:%S} UTC)")
    if enabled:
        _warn_if_no_webhook()
    return 0


def _warn_if_no_webhook() -> None:
    from ..integrations.secrets import WEBHOOK_URL, get_secret

    try:
        missing = not get_secret(WEBHOOK_URL)
    except UserError as exc:
        sys.stderr.write(f"tsbrunbook: note: updates cannot be posted: {one_line(str(exc))}\n")
        return
    if missing:
        sys.stderr.write(
            f"tsbrunbook: note: no webhook URL is set yet (run `tsbrunbook secret set {WEBHOOK_URL}`)\n"
        )
    else:
        sys.stderr.write(
            "tsbrunbook: note: the TUI posts the status changes while it is open on this incident\n"
        )


def cmd_probe(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..integrations.probe import HEALTHY, UNHEALTHY, probe

    if args.incident and args.estate:
        raise UserError(
            "--incident and --estate do not go together",
            "an incident keeps the estate it was started with",
        )
    if not 0 < args.timeout <= 120:
        raise UserError(
            f"--timeout {args.timeout:g} is out of range",
            "give seconds between 0 and 120, e.g. --timeout 5",
        )
    which = "ID"
    if args.incident:
        from .incident_cmds import open_incident

        sess = open_incident(workspace, args.incident)
        engine, down, which = sess.engine, list(sess.state.down), sess.id
    else:
        engine, down = workspace.engine(args.estate), []
    result = probe(
        engine.estate,
        timeout=args.timeout,
        engine=engine,
        down=down,
        allow_insecure_http=args.allow_insecure_http or None,
    )
    # Everything printed goes through one_line: the URL comes from an estate, the message may
    # carry what the server sent; neither may drive the terminal.
    url = one_line(result.url, 300)
    if result.verdict not in (HEALTHY, UNHEALTHY):
        # Bad input is one line: the plain-http warning rides along in it.
        plain = " (over plain http://)" if result.warning else ""
        raise UserError(f"probe of {url}{plain} was inconclusive: {one_line(result.message, 300)}")
    if result.warning:
        sys.stderr.write(f"tsbrunbook: warning: {one_line(result.warning)}\n")
    out(f"Probe: GET {url}")
    out(
        f"Result: {result.verdict} — {one_line(result.message, 200)} ({result.latency * 1000:.0f} ms)"
    )
    s = result.suggestion
    out(
        "Suggestion: "
        + one_line(s.text)
        + (
            ""
            if not s.action
            else f" (`tsbrunbook incident {s.action} {which} {' '.join(s.components)}`)"
        )
    )
    return EXIT_HEALTHY if result.verdict == HEALTHY else EXIT_UNHEALTHY
