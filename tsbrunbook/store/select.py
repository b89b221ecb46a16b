"""Which incident store to use: a PostgreSQL URL (team mode), else the local SQLite file.

psycopg is imported only when a PostgreSQL URL is given: the SQLite path (every command on a
laptop) does not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..domain.errors import UserError
from . import pgurl
from .protocol import IncidentStore

DATABASE_URL_ENV = "TSBRUNBOOK_DATABASE_URL"


def configured_url(database_url: str | None = None) -> str | None:
    """The URL given, else $TSBRUNBOOK_DATABASE_URL, else None (the SQLite store)."""
    return database_url or os.environ.get(DATABASE_URL_ENV) or None


def open_store(
    database_url: str | None = None,
    *,
    password_lookup: Callable[[], str | None] | None = None,
) -> IncidentStore:
    """The store to use: `database_url`, else $TSBRUNBOOK_DATABASE_URL, else the SQLite default.

    `password_lookup` returns the keyring's database password (or None); the PostgreSQL store
    asks it only when libpq's usual places (URL, PGPASSWORD, ~/.pgpass) give none that works.
    """
    url = configured_url(database_url)
    if url is None:
        from .sqlite import Store

        return Store()
    return open_postgres(url, password_lookup=password_lookup)


def open_postgres(
    url: str, *, password_lookup: Callable[[], str | None] | None = None
) -> IncidentStore:
    if not pgurl.is_postgres_url(url):
        raise UserError(
            "the database URL does not start with postgresql:// (not shown: it may hold a password)",
            f"set {DATABASE_URL_ENV} (or --database-url) to postgresql://USER@HOST:PORT/DATABASE, "
            "or unset it to use the local SQLite store",
        )
    try:
        from .postgres import PostgresStore
    except ImportError:
        raise UserError(
            "team mode needs psycopg, which is not installed",
            "pip install 'tsbrunbook[postgres]'",
        ) from None
    return PostgresStore(url, password_lookup=password_lookup)
