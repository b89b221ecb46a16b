"""Persistence of incidents: an append-only, crash-safe event store (SQLite by default)."""

from .paths import data_dir, default_db_path
from .protocol import DamagedEvent, IncidentStore, IncidentSummary
from .sqlite import SCHEMA_VERSION, Store

__all__ = [
    "SCHEMA_VERSION",
    "DamagedEvent",
    "IncidentStore",
    "IncidentSummary",
    "Store",
    "data_dir",
    "default_db_path",
]
