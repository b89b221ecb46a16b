"""The store implementations the contract suite runs against: one `Backend` entry each."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tsbrunbook.domain.clock import Clock
from tsbrunbook.store import IncidentStore, Store


@dataclass(frozen=True)
class Backend:
    open: Callable[..., IncidentStore]  # (where: str, clock: Clock | None = None); picklable
    damage: Callable[[str, str, int], None]  # (location, incident, seq)


def open_sqlite(where: str, clock: Clock | None = None) -> IncidentStore:
    return Store(os.path.join(where, "incidents.sqlite3"), clock=clock)


def damage_sqlite(location: str, incident: str, seq: int) -> None:
    """Valid JSON of the wrong shape (a `down` whose components are not a list)."""
    conn = sqlite3.connect(location)
    with conn:
        changed = conn.execute(
            "UPDATE events SET data = ? WHERE incident = ? AND seq = ?",
            ('{"components": "postgres"}', incident, seq),
        ).rowcount
    conn.close()
    assert changed == 1


BACKENDS = [
    pytest.param(Backend(open_sqlite, damage_sqlite), id="sqlite"),
]
