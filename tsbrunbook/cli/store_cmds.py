"""`tsbrunbook store status|copy`: which incident store is in use, and moving incidents between
stores (the local SQLite file and a PostgreSQL database for team mode)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from ..domain.errors import UserError
from .text import out

if TYPE_CHECKING:
    from ..workspace import Workspace

NO_PASSWORD_ON_ARGV = (
    "put the password in ~/.pgpass or PGPASSWORD, or store it with "
    "`tsbrunbook secret set database-password`"
)


def add_parsers(sub: argparse._SubParsersAction, estate_arg) -> None:
    p = sub.add_parser(
        "store",
        help="the incident store: status, copy between SQLite and PostgreSQL",
        description="The incident store: the local SQLite file, or a PostgreSQL database "
        "(team mode) when TSBRUNBOOK_DATABASE_URL or --database-url gives one.",
    )
    ssub = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    a = ssub.add_parser(
        "status",
        help="which store is in use, its schema version and whether it is reachable",
        description="Which store is in use, where (without any password), its schema version "
        "and whether it is reachable: exit 0 when it is, 2 with one line when not.",
    )
    a.set_defaults(func=cmd_status)  # the store of --database-url (every command takes it)
    a = ssub.add_parser(
        "copy",
        help="copy incidents verbatim between stores (SQLite path or PostgreSQL URL)",
        description="Copy every incident with its events (same ids, seqs, times, data and "
        "actors) from SOURCE to TARGET, each an SQLite file or a postgresql:// URL. Running it "
        "again copies nothing new; an incident that differs in the target stops the copy.",
    )
    a.add_argument("source", metavar="SOURCE", help="SQLite file or postgresql:// URL")
    a.add_argument("target", metavar="TARGET", help="SQLite file or postgresql:// URL")
    a.set_defaults(func=cmd_copy)


def refuse_password(url: str | None, what: str) -> None:
    """Refuse a PostgreSQL URL holding a password on the command line, without showing it."""
    from ..store import pgurl

    if url and pgurl.is_postgres_url(url) and pgurl.has_password(url):
        raise UserError(
            f"{what} holds a password; it is not used from the command line "
            "(shell history, `ps`), and not shown",
            NO_PASSWORD_ON_ARGV,
        )


def _open(spec: str, must_exist: bool):  # noqa: ANN202 — an IncidentStore with import_events
    from ..integrations.secrets import database_password
    from ..store import pgurl

    if pgurl.is_postgres_url(spec):
        from ..store.select import open_postgres

        return open_postgres(spec, password_lookup=database_password)
    from ..store.sqlite import Store

    hint = "give an SQLite file (incidents.sqlite3) or a postgresql:// URL"
    if must_exist and not os.path.exists(spec):
        raise UserError(f"{spec}: no such incident store", hint)
    if os.path.exists(spec) and not (os.path.isfile(spec) or os.path.isdir(spec)):
        # A device or a FIFO: reading one could block or never end.
        raise UserError(f"{spec}: not a regular file, so not an incident store", hint)
    return Store(spec)


def cmd_status(args: argparse.Namespace, workspace: Workspace) -> int:
    store = workspace.store  # --database-url, else $TSBRUNBOOK_DATABASE_URL, else SQLite
    version = store.schema_version
    kind = "PostgreSQL (team mode)" if type(store).__name__ == "PostgresStore" else "SQLite"
    out(f"store: {kind}")
    out(f"location: {store.location}")
    out(f"schema version: {version}")
    out("reachable: yes")
    return 0


def cmd_copy(args: argparse.Namespace, workspace: Workspace) -> int:
    from ..store.copy import copy_incidents

    refuse_password(args.source, "SOURCE")
    refuse_password(args.target, "TARGET")
    source = _open(args.source, must_exist=True)
    try:
        target = _open(args.target, must_exist=False)
        try:
            done = copy_incidents(source, target)
        finally:
            target.close()
    finally:
        source.close()
    for item in done:
        what = f"copied {item.copied}" if item.copied else "already there"
        out(f"{item.id}: {item.events} events ({what})")
    copied = [d for d in done if d.copied]
    out(
        f"copied {sum(d.copied for d in copied)} events of {len(copied)} incidents; "
        f"{len(done) - len(copied)} incidents already there; "
        f"verified: the target holds all {sum(d.events for d in done)} events "
        f"of the {len(done)} incidents"
    )
    return 0
