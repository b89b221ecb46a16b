"""The contract every incident store keeps (`tsbrunbook.store.protocol.IncidentStore`).

Each test here runs once per backend: the `store_factory` fixture (conftest.py) is parametrised
over `backends.BACKENDS`. **Adding a backend is one entry in that list**: a `Backend` with

- `open(where, clock=None)`: a module-level function (it must pickle, so that other processes can
  open the same store) returning an `IncidentStore`. `where` is a directory unique to the test:
  the first open on it gives an empty store, every later open (another thread, another process)
  the same store. A backend that keeps nothing on disk derives its database or schema name from it;
- `damage(location, incident, seq)`: make one stored event undecodable, as a broken disk, an old
  bug or a hand edit would, so the suite can check that only that incident becomes unreadable;
- and, through `pytest.param(..., marks=…)`, a skip when its server cannot be started here.

Backend-specific behaviour (the SQLite file checks, WAL, migrations, SIGKILL mid-write) stays in
the backend's own test files (tests/test_store.py, tests/test_store_crash.py).
"""
