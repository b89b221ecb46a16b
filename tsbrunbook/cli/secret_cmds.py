"""`tsbrunbook secret set|list|delete`: the product's secrets in the OS keyring.

A value is read from a hidden prompt (a terminal) or from stdin (a pipe), never from the
command line, where it would land in the shell history and in `ps` for every user to read.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..domain.errors import UserError
from .text import out, table

if TYPE_CHECKING:
    from ..workspace import Workspace

MAX_VALUE = 64 * 1024


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    from ..integrations.secrets import KNOWN_SECRETS

    names = ", ".join(KNOWN_SECRETS)
    p = sub.add_parser(
        "secret",
        help="store, list or delete secrets in the OS keyring (webhook URL, TSB API credentials)",
        description=f"Secrets live in the OS keyring under the service name 'tsbrunbook' and nowhere else. Known names: {names}.",
    )
    ssub = p.add_subparsers(
        dest="secret_command", metavar="ACTION", required=True, parser_class=_keep_extras(type(p))
    )

    a = ssub.add_parser(
        "set",
        help="store a secret (hidden prompt, or stdin when piped)",
        description="Store a secret. The value comes from a hidden prompt, or from stdin when it is not a terminal "
        "(e.g. `pass show tsb | tsbrunbook secret set tsb-api-password`); never from the command line.",
    )
    a.add_argument("name", metavar="NAME", help=names)
    # Anything else on the line may be a value typed there: kept (see _keep_extras) so that it
    # is refused without being echoed — argparse would repeat it in its error message.
    a.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a.set_defaults(func=cmd_set)

    a = ssub.add_parser(
        "list",
        help="the known secrets and whether each is set (never the values)",
        description="List the known secrets and whether each is set. Values are never shown.",
    )
    a.add_argument("--format", choices=("table", "json"), default="table")
    a.set_defaults(func=cmd_list)

    a = ssub.add_parser(
        "delete",
        help="delete a secret from the keyring",
        description="Delete a secret from the keyring.",
    )
    a.add_argument("name", metavar="NAME", help=names)
    a.set_defaults(func=cmd_delete)


def _keep_extras(base: type[argparse.ArgumentParser]) -> type[argparse.ArgumentParser]:
    """A parser class whose unknown arguments land in `rest` instead of an error that prints them."""

    # A base chosen at run time (the CLI's own parser class) is beyond what mypy can check.
    class KeepExtras(base):  # type: ignore[misc, valid-type]
        def parse_known_args(
            self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
        ) -> tuple[argparse.Namespace, list[str]]:
            ns, extras = super().parse_known_args(args, namespace)
            if extras:
                ns.rest = list(getattr(ns, "rest", None) or []) + list(extras)
            return ns, []

    return KeepExtras


def read_value(name: str) -> str:
    """The value from a hidden prompt (terminal) or stdin (pipe), without its line ending."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise UserError(
            "no stdin to read the value from",
            f"run `tsbrunbook secret set {name}` in a terminal, or pipe the value in",
        )
    if stdin.isatty():
        value = getpass.getpass(f"Value for {name} (input hidden): ")
    else:
        value = stdin.read(MAX_VALUE + 1)
        if len(value) > MAX_VALUE:
            raise UserError(
                f"the value for {name} is longer than {MAX_VALUE} characters", "nothing was stored"
            )
        value = value.removesuffix("\n")
        value = value.removesuffix("\r")
    return value


def cmd_set(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..integrations import secrets

    if args.rest:
        raise UserError(
            "secret values are never taken from the command line (shell history, `ps`); nothing was stored",
            f"run `tsbrunbook secret set {args.name if args.name in secrets.KNOWN_SECRETS else 'NAME'}` and type it at the prompt, or pipe it on stdin",
        )
    name = secrets.check_name(args.name)
    secrets.backend()  # no usable keyring: say so before asking for the value
    value = read_value(name)
    if not value.strip():
        raise UserError(f"the value for {name} is empty", "nothing was stored")
    secrets.set_secret(name, value)
    out(f"{name}: stored in the keyring ({secrets.backend_label()})")
    return 0


def _no_extras(args: argparse.Namespace) -> None:
    if getattr(args, "rest", None):
        raise UserError(
            f"unexpected arguments after `secret {args.secret_command}` (not shown)",
            "see `tsbrunbook secret --help`",
        )


def cmd_list(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..integrations import secrets

    _no_extras(args)
    items = secrets.secret_status()
    if args.format == "json":
        out(
            json.dumps(
                {
                    "backend": secrets.backend_label(),
                    "secrets": [
                        {"name": s.name, "set": s.is_set, "used_for": s.description} for s in items
                    ],
                },
                indent=2,
            )
        )
        return 0
    out(f"Keyring backend: {secrets.backend_label()} (service '{secrets.SERVICE}')")
    out(
        table(
            ["NAME", "SET", "USED FOR"],
            [[s.name, "yes" if s.is_set else "no", s.description] for s in items],
        )
    )
    return 0


def cmd_delete(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..integrations import secrets

    _no_extras(args)
    name = secrets.check_name(args.name)
    if secrets.delete_secret(name):
        out(f"{name}: deleted from the keyring")
    else:
        out(f"{name}: was not set (nothing deleted)")
    return 0
