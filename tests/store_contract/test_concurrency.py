"""Several writers at once, in threads and in processes: no gaps, no duplicates, nothing lost,
and exactly one of several writers deciding on the same view (`expect_last`) wins."""

from __future__ import annotations

import multiprocessing
import queue
import threading

import pytest

from . import workers

WRITERS = 4
EACH = 25


def check_interleaving(store, incident: str, acked: dict[str, list[int]]) -> None:
    events = store.events(incident)
    assert [e.seq for e in events] == list(range(1, WRITERS * EACH + 2)), "a gap or a duplicate"
    by_seq = {e.seq: e for e in events}
    for name, seqs in acked.items():
        assert len(seqs) == EACH
        assert [by_seq[s].data for s in seqs] == [
            {"text": f"{name} {n}", "writer": name, "n": n} for n in range(EACH)
        ]


def run_threads(target, count: int, args_of) -> list[tuple]:
    barrier = threading.Barrier(count)
    results: queue.Queue = queue.Queue()
    threads = [
        threading.Thread(target=target, args=(*args_of(i), barrier, results)) for i in range(count)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [results.get_nowait() for _ in threads]


def run_processes(target, count: int, args_of) -> list[tuple]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(count)
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_of(i), barrier, results)) for i in range(count)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return outcomes


RUNNERS = {"threads": run_threads, "processes": run_processes}


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_concurrent_appends_leave_no_gap_and_no_duplicate(store_factory, runner):
    store = store_factory()
    incident = store.create("many writers", meta={})
    outcomes = RUNNERS[runner](
        workers.append_many,
        WRITERS,
        lambda i: (store_factory.opener, incident, f"w{i}", EACH),
    )
    errors = [text for kind, _, text in outcomes if kind != "ok"]
    assert not errors, errors
    check_interleaving(store, incident, {name: acked for _, name, acked in outcomes})


def test_threads_sharing_one_store_object_leave_no_gap(store_factory):
    store = store_factory()
    incident = store.create("one connection, many threads", meta={})
    outcomes = run_threads(
        workers.append_many, WRITERS, lambda i: (lambda: _Unclosed(store), incident, f"w{i}", EACH)
    )
    errors = [text for kind, _, text in outcomes if kind != "ok"]
    assert not errors, errors
    check_interleaving(store, incident, {name: acked for _, name, acked in outcomes})


class _Unclosed:
    """The shared store, handed to workers that must not close it for the others."""

    def __init__(self, store) -> None:
        self._store = store

    def append(self, *args, **kwargs):
        return self._store.append(*args, **kwargs)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_of_writers_deciding_on_the_same_view_exactly_one_appends(store_factory, runner):
    store = store_factory()
    incident = store.create("four hooks", meta={})
    outcomes = RUNNERS[runner](
        workers.append_once_expecting,
        WRITERS,
        lambda i: (store_factory.opener, incident, f"w{i}", 1),
    )
    kinds = sorted(kind for kind, _, _ in outcomes)
    assert kinds == ["conflict"] * (WRITERS - 1) + ["ok"], outcomes
    assert [e.seq for e in store.events(incident)] == [1, 2]


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_concurrent_creates_get_unique_ids(store_factory, runner):
    outcomes = RUNNERS[runner](
        workers.create_many, WRITERS, lambda i: (store_factory.opener, f"c{i}", 5)
    )
    errors = [text for kind, _, text in outcomes if kind != "ok"]
    assert not errors, errors
    ids = [i for _, _, made in outcomes for i in made]
    assert len(ids) == len(set(ids)) == WRITERS * 5
    assert sorted(int(i.rsplit("-", 1)[1]) for i in ids) == list(range(1, WRITERS * 5 + 1))
    assert sorted(store_factory().ids()) == sorted(ids)
