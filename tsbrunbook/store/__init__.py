"""Persistence of incidents: an append-only, crash-safe event store (SQLite by default)."""

from .paths import data_dir, default_db_path
from .protocol import (
    Change,
    DamagedEvent,
    IncidentStore,
    IncidentSummary,
    Presence,
    StoreUnreachable,
)
from .sqlite import SCHEMA_VERSION, Store

__all__ = [
    "SCHEMA_VERSION",
    "Change",
    "DamagedEvent",
    "IncidentStore",
    "IncidentSummary",
    "Presence",
    "Store",
    "StoreUnreachable",
    "data_dir",
    "default_db_path",
]
