"""The contract every incident store keeps (`tsbrunbook.store.protocol.IncidentStore`).

Each test here runs once per backend: the `store_factory` fixture (conftest.py) is parametrised
over `backends.BACKENDS`. **Adding a backend is one entry in that list**: a `Backend` with

- `prepare(request, tmp_path)`: an empty place for this test's store, as a string — SQLite gives a
  fresh directory; PostgreSQL creates a database on the session's throwaway server (tests/
  pg_server.py) and returns its URL, dropping it after the test;
- `open(where, clock=None)`: a module-level function (it must pickle, so that other processes can
  open the same store) returning an `IncidentStore` on what `prepare` gave; every open (another
  thread, another process) reaches the same store;
- `damage(location, incident, seq)`: make one stored event undecodable, as a broken disk, an old
  bug or a hand edit would, so the suite can check that only that incident becomes unreadable;
- (a backend whose server cannot be started skips in its `prepare`; in CI it fails instead).

Backend-specific behaviour (the SQLite file checks, WAL, migrations, SIGKILL mid-write) stays in
the backend's own test files (tests/test_store.py, tests/test_store_crash.py,
tests/test_postgres_store.py).
"""
