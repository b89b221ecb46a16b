"""What a worker process does in the concurrency tests (module level: it must pickle)."""

from __future__ import annotations

from collections.abc import Callable

from tsbrunbook.domain.incident import Conflict
from tsbrunbook.store import IncidentStore


def append_many(
    opener: Callable[[], IncidentStore], incident: str, name: str, count: int, barrier, results
) -> None:
    """Open the store, wait for every worker, append `count` notes; report each seq acknowledged."""
    try:
        store = opener()
        try:
            barrier.wait(timeout=60)
            acked = [
                store.append(incident, "note", {"text": f"{name} {n}", "writer": name, "n": n}).seq
                for n in range(count)
            ]
        finally:
            store.close()
        results.put(("ok", name, acked))
    except BaseException as exc:  # noqa: BLE001 — reported to the parent, which fails the test
        results.put(("error", name, f"{type(exc).__name__}: {exc}"))


def append_once_expecting(
    opener: Callable[[], IncidentStore], incident: str, name: str, last: int, barrier, results
) -> None:
    """Open the store, wait for every worker, append once with `expect_last=last`."""
    try:
        store = opener()
        try:
            barrier.wait(timeout=60)
            try:
                seq = store.append(
                    incident, "note", {"text": name, "writer": name}, expect_last=last
                ).seq
                results.put(("ok", name, seq))
            except Conflict:
                results.put(("conflict", name, None))
        finally:
            store.close()
    except BaseException as exc:  # noqa: BLE001
        results.put(("error", name, f"{type(exc).__name__}: {exc}"))


def create_many(
    opener: Callable[[], IncidentStore], name: str, count: int, barrier, results
) -> None:
    """Open the store, wait for every worker, create `count` incidents; report their ids."""
    try:
        store = opener()
        try:
            barrier.wait(timeout=60)
            made = [store.create(f"{name} {n}", meta={}) for n in range(count)]
        finally:
            store.close()
        results.put(("ok", name, made))
    except BaseException as exc:  # noqa: BLE001
        results.put(("error", name, f"{type(exc).__name__}: {exc}"))


def wanted_estate_none(start: dict) -> bool:
    """`resume_or_create`'s test: incidents started on the bundled estate (module level: it
    must pickle)."""
    return start.get("estate_file") is None


def resume_or_create_once(opener: Callable[[], IncidentStore], name: str, barrier, results) -> None:
    """Open the store, wait for every worker, resume or create one incident; report its id."""
    try:
        store = opener()
        try:
            barrier.wait(timeout=60)
            found, created = store.resume_or_create(
                wanted_estate_none, f"tab {name}", meta={"estate_file": None}, actor=name
            )
        finally:
            store.close()
        results.put(("ok", name, (found, created)))
    except BaseException as exc:  # noqa: BLE001
        results.put(("error", name, f"{type(exc).__name__}: {exc}"))
