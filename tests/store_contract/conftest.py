"""`store_factory`: opens the store under test, once per backend in `backends.BACKENDS`."""

from __future__ import annotations

from functools import partial

import pytest

from tsbrunbook.domain.clock import Clock
from tsbrunbook.store import IncidentStore

from .backends import BACKENDS, Backend


class StoreFactory:
    """Opens the one store of this test: each call is another connection to the same incidents
    (as another thread or process would have). Every store it opened is closed after the test."""

    def __init__(self, backend: Backend, where: str) -> None:
        self.backend = backend
        self.opener = partial(backend.open, where)  # picklable: for worker processes
        self.opened: list[IncidentStore] = []

    def __call__(self, clock: Clock | None = None) -> IncidentStore:
        store = self.opener(clock=clock)
        self.opened.append(store)
        return store

    def damage(self, store: IncidentStore, incident: str, seq: int) -> None:
        self.backend.damage(store.location, incident, seq)

    def downgrade(self, store: IncidentStore) -> None:
        self.backend.downgrade(store.location)

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=BACKENDS)
def store_factory(request, tmp_path):
    backend: Backend = request.param
    factory = StoreFactory(backend, backend.prepare(request, tmp_path))
    yield factory
    factory.close_all()


@pytest.fixture
def store(store_factory: StoreFactory) -> IncidentStore:
    """A store, empty at the start of the test."""
    return store_factory()
