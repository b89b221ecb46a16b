"""Where tsbrunbook keeps its data: `TSBRUNBOOK_HOME`, else the platform's user data directory."""

from __future__ import annotations

import os

DB_NAME = "incidents.sqlite3"


def data_dir() -> str:
    """The data directory (not created here). Tests and portable setups set `TSBRUNBOOK_HOME`."""
    override = os.environ.get("TSBRUNBOOK_HOME")
    if override:
        return os.path.abspath(os.path.expanduser(override))
    import platformdirs  # only when needed: the import is not free and most commands never store

    return platformdirs.user_data_dir("tsbrunbook", appauthor=False)


def default_db_path() -> str:
    return os.path.join(data_dir(), DB_NAME)
