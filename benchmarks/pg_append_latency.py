"""Append latency of the PostgreSQL store against a throwaway local server: p50/p95 with 1 writer
and with 20 concurrent writers (separate processes, one incident), as issue 14 budgets it
(p95 ≤ 20 ms with 20 writers). A quick measurement for now; `make bench` will take it over.

    .venv/bin/python benchmarks/pg_append_latency.py [--appends N] [--no-fsync]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _writer(url: str, incident: str, count: int, barrier, results) -> None:
    from tsbrunbook.store.postgres import PostgresStore

    store = PostgresStore(url)
    barrier.wait(timeout=120)
    took = []
    for n in range(count):
        start = time.perf_counter()
        store.append(incident, "note", {"text": f"bench {n}"}, actor="bench")
        took.append(time.perf_counter() - start)
    store.close()
    results.put(took)


def measure(url: str, writers: int, count: int, same_incident: bool) -> list[float]:
    from tsbrunbook.store.postgres import PostgresStore

    with PostgresStore(url) as store:
        incidents = [store.create(f"bench {writers} writers", meta={})]
        if not same_incident:
            incidents += [store.create(f"bench writer {n}", meta={}) for n in range(1, writers)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    procs = [
        ctx.Process(
            target=_writer, args=(url, incidents[n % len(incidents)], count, barrier, results)
        )
        for n in range(writers)
    ]
    for p in procs:
        p.start()
    took = [t for _ in procs for t in results.get(timeout=600)]
    for p in procs:
        p.join()
    return took


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=200, help="per writer")
    parser.add_argument("--no-fsync", action="store_true", help="as the test fixture runs it")
    args = parser.parse_args()
    from tests.pg_server import start_server

    server = start_server(
        durability="-c fsync=off -c full_page_writes=off" if args.no_fsync else ""
    )
    try:
        url = server.url(server.new_database())
        print(
            f"PostgreSQL {server.bindir.split('/')[-2]}, fsync {'off' if args.no_fsync else 'on'}"
        )
        for writers, same in ((1, True), (20, True), (20, False)):
            took = measure(url, writers, args.appends, same)
            where = "one incident" if same else "one incident each"
            print(
                f"{writers:>2} writer(s) × {args.appends}, {where}: "
                f"p50 {percentile(took, 50) * 1000:.2f} ms, "
                f"p95 {percentile(took, 95) * 1000:.2f} ms, max {max(took) * 1000:.1f} ms"
            )
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


if __name__ == "__main__":
    main()
