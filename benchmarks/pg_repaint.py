"""Team mode: how long a colleague's append takes to show on a second TUI (PostgreSQL NOTIFY).

    python benchmarks/pg_repaint.py [--samples N]        # prints p50/p95 (benchmarks/run.py
                                                         # runs it as one of its sections)

A throwaway PostgreSQL server (tests/pg_server.py: Debian's binaries, a temp dir, loopback, fsync
on) holds one incident. A child process runs the TUI headless on it (`RunbookApp.run_test`, the
store from TSBRUNBOOK_DATABASE_URL as `tsbrunbook` opens it); a writer thread in that process,
on a connection of its own, appends a note. Each sample runs from just before the append to the
first frame the compositor renders (hook on `App._display`) after the app folded that event:
append, commit, NOTIFY, the app's LISTEN worker, its read through the store worker, the fold and
the repaint. Without PostgreSQL binaries, `measure` returns None and says why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZE = (160, 48)
BUDGET_P95_MS = 300.0


def find_postgres() -> str | None:
    sys.path.insert(0, ROOT)
    from tests.pg_server import find_bindir

    return find_bindir()


def measure(samples: int, home: str) -> list[float] | None:
    """Milliseconds per sample, or None (having said why) without PostgreSQL binaries."""
    if find_postgres() is None:
        print("  skipped: no PostgreSQL binaries found (Debian: apt-get install postgresql)")
        return None
    from tests.pg_server import start_server

    server = start_server(durability="")  # fsync on: commits as a real server makes them
    try:
        url = server.url(server.new_database())
        result = os.path.join(home, "pg-repaint.json")
        os.makedirs(home, exist_ok=True)
        env = {**os.environ, "TSBRUNBOOK_HOME": home, "TSBRUNBOOK_DATABASE_URL": url}
        env.pop("TSBRUNBOOK_RUNBOOKS", None)
        proc = subprocess.run(
            [sys.executable, __file__, "child", str(samples), result],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the repaint child failed:\n{(proc.stderr or proc.stdout)[-2000:]}")
        with open(result, encoding="utf-8") as fh:
            return [s * 1000 for s in json.load(fh)["samples"]]
    finally:
        server.stop("fast")
        import shutil

        shutil.rmtree(server.root, ignore_errors=True)


def child(samples: int, result: str) -> None:
    """In its own process: the TUI headless on the team store, and a writer beside it."""
    import asyncio
    import threading

    from tsbrunbook.store.select import open_store
    from tsbrunbook.tui.app import RunbookApp
    from tsbrunbook.workspace import Workspace

    workspace = Workspace()  # the PostgreSQL store, from TSBRUNBOOK_DATABASE_URL
    app = RunbookApp(workspace, workspace.resume_or_start(None))
    writer = open_store()  # the colleague: another connection
    watch: dict = {"seq": None, "at": None}
    display = app._display

    def timed_display(screen, renderable) -> None:
        display(screen, renderable)
        if renderable is None or app._batch_count or watch["seq"] is None or watch["at"]:
            return
        if app.session.state.last_seq >= watch["seq"]:
            watch["at"] = time.perf_counter()

    app._display = timed_display  # type: ignore[method-assign]

    async def drive() -> list[float]:
        took: list[float] = []
        async with app.run_test(size=SIZE) as pilot:
            # Watching: the app has registered its LISTEN (its first read is done).
            deadline = time.perf_counter() + 60
            while app.jobs.pending["poll"] or not app.jobs.idle:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the app never settled")
                await pilot.pause()
            await pilot.pause(0.5)
            incident = app.session.id
            for n in range(samples + 1):  # the first one warms up (imports, first LISTEN read)
                watch.update(seq=app.session.state.last_seq + 1, at=None)
                start = time.perf_counter()
                appended = threading.Thread(
                    target=writer.append, args=(incident, "note", {"text": f"bench {n}"}, "bench")
                )
                appended.start()
                deadline = start + 30
                while watch["at"] is None:
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"append {n} never showed on the second TUI")
                    await asyncio.sleep(0.0005)
                appended.join()
                if n:
                    took.append(watch["at"] - start)
                await pilot.pause(0.05)  # let the app go quiet, as between two real actions
        return took

    took = asyncio.run(drive())
    writer.close()
    workspace.close()
    with open(result, "w", encoding="utf-8") as fh:
        json.dump({"samples": took}, fh)


def percentile(values: list[float], q: int) -> float:
    import statistics

    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(argv: list[str]) -> int:
    if argv[:1] == ["child"]:
        sys.path.insert(0, ROOT)
        child(int(argv[1]), argv[2])
        return 0
    samples = int(argv[argv.index("--samples") + 1]) if "--samples" in argv else 100
    with tempfile.TemporaryDirectory(prefix="tsbrunbook-pg-repaint-") as home:
        took = measure(samples, home)
    if took is None:
        return 0
    p50, p95 = percentile(took, 50), percentile(took, 95)
    verdict = "PASS" if p95 <= BUDGET_P95_MS else "FAIL"
    print(f"append to repaint: p50 {p50:.1f} ms, p95 {p95:.1f} ms (budget p95 ≤ 300 ms) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
