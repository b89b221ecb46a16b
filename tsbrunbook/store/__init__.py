"""Persistence of incidents: an append-only, crash-safe event store (SQLite by default)."""

from .paths import data_dir, default_db_path
from .sqlite import SCHEMA_VERSION, DamagedEvent, IncidentSummary, Store

__all__ = [
    "SCHEMA_VERSION",
    "DamagedEvent",
    "IncidentSummary",
    "Store",
    "data_dir",
    "default_db_path",
]
