"""Append latency of the PostgreSQL store against a throwaway local server, as issue 14 budgets it:
p50/p95 with 1 writer and with 20 concurrent writer processes on one incident (budget: p95 ≤ 20 ms
with 20 writers). `benchmarks/run.py` (`make bench`) takes its rows from `measure()`; run alone,
this script also says where an append's time goes:

    .venv/bin/python benchmarks/pg_append_latency.py [--appends N] [--rounds R] [--phases]
                                                     [--wal-on-tmpfs] [--each] [--busy]

The server is the test suite's (tests/pg_server.py: Debian's binaries, a temporary directory, a
loopback port) but durable: fsync, full_page_writes and synchronous_commit at their defaults (on),
so every acknowledged append has reached the disk. `--wal-on-tmpfs` puts the WAL in /dev/shm: a
diagnostic that takes the disk's flush out of the figures (an acknowledged append would NOT survive
a machine crash there); `make bench` never uses it.

Where the time goes with 20 writers (issue 14's notes, measured with this script): every append
to an incident commits on its own, one WAL flush each, one after another: the incident's advisory
lock and NOTIFY's own lock (PostgreSQL serialises the commits of NOTIFYing transactions) are both
held through the flush, so appends cannot share one. The flush itself is short (about 0.15 ms
here with one writer); with 20 writers pg_stat_wal reports 0.4-0.6 ms per flush because the
backend, woken when the disk answers, waits for a CPU that the writers' own Python processes and
backends keep busy, and so does the next waiter woken when the lock passes to it. `--busy` shows
it: one writer with both cores busy (two spinning processes) has flushes several times slower.
So the p95 depends on the CPU each append costs (client and server), more than on the disk.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BUDGET_MS = 20.0  # p95 of one append with BUDGET_WRITERS concurrent writers (issue 14)
BUDGET_WRITERS = 20
WARM_UP = 3  # appends per writer before the clock starts (connection made, statements prepared)


def unavailable() -> str | None:
    """Why this benchmark cannot run here (None: it can)."""
    from tests.pg_server import find_bindir

    if find_bindir() is None:
        return "no PostgreSQL binaries found (Debian: apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'tsbrunbook[postgres]')"
    return None


@contextmanager
def durable_server(wal_on_tmpfs: bool = False) -> Iterator[str]:
    """A throwaway durable server; yields the URL of an empty, migrated database."""
    from tests.pg_server import start_server
    from tsbrunbook.store.postgres import PostgresStore

    # Only what is measured changes: WAL I/O timing on (pg_stat_wal's flush times), durability as
    # shipped. The test fixture's "fsync=off" is exactly what this must not use.
    server = start_server(durability="-c track_wal_io_timing=on")
    shm = None
    try:
        if wal_on_tmpfs:
            server.stop()
            shm = tempfile.mkdtemp(prefix="tsbrunbook-wal-", dir="/dev/shm")
            os.chmod(shm, 0o755)  # the server may run as another user (tests/pg_server.py)
            wal = os.path.join(server.datadir, "pg_wal")
            subprocess.run(["cp", "-a", wal, shm], check=True)  # -a: keeps the server's owner
            shutil.rmtree(wal)
            os.symlink(os.path.join(shm, "pg_wal"), wal)
            server.start()
        with server.admin() as conn:
            conn.execute("CREATE DATABASE bench")
        url = server.url("bench")
        PostgresStore(url).close()  # creates the schema
        yield url
    finally:
        if server.running():
            server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        if shm:
            shutil.rmtree(shm, ignore_errors=True)


@dataclass
class Round:
    """One run of `writers` processes each appending `count` events."""

    writers: int
    count: int
    latencies_ms: list[float]
    wall_s: float  # first append started → last one acknowledged
    wal_flushes: int  # the server's WAL flushes meanwhile (pg_stat_wal.wal_sync)
    wal_flush_ms: float  # their mean duration
    cpu_busy: float  # share of all cores busy (the whole machine: other users' work too)
    load: float  # 1-minute load average when the round started

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s

    def p(self, q: int) -> float:
        return percentile(self.latencies_ms, q)


def percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _writer(url: str, incident: str, count: int, go: Any, results: Any) -> None:
    """One writer process: its own store and connection, `count` timed appends."""
    from tsbrunbook.store.postgres import PostgresStore

    store = PostgresStore(url)
    for n in range(WARM_UP):
        store.append(incident, "note", {"text": f"warm-up {n}"}, actor="bench")
    results.put("ready")
    go.wait()
    took = []
    for n in range(count):
        start = time.perf_counter()
        store.append(incident, "note", {"text": f"bench {n}"}, actor="bench")
        took.append((time.perf_counter() - start) * 1000)
    end = time.perf_counter()
    store.close()
    results.put((took, end))


def _next(results: Any, procs: list[Any]) -> Any:
    """The next message from the writers; a writer that died instead is an error, not a hang."""
    import queue

    while True:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(
                    f"a writer process failed (exit status {dead[0].exitcode})"
                ) from None


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _wal_stats(url: str) -> tuple[int, float]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def _settled_wal_stats(url: str) -> tuple[int, float]:
    """pg_stat_wal once the writers' backends have reported (they do so when they exit)."""
    last = _wal_stats(url)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = _wal_stats(url)
        if now == last:
            return now
        last = now
    return last


def measure(url: str, writers: int, count: int, each_own_incident: bool = False) -> Round:
    """`writers` processes, started together, each appending `count` events to one incident
    (or each to its own)."""
    from tsbrunbook.store.postgres import PostgresStore

    with PostgresStore(url) as store:
        incidents = [store.create(f"bench {writers} writers", meta={}, actor="bench")]
        if each_own_incident:
            incidents += [
                store.create(f"bench writer {n}", meta={}, actor="bench") for n in range(1, writers)
            ]
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(url, incidents[n % len(incidents)], count, go, results))
        for n in range(writers)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:  # every writer connected and warmed up
            _next(results, procs)
        wal_before = _wal_stats(url)
        busy0, total0 = _cpu_ticks()
        start, load = time.perf_counter(), os.getloadavg()[0]
        go.set()
        got = [_next(results, procs) for _ in procs]
        busy1, total1 = _cpu_ticks()
    finally:
        for p in procs:
            if p.is_alive() and not go.is_set():
                p.terminate()
    for p in procs:
        p.join(timeout=60)
    wal_after = _settled_wal_stats(url)
    flushes = wal_after[0] - wal_before[0]
    return Round(
        writers,
        count,
        [t for took, _ in got for t in took],
        max(end for _, end in got) - start,
        flushes,
        (wal_after[1] - wal_before[1]) / flushes if flushes else 0.0,
        (busy1 - busy0) / max(total1 - total0, 1),
        load,
    )


def describe(r: Round) -> str:
    return (
        f"{r.writers:>2} writer(s) × {r.count}: p50 {r.p(50):.2f} ms, p95 {r.p(95):.2f} ms, "
        f"max {max(r.latencies_ms):.1f} ms; {r.throughput:.0f} appends/s; "
        f"{r.wal_flushes} WAL flushes, {r.wal_flush_ms:.2f} ms each; "
        f"CPU {r.cpu_busy:.0%} busy; load {r.load:.1f}"
    )


def phases(url: str) -> list[str]:
    """Where one append's time goes, with one writer: protocol messages (libpq's trace), the
    client's CPU, the server's work on the statement, the commit's WAL flush."""
    import uuid

    import psycopg

    from tsbrunbook.store.postgres import APPEND_SQL, PostgresStore

    out = []
    store = PostgresStore(url)
    incident = store.create("phases", meta={}, actor="bench")
    for n in range(10):
        store.append(incident, "note", {"text": f"warm-up {n}"})
    conn = store._connection()
    with tempfile.NamedTemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        for n in range(20):
            store.append(incident, "note", {"text": f"traced {n}"})
        conn.pgconn.untrace()
        trace.seek(0)
        kinds = [line.split("\t")[1:4:2] for line in trace.read().splitlines()]
    sent = [k for d, k in kinds if d == "F"]
    out.append(
        f"per append: {sent.count('Sync') / 20:.1f} Sync (round trips), "
        f"{sent.count('Parse') / 20:.1f} Parse, {sent.count('Bind') / 20:.1f} Bind"
    )
    wall, cpu = [], []
    for n in range(200):
        t, c = time.perf_counter(), time.process_time()
        store.append(incident, "note", {"text": f"timed {n}"})
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    store.close()
    out.append(
        f"1 writer: wall p50 {statistics.median(wall):.2f} ms, "
        f"client CPU p50 {statistics.median(cpu):.3f} ms"
    )
    server, rtt = [], []
    with psycopg.connect(url) as c:
        for _ in range(50):
            with c.transaction(force_rollback=True):
                params = (incident, "note", '{"text": "x"}', "bench", uuid.uuid4(), None, None)
                row = c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + APPEND_SQL, params).fetchone()
                assert row is not None
                plan = row[0][0]
                server.append((plan["Planning Time"], plan["Execution Time"]))
        for _ in range(200):
            t = time.perf_counter()
            c.execute("SELECT 1").fetchone()
            rtt.append((time.perf_counter() - t) * 1000)
    out.append(
        "server: the append function's call "
        f"planning p50 {statistics.median(p for p, _ in server):.3f} ms (prepared: once), "
        f"execution p50 {statistics.median(e for _, e in server):.3f} ms (lock, decide, insert, "
        "NOTIFY; the commit's WAL flush comes after); "
        f"empty round trip p50 {statistics.median(rtt):.3f} ms"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appends", type=int, default=50, help="per writer (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="of 20 writers (default 3)")
    parser.add_argument("--phases", action="store_true", help="where one append's time goes")
    parser.add_argument("--wal-on-tmpfs", action="store_true", help="diagnostic: not durable")
    parser.add_argument("--each", action="store_true", help="also 20 writers, one incident each")
    parser.add_argument(
        "--busy", action="store_true", help="also 1 writer with both cores kept busy"
    )
    args = parser.parse_args()
    why = unavailable()
    if why:
        print(f"skipped: {why}")
        return
    with durable_server(args.wal_on_tmpfs) as url:
        print(f"WAL on {'tmpfs (NOT durable: a diagnostic)' if args.wal_on_tmpfs else 'disk'}")
        if args.phases:
            for line in phases(url):
                print(line)
        print(describe(measure(url, 1, args.appends * 4)))
        for _ in range(args.rounds):
            print(describe(measure(url, 20, args.appends)))
        if args.busy:
            hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
            try:
                print("both cores busy:", describe(measure(url, 1, args.appends * 4)))
            finally:
                for hog in hogs:
                    hog.kill()
                    hog.wait()
        if args.each:
            print("one incident each:", describe(measure(url, 20, args.appends, True)))


if __name__ == "__main__":
    main()
