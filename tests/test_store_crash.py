"""Nothing acknowledged is lost: kill -9 in the middle of writing, and concurrent writers."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tsbrunbook.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

# A writer in its own process: prints each acknowledged seq (after append() returned), flushing.
WRITER = """
import os, sys, time
from tsbrunbook.store import Store
incident, name, count, go, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
store = Store()
print("ready", flush=True)
while go != "-" and not os.path.exists(go):
    pass
for n in range(count):
    event = store.append(incident, "note", {"writer": name, "n": n, "text": "x" * 100})
    print(event.seq, n, flush=True)
    if pause:
        time.sleep(pause)
"""


def writer(
    incident: str, name: str, count: int, go: str = "-", pause: float = 0.0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, incident, name, str(count), go, str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
    )


def new_incident() -> str:
    with Store() as store:
        return store.create("crash test", meta={"estate_file": None})


def test_sigkill_mid_write_loses_no_acknowledged_event():
    incident = new_incident()
    proc = writer(incident, "victim", 1_000_000)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    acknowledged: dict[int, int] = {}
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        seq, n = map(int, proc.stdout.readline().split())
        acknowledged[seq] = n
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the writer is appending as fast as it can
    for line in proc.stdout:  # lines printed before the kill were acknowledged too
        parts = line.split()
        if len(parts) == 2:
            acknowledged[int(parts[0])] = int(parts[1])
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 300

    path = Store().path
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    with Store() as store:
        events = {e.seq: e for e in store.events(incident)}
        for seq, n in acknowledged.items():
            assert events[seq].data == {"writer": "victim", "n": n, "text": "x" * 100}
        assert sorted(events) == list(range(1, len(events) + 1)), "a gap in the sequence"
        after = store.append(incident, "note", {"text": "still works"})
        assert after.seq == max(events) + 1


def test_two_concurrent_writers_lose_nothing(tmp_path):
    incident = new_incident()
    go = str(tmp_path / "go")
    count = 150
    # A short pause between appends, as between real actions, lets the writers take turns;
    # without it one writer can hold on to the lock for its whole run.
    procs = {name: writer(incident, name, count, go, pause=0.001) for name in ("alpha", "beta")}
    for proc in procs.values():
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    open(go, "w").close()  # both start appending at once
    acknowledged = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        acknowledged[name] = [tuple(map(int, line.split())) for line in out.splitlines()]
        assert [n for _, n in acknowledged[name]] == list(range(count))

    with Store() as store:
        events = store.events(incident)
    assert [e.seq for e in events] == list(range(1, 2 * count + 2))
    by_seq = {e.seq: e for e in events}
    for name, acks in acknowledged.items():
        for seq, n in acks:
            assert by_seq[seq].data["writer"] == name and by_seq[seq].data["n"] == n
        mine = [e.data["n"] for e in events if e.data.get("writer") == name]
        assert mine == list(range(count)), "a writer's events are out of order or missing"
    writers = [e.data["writer"] for e in events[1:]]
    switches = sum(a != b for a, b in itertools.pairwise(writers))
    assert switches >= 2, "the writers did not actually run at the same time"


CREATOR = """
import sys
from tsbrunbook.store import Store
with Store() as store:
    for i in range(int(sys.argv[1])):
        print(store.create(f"incident {i}", meta={}), flush=True)
"""


def test_concurrent_processes_create_unique_ids_on_a_fresh_store():
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CREATOR, "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(4)
    ]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        ids += out.split()
    assert len(ids) == len(set(ids)) == 40
    assert sorted(int(i.rsplit("-", 1)[1]) for i in ids) == list(range(1, 41))
