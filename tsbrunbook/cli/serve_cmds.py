"""`tsbrunbook serve`: the war-room view, the TUI in a browser. Parses the options; the
workspace checks them (one line and exit status 2 for a bad one, before anything listens); the
server itself is tsbrunbook/serve/, started by the entry point (the command line never imports
it)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..workspace import DEFAULT_MAX_SESSIONS, DEFAULT_WARM, WarRoomOptions, war_room_options

if TYPE_CHECKING:
    from ..workspace import Workspace


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    p = sub.add_parser(
        "serve",
        help="the war-room view: the app in a browser, one session per person (tokens: access)",
        description="Serve the app to browsers: each person logs in with their own token "
        "(`tsbrunbook access create NAME`) and gets the TUI, recorded under their name. "
        "Listens on loopback unless told otherwise; anything else needs TLS.",
    )
    estate_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers use (behind a reverse proxy: its https:// URL); default "
        "http(s)://HOST:PORT",
    )
    p.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"browser sessions at once, each an app process (default {DEFAULT_MAX_SESSIONS})",
    )
    p.add_argument(
        "--warm",
        type=int,
        default=DEFAULT_WARM,
        metavar="N",
        help=f"app processes started ahead of the visitors, so a session starts at once "
        f"(default {DEFAULT_WARM}; 0: each session starts its own)",
    )
    p.add_argument("--certfile", metavar="FILE", help="TLS certificate (PEM), with --keyfile")
    p.add_argument("--keyfile", metavar="FILE", help="TLS private key (PEM), with --certfile")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace, workspace: Workspace) -> WarRoomOptions:
    return war_room_options(
        workspace,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        max_sessions=args.max_sessions,
        certfile=args.certfile,
        keyfile=args.keyfile,
        estate=args.estate,
        warm=args.warm,
    )
