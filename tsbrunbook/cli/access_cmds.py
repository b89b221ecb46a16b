"""`tsbrunbook access create|list|revoke`: who may open the war-room view (`tsbrunbook serve`).

A token is printed once, alone on stdout (so `TOKEN=$(tsbrunbook access create alice)` works);
the store keeps only its SHA-256, with the person's name and role."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .text import json_text, one_line, out, table

if TYPE_CHECKING:
    from ..workspace import Workspace


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    p = sub.add_parser(
        "access",
        help="who may open the war-room view in a browser (tsbrunbook serve)",
        description="Tokens for the war-room view: each person gets their own, so the timeline "
        "shows who did what; a read-only token watches without changing anything.",
    )
    asub = p.add_subparsers(dest="access_command", metavar="ACTION", required=True)
    a = asub.add_parser(
        "create",
        help="a new token for NAME, printed once (only its SHA-256 is stored)",
        description="Print a new token for NAME, alone on stdout. The person logs in with "
        "http(s)://HOST/login?token=TOKEN; their actions are recorded as NAME.",
    )
    a.add_argument("name", metavar="NAME", help="the person's name or handle (their author name)")
    a.add_argument(
        "--read-only",
        dest="viewer",
        action="store_true",
        help="watch only: every change, the probe and chat updates are refused",
    )
    a.set_defaults(func=cmd_create)
    a = asub.add_parser("list", help="who has access, and their role (never the tokens)")
    a.add_argument("--format", choices=["table", "json"], default="table")
    a.set_defaults(func=cmd_list)
    a = asub.add_parser(
        "revoke",
        help="revoke NAME's token; their open browser sessions end within seconds",
    )
    a.add_argument("name", metavar="NAME")
    a.set_defaults(func=cmd_revoke)


def cmd_create(args: argparse.Namespace, workspace: Workspace) -> int:
    out(workspace.grant_access(args.name, read_only=args.viewer))
    return 0


def cmd_list(args: argparse.Namespace, workspace: Workspace) -> int:
    grants = workspace.access_grants()
    if args.format == "json":
        out(
            json_text(
                [{"name": g.name, "role": g.role, "created": g.created.isoformat()} for g in grants]
            )
        )
        return 0
    if not grants:
        out("Nobody has access (tsbrunbook access create NAME).")
        return 0
    rows = [[one_line(g.name, 64), g.role, f"{g.created:%Y-%m-%d %H:%M}"] for g in grants]
    out(table(["NAME", "ROLE", "CREATED (UTC)"], rows))
    return 0


def cmd_revoke(args: argparse.Namespace, workspace: Workspace) -> int:
    workspace.revoke_access(args.name)
    out(f"revoked: {one_line(args.name, 64)} (their open sessions end within seconds)")
    return 0
