"""Measure tsbrunbook against its performance budgets and write BENCHMARKS.md.

    python benchmarks/run.py                 # everything, N = 10, 100, 1000 (`make bench`)
    python benchmarks/run.py --smoke         # each section once, N = 10: does it all run (seconds)
    python benchmarks/run.py --output FILE   # write the report somewhere else

Prints PASS/FAIL per budget; exit status 0 when every budget is met, 1 on any miss, 2 when a
measurement itself failed. In --smoke mode every section runs once on the N = 10 estate without
warm-ups, so the budgets set for N = 100 and N = 1000 are not judged (the start-up ratio to the
same-widgets app is, from one cold round: a hint, not a verdict).

What each number means and how it is taken is written into the report itself (`METHOD` below).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHILD = HERE / "_child.py"
sys.path.insert(0, str(HERE))

from estates import write_estate  # noqa: E402 — benchmarks/ is not a package: found through sys.path

FULL_SIZES = (10, 100, 1000)
SMOKE_SIZES = (10,)


@dataclass(frozen=True)
class Plan:
    """How much of everything to do: a full run, or the quick smoke run."""

    smoke: bool
    sizes: tuple[int, ...]
    engine_toggles: int
    cli_runs: int
    startup_rounds: int
    startup_size: int  # the large estate whose first frame is compared with the demo's
    interaction_sizes: tuple[int, ...]
    interaction_toggles: int
    export_size: int
    export_events: int
    export_runs: int
    memory_size: int
    only: str = ""  # run only the sections whose name contains this (--only)

    @classmethod
    def make(cls, smoke: bool) -> Plan:
        if smoke:
            # Every section runs, once, on the smallest estate: the suite checks that the script
            # works (in a few seconds), budgets are judged by `make bench`.
            return cls(True, SMOKE_SIZES, 100, 1, 1, 10, (10,), 1, 10, 40, 1, 10)
        return cls(False, FULL_SIZES, 1000, 7, 21, 1000, (100, 1000), 30, 1000, 1000, 7, 1000)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    measure: str
    n: str  # the estate size, or "demo" / "—"
    unit: str  # "ms", "×" or "MB"
    samples: list[float]
    budget: float | None = None  # the median must be ≤ this (None: reported, not judged)
    value: float | None = None  # the judged value when it is not the median of samples (a ratio)
    note: str = ""

    @property
    def judged(self) -> float:
        return self.value if self.value is not None else statistics.median(self.samples)

    @property
    def verdict(self) -> str:
        if self.budget is None:
            return "—"
        return "PASS" if self.judged <= self.budget else "FAIL"


def number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def spread(samples: list[float]) -> tuple[str, str, str]:
    """(p10 – p90, min – max, stdev) as text."""
    if len(samples) < 2:
        return "—", "—", "—"
    deciles = statistics.quantiles(samples, n=10, method="inclusive")
    return (
        f"{number(deciles[0])} – {number(deciles[-1])}",
        f"{number(min(samples))} – {number(max(samples))}",
        number(statistics.stdev(samples)),
    )


# ---------------------------------------------------------------------------------------------
# Child processes


@dataclass
class Spawned:
    start: float  # time.monotonic() just before the spawn
    wall: float  # seconds, spawn to exit (output included)
    cpu: float  # seconds of CPU (user + system) the child used, to its exit
    code: int
    out: str
    err: str


def child_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["TSBRUNBOOK_HOME"] = str(home)
    env.pop("TSBRUNBOOK_RUNBOOKS", None)  # always the bundled runbooks
    # Like an installed tool (pip compiles on install), both apps run from cached bytecode;
    # without this a PYTHONDONTWRITEBYTECODE environment would charge tsbrunbook a recompile
    # of its own modules on every start, and Textual (installed, compiled) nothing.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def spawn(cmd: list[str], env: dict[str, str], timeout: float = 300) -> Spawned:
    """Run one process to its end, its output into files (no pipe to drain, nothing to wait on)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)  # children run one at a time
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=str(ROOT)
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{' '.join(cmd[:4])} … did not finish in {timeout:.0f} s") from None
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.seek(0)
        err.seek(0)
        return Spawned(
            start,
            wall,
            cpu,
            code,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def checked(result: Spawned, what: str) -> Spawned:
    if result.code != 0:
        tail = (result.err.strip() or result.out.strip())[-2000:]
        raise RuntimeError(f"{what} exited with status {result.code}:\n{tail}")
    return result


def tsbrunbook_command() -> list[str]:
    script = Path(sys.executable).with_name("tsbrunbook")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tsbrunbook"]


def read_result(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


# ---------------------------------------------------------------------------------------------
# The measurements


def five_down(clusters: tuple[str, ...]) -> list[str]:
    """A bad but plausible incident: two estate-wide failures and three per-cluster ones."""
    return [
        "central-control-plane",
        "elasticsearch",
        f"workload-cluster/{clusters[0]}",
        f"edge-control-plane/{clusters[len(clusters) // 2]}",
        f"connectivity/{clusters[-1]}",
    ]


def measure_engine(n: int, estate_path: Path, toggles: int) -> list[Row]:
    from tsbrunbook.domain.impact import ImpactEngine
    from tsbrunbook.domain.runbooks.estate import load_estate
    from tsbrunbook.domain.runbooks.pack import load_pack

    pack = load_pack()
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        estate = load_estate(str(estate_path), use_cache=False)  # the YAML read and validated
        loads.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    load_estate(str(estate_path))  # the cache's entry is written (a start reads it)
    load_estate(str(estate_path))
    cached = (time.perf_counter() - start) * 1000 / 2
    start = time.perf_counter()
    engine = ImpactEngine(pack, estate)
    build = (time.perf_counter() - start) * 1000
    ids = list(engine.graph.markable_ids)

    def walk(rnd: random.Random, choose) -> tuple[list[float], int]:
        down = set(rnd.sample(ids, 5))
        engine.assess(down)
        samples = []
        for _ in range(toggles):
            down ^= {choose(rnd, down)}
            start = time.perf_counter()
            engine.assess(down)
            samples.append((time.perf_counter() - start) * 1000)
        return samples, len(down)

    # The judged walk: each toggle flips a uniformly random component, so the failure set
    # drifts from 5 down towards half the estate: the engine's worst realistic load and then some.
    uniform, end = walk(random.Random(1000 + n), lambda rnd, down: rnd.choice(ids))

    # An incident-sized walk: 1 to 10 components down at any time, as in a real incident.
    def incident_choice(rnd: random.Random, down: set[str]) -> str:
        if len(down) >= 10 or (len(down) > 1 and rnd.random() < 0.5):
            return rnd.choice(sorted(down))
        return rnd.choice([c for c in ids if c not in down])

    incident, _ = walk(random.Random(2000 + n), incident_choice)
    budget = {100: 1.0, 1000: 10.0}.get(n)
    return [
        Row(
            "engine: re-assess after one toggle (random toggles)",
            str(n),
            "ms",
            uniform,
            budget,
            note=f"{len(ids)} markable components; {end} down after the walk",
        ),
        Row(
            "engine: re-assess after one toggle (1–10 down)",
            str(n),
            "ms",
            incident,
            note="incident-sized walk",
        ),
        Row(
            "estate load + validation (in process)",
            str(n),
            "ms",
            loads,
            note=f"engine build {number(build)} ms; from the runbook cache {number(cached)} ms",
        ),
    ]


def measure_cli(
    n: int, estate_path: Path, runs: int, home: Path, smoke: bool = False
) -> tuple[Row, Row]:
    from tsbrunbook.domain.runbooks.estate import load_estate

    clusters = load_estate(str(estate_path)).cluster_names
    args = ["impact", "--format", "json", "--estate", str(estate_path)]
    for cid in five_down(clusters):
        args += ["--down", cid]
    env = child_env(home)
    cmd = tsbrunbook_command() + args
    if not smoke:
        checked(spawn(cmd, env), "tsbrunbook impact (warm-up)")
    walls = []
    for _ in range(runs):
        result = checked(spawn(cmd, env), "tsbrunbook impact")
        walls.append(result.wall * 1000)
    data = json.loads(result.out)
    assert len(data["down"]) == 5, data["down"]
    peaks = []
    result_file = home / "cli-memory.json"
    for _ in range(1 if smoke else 3):
        checked(
            spawn([sys.executable, str(CHILD), "cli-memory", str(result_file), *args], env),
            "tsbrunbook impact (memory)",
        )
        peaks.append(read_result(result_file)["peak_mb"])
    return (
        Row(
            "CLI: `tsbrunbook impact --format json`, 5 down (wall)",
            str(n),
            "ms",
            walls,
            1000.0 if n == 1000 else None,
            note=f"{len(result.out) // 1024} KB of JSON",
        ),
        Row("CLI: peak RSS of `impact`", str(n), "MB", peaks, 200.0 if n == 1000 else None),
    )


def measure_startup(
    rounds: int, home: Path, n: int, estate_path: Path, warm_up: bool = True
) -> list[Row]:
    """Every app in a fresh process, interleaved round by round, so load on the machine falls on
    all of them alike: the hello app, the plain app with the same widgets, `tsbrunbook` on the
    demo estate and `tsbrunbook tui --estate` on the N-cluster estate."""
    env = child_env(home)
    result_file = home / "startup.json"
    large = f"tsbrunbook-{n}"
    commands = {
        "hello": ["hello"],
        "widgets": ["widgets"],
        "tsbrunbook": ["tsbrunbook"],
        large: ["tsbrunbook", "--estate", str(estate_path)],
    }

    cpu: dict[str, list[float]] = {which: [] for which in commands}

    def once(which: str) -> tuple[float, float]:
        """(spawn → App.run() called, spawn → first frame), in ms; its CPU time into `cpu`."""
        result_file.unlink(missing_ok=True)
        run = checked(
            spawn(
                [sys.executable, str(CHILD), "startup", str(result_file), *commands[which]],
                env,
                timeout=300,
            ),
            f"start-up child ({which})",
        )
        data = read_result(result_file)
        cpu[which].append(run.cpu * 1000)
        return (data["app_run"] - run.start) * 1000, (data["ready"] - run.start) * 1000

    if warm_up:  # bytecode and page caches; tsbrunbook starts its incidents, fills its cache
        for which in commands:
            once(which)
    times: dict[str, list[tuple[float, float]]] = {which: [] for which in commands}
    for samples in cpu.values():
        samples.clear()  # the warm-ups do not count
    for i in range(rounds):
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        for which in order:
            times[which].append(once(which))
    first = {which: [t for _, t in samples] for which, samples in times.items()}
    median = {which: statistics.median(samples) for which, samples in first.items()}

    def phases(which: str) -> str:
        before = statistics.median(b for b, _ in times[which])
        after = statistics.median(t - b for b, t in times[which])
        return f"{number(before)} ms to `App.run()` (interpreter, imports, loading) + {number(after)} ms from `App.run()` to the first frame"

    def per_round(a: str, b: str) -> list[float]:
        return [x / y for x, y in zip(first[a], first[b], strict=True)]

    return [
        Row(
            "start-up to first frame: bare Textual hello app",
            "—",
            "ms",
            first["hello"],
            note=phases("hello"),
        ),
        Row(
            "start-up to first frame: plain Textual app with the same widgets (no tsbrunbook code)",
            "—",
            "ms",
            first["widgets"],
            note=phases("widgets")
            + f"; {median['widgets'] / median['hello']:.2f} × the hello app, the framework's floor for such a screen",
        ),
        Row(
            "start-up to first frame: `tsbrunbook` (demo estate)",
            "demo",
            "ms",
            first["tsbrunbook"],
            note=phases("tsbrunbook"),
        ),
        Row(
            "start-up to first frame: `tsbrunbook tui --estate` (N clusters)",
            str(n),
            "ms",
            first[large],
            note=phases(large),
        ),
        Row(
            "start-up ratio tsbrunbook / same-widgets Textual app",
            "demo",
            "×",
            per_round("tsbrunbook", "widgets"),
            1.2,
            value=median["tsbrunbook"] / median["widgets"],
            note="ratio of the medians; spread of the per-round ratios",
        ),
        Row(
            "start-up ratio N clusters / demo estate (first frame)",
            str(n),
            "×",
            per_round(large, "tsbrunbook"),
            1.5 if n == 1000 else None,
            value=median[large] / median["tsbrunbook"],
            note="ratio of the medians; spread of the per-round ratios",
        ),
        Row(
            "start-up CPU time ratio tsbrunbook / same-widgets Textual app",
            "demo",
            "×",
            [x / y for x, y in zip(cpu["tsbrunbook"], cpu["widgets"], strict=True)],
            None,
            value=statistics.median(cpu["tsbrunbook"]) / statistics.median(cpu["widgets"]),
            note="information: CPU seconds (user + system) of each process to its exit just after "
            f"the first frame ({number(statistics.median(cpu['tsbrunbook']))} / "
            f"{number(statistics.median(cpu['widgets']))} ms), which load on a shared machine "
            "disturbs less than wall time",
        ),
        Row(
            "start-up CPU time ratio N clusters / demo estate",
            str(n),
            "×",
            [x / y for x, y in zip(cpu[large], cpu["tsbrunbook"], strict=True)],
            None,
            value=statistics.median(cpu[large]) / statistics.median(cpu["tsbrunbook"]),
            note=f"information: as above ({number(statistics.median(cpu[large]))} ms at N = {n})",
        ),
        Row(
            "start-up ratio tsbrunbook / bare Textual",
            "demo",
            "×",
            per_round("tsbrunbook", "hello"),
            None,
            value=median["tsbrunbook"] / median["hello"],
            note="information, no budget (issue 13 replaced the old ≤ 1.3 ×): a one-word app is no yardstick for a three-pane screen",
        ),
    ]


def measure_interaction(n: int, estate_path: Path, toggles: int, home: Path) -> Row:
    result_file = home / f"interaction-{n}.json"
    checked(
        spawn(
            [
                sys.executable,
                str(CHILD),
                "interaction",
                str(estate_path),
                str(toggles),
                str(result_file),
            ],
            child_env(home),
            timeout=900,
        ),
        f"interaction child (N={n})",
    )
    samples = [s * 1000 for s in read_result(result_file)["samples"]]
    budget = {100: 50.0, 1000: 200.0}.get(n)
    return Row("TUI: `space` to repainted impact matrix (Pilot)", str(n), "ms", samples, budget)


def measure_export(n: int, estate_path: Path, events: int, runs: int, home: Path) -> list[Row]:
    from tsbrunbook.domain.incident import all_refs, checklists
    from tsbrunbook.domain.incident_markdown import incident_markdown
    from tsbrunbook.store import Store
    from tsbrunbook.workspace import Workspace

    db = home / "export" / "incidents.sqlite3"
    store = Store(str(db))
    workspace = Workspace(store=store)
    session = workspace.start("Benchmark incident with many events", str(estate_path))
    engine = session.engine
    ids = list(engine.graph.markable_ids)
    rnd = random.Random(7)
    while len(session.state.timeline) < events:
        state = session.state
        roll = rnd.random()
        if roll < 0.12 or not state.down:
            session.mark_down([rnd.choice([c for c in ids if c not in state.down])])
        elif roll < 0.18:
            session.mark_up([rnd.choice(list(state.down))])
        elif roll < 0.63:
            ref = rnd.choice(all_refs(state, engine))
            action = rnd.choice(("done", "done", "done", "skip", "fail", "block", "reset"))
            session.set_step(
                ref, action, "not needed here" if action == "skip" else rnd.choice(("", "see note"))
            )
        elif roll < 0.93:
            ref = rnd.choice(all_refs(state, engine)) if rnd.random() < 0.5 else None
            session.add_note(
                f"observation {len(state.timeline)}: pods restarted, | `latency` <ok>", ref
            )
        else:
            points = [
                sv.ref for v in checklists(state, engine) for sv in v.steps if sv.step.escalation
            ]
            if points:
                session.raise_escalation(rnd.choice(points), f"CASE-{rnd.randint(1000, 9999)}")
            else:
                session.add_note("no escalation point yet")
    state = session.state
    incident_markdown(state, engine)  # warm-up
    times, text = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        text = incident_markdown(state, engine)
        times.append((time.perf_counter() - start) * 1000)
    reopen = []
    for _ in range(max(3, runs // 2)):
        start = time.perf_counter()
        fresh = Workspace(store=Store(str(db)), pack=workspace.pack)
        reopened = fresh.open(session.id)
        incident_markdown(reopened.state, reopened.engine)
        reopen.append((time.perf_counter() - start) * 1000)
        fresh.store.close()
    store.close()
    instances = len(state.instances)
    return [
        Row(
            f"export: `incident_markdown` of {len(state.timeline)} events",
            str(n),
            "ms",
            times,
            0.5 * 1000 if n == 1000 else None,
            note=f"{len(text) // 1024} KB of Markdown, {instances} scenario instances",
        ),
        Row(
            "export: open store + fold events + export (cold engine)",
            str(n),
            "ms",
            reopen,
            note="what `incident export ID` does in process",
        ),
    ]


def measure_tui_memory(n: int, estate_path: Path, home: Path, toggles: int) -> list[Row]:
    result_file = home / "memory.json"
    checked(
        spawn(
            [
                sys.executable,
                str(CHILD),
                "memory",
                str(estate_path),
                str(result_file),
                str(toggles),
            ],
            child_env(home),
            timeout=600,
        ),
        f"memory child (N={n})",
    )
    data = read_result(result_file)
    rows = [
        Row(
            f"TUI: peak RSS (headless, {toggles} toggles)",
            str(n),
            "MB",
            [data["peak_mb"]],
            200.0 if n == 1000 else None,
            note=f"{len(data['down'])} down after the toggles",
        )
    ]
    return rows


# ---------------------------------------------------------------------------------------------
# Team mode: append latency against a local PostgreSQL


def measure_pg_append(smoke: bool) -> list[Row]:
    """p50/p95 of `PostgresStore.append` with 1 writer and with 20 writer processes on one
    incident (the issue's budget: p95 ≤ 20 ms with 20); no rows, said so, without PostgreSQL."""
    import pg_append_latency as pg  # benchmarks/pg_append_latency.py, found through sys.path

    why = pg.unavailable()
    if why:
        print(f"  skipped: {why}", flush=True)
        return []
    # Smoke: checks that it runs, cheaply (4 writers, so no budget to judge).
    writers, rounds, count = (4, 1, 5) if smoke else (20, 3, 50)
    with pg.durable_server() as url:
        one = pg.measure(url, 1, 20 if smoke else 200)
        many = [pg.measure(url, writers, count) for _ in range(rounds)]
    pooled = [t for r in many for t in r.latencies_ms]
    flush = statistics.mean(r.wal_flush_ms for r in many)

    def rounds_note(rs: list[pg.Round]) -> str:
        return "; ".join(
            f"p50 {number(r.p(50))} / p95 {number(r.p(95))} ms at load {r.load:.1f}, "
            f"CPU {r.cpu_busy:.0%} busy, {r.throughput:.0f} appends/s"
            for r in rs
        )

    one_note = (
        f"{len(one.latencies_ms)} appends after {pg.WARM_UP} warm-up; "
        f"WAL flush {number(one.wal_flush_ms)} ms per commit; load {one.load:.1f}"
    )
    many_note = (
        f"{rounds} round(s) of {writers} processes × {count} appends, pooled; WAL flush "
        f"{number(flush)} ms per commit, one flush per append (the incident's lock is held "
        "through it, so appends to one incident cannot share a flush); per round: "
        + rounds_note(many)
    )
    name = "team mode: PostgreSQL append"
    return [
        Row(f"{name}, 1 writer, p50", "—", "ms", one.latencies_ms, value=one.p(50), note=one_note),
        Row(f"{name}, 1 writer, p95", "—", "ms", one.latencies_ms, value=one.p(95)),
        Row(
            f"{name}, {writers} writer processes on one incident, p50",
            "—",
            "ms",
            pooled,
            value=pg.percentile(pooled, 50),
        ),
        Row(
            f"{name}, {writers} writer processes on one incident, p95",
            "—",
            "ms",
            pooled,
            budget=pg.BUDGET_MS if writers == pg.BUDGET_WRITERS else None,
            value=pg.percentile(pooled, 95),
            note=many_note,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# The war-room view (`tsbrunbook serve`): a browser page to the app's first frame


CHROMIUM = "/usr/bin/chromium"
WAR_ROOM_ROUNDS = 5
# When textual-serve's page marks the app's first bytes (body.-first-byte, set as it hands them to
# xterm.js), the page notes the time (epoch ms). Playwright's wait_for_selector only polls, at
# intervals growing to 500 ms: its return time was up to half a second after the event.
FIRST_BYTES_AT = """
new MutationObserver((_, observer) => {
  if (document.body && document.body.classList.contains("-first-byte")) {
    window.__firstBytesAt = performance.timeOrigin + performance.now();
    observer.disconnect();
  }
}).observe(document, {attributes: true, attributeFilter: ["class"], subtree: true});
"""


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc: the app processes a server started)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        todo += children
    return found


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure_war_room(rounds: int, home: Path) -> list[Row]:
    """Page load (navigation to `/`, logged in) to the app's first frame in Chromium, against
    the TUI's own start-up to its first frame measured here too, interleaved; and the RSS of one
    browser session's app process."""
    import socket

    from playwright.sync_api import sync_playwright

    env = child_env(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    token = checked(
        spawn([*tsbrunbook_command(), "access", "create", "bench"], env), "access create"
    ).out.strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*tsbrunbook_command(), "serve", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result_file = home / "startup.json"

    def tui_once() -> float:
        result_file.unlink(missing_ok=True)
        run = checked(
            spawn(
                [sys.executable, str(CHILD), "startup", str(result_file), "tsbrunbook"],
                env,
                timeout=120,
            ),
            "start-up child (tsbrunbook)",
        )
        return (read_result(result_file)["ready"] - run.start) * 1000

    page_ms, tui_ms, rss = [], [], []
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tsbrunbook serve did not start")
            time.sleep(0.05)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_init_script(FIRST_BYTES_AT)
            if context.request.get(f"{url}/login?token={token}").status != 200:
                raise RuntimeError("the benchmark's token was refused")

            def page_once() -> tuple[float, float]:
                page = context.new_page()
                wall, start = time.time(), time.monotonic()
                page.goto(f"{url}/")
                page.wait_for_selector("body.-first-byte", timeout=60_000)
                polled = (time.monotonic() - start) * 1000
                # From before the navigation (this clock) to the page's mark (the browser's
                # clock: the same system wall clock, in ms).
                took = page.evaluate("window.__firstBytesAt") - wall * 1000
                if not 0 < took <= polled + 1:
                    raise RuntimeError(f"first bytes at {took:.0f} ms, seen at {polled:.0f} ms?")
                apps = [p for p in _descendants(server.pid) if _rss_mb(p) > 5]
                size = max((_rss_mb(p) for p in apps), default=0.0)
                page.close()
                return took, size

            page_once()  # warm-ups: page caches, bytecode, the incident started once
            tui_once()
            for i in range(rounds):
                if i % 2:
                    tui_ms.append(tui_once())
                took, size = page_once()
                page_ms.append(took)
                rss.append(size)
                if not i % 2:
                    tui_ms.append(tui_once())
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    ratio = statistics.median(page_ms) / statistics.median(tui_ms)
    return [
        Row(
            "war room: page load to the app's first frame (Chromium, loopback)",
            "demo",
            "ms",
            page_ms,
            note="navigation to `/` (logged in) until xterm.js gets the app's first bytes (the "
            "page's own time stamp, not Playwright's polling); includes starting the app process",
        ),
        Row(
            "war room: the TUI's own start-up to first frame, same run",
            "demo",
            "ms",
            tui_ms,
            note="benchmarks/_child.py startup tsbrunbook, interleaved with the page loads",
        ),
        Row(
            "war room: page load / TUI start-up",
            "demo",
            "×",
            [p / t for p, t in zip(page_ms, tui_ms, strict=True)],
            2.0,
            value=ratio,
            note="ratio of the medians; spread of the per-round ratios",
        ),
        Row(
            "war room: RSS of one browser session's app process",
            "demo",
            "MB",
            rss,
            note="VmRSS of the session's `tsbrunbook tui` process after its first frame",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# The report


METHOD = """\
- **engine** — `ImpactEngine.assess(down)` timed in process, as the TUI calls it on every `space`:
  1,000 toggles per N. The judged row flips a uniformly random markable component each time,
  starting from 5 down, so the failure set drifts towards half the estate (a harsher load than
  any incident); the *1–10 down* row keeps the set incident-sized.
- **CLI** — wall time of the real process `tsbrunbook impact --format json --estate FILE` with
  five components down (`central-control-plane`, `elasticsearch`, and a workload cluster, an edge
  control plane and a link on three clusters), spawn to exit, output read; one warm-up run first.
- **start-up** — `benchmarks/_child.py` runs each app in a fresh process, headless at
  160×48 (the harness patches Textual's `App` when the app itself imports it, so it adds
  no import of its own), and writes `time.monotonic()` when Textual posts `Ready` (sent after the first screen's
  first layout and compositor refresh, i.e. the first frame); the time is from just before the
  spawn to that stamp. Four apps, interleaved round by round (so load on the machine falls on all
  alike), after one warm-up each, from cached bytecode: a bare Textual app (`Static("hello")`);
  a plain Textual app with the same widgets as tsbrunbook's first screen and about the same
  content (three bordered panes, two trees, a data table, an input, a footer; no tsbrunbook
  code); `tsbrunbook.entry.main([])` — argument parsing, `Workspace`, `resume_or_start` on the demo
  estate (`TSBRUNBOOK_HOME` in a temp dir), `RunbookApp.run()`, exactly what `tsbrunbook` does;
  and `tsbrunbook tui --estate FILE` on the 1,000-cluster estate. The warm-up starts each
  incident and fills the runbook cache, so the rounds measure the everyday start: an incident
  resumed, the validated pack and estate read from the cache. The budgets are the ratio of the
  medians of tsbrunbook to the same-widgets app, and of the 1,000-cluster estate to the demo.
  The notes split each median at the moment `App.run()` is called.
- **interaction** — `RunbookApp.run_test(size=(160, 48))` on a fresh incident; for random
  per-cluster components, `pilot.press("space")` to mark it down, then again to mark it up. Each
  sample runs from just before the key press to the first frame the compositor renders (hook on
  `App._display`) in which the *Local ops / Overall* cell shows the new level. The headless
  driver then discards the frame, so terminal output time is not included; the store's durable
  write (fsync) is.
- **export** — an incident started on the N-cluster estate and driven through the store API
  (`IncidentSession`: marks down/up, step states, notes, escalations) to the given number of
  events; then `incident_markdown(state, engine)`, the function `tsbrunbook incident export`
  calls, timed in process.
- **memory** — peak RSS (`VmHWM` of the process itself, read from /proc at the end; `ru_maxrss`
  would include the benchmark's own memory, which Linux carries into a child across exec): the
  real `tsbrunbook tui --estate FILE` headless at 160×48 after six toggles by auto-pilot; and
  `tsbrunbook.cli.main()` running the `impact` command above, output discarded (3 runs).
- **team mode: append to repaint** — `benchmarks/pg_repaint.py`: a throwaway PostgreSQL server
  (fsync on, loopback) holds one incident; a child process runs the TUI headless on it and a
  writer thread, on a connection of its own, appends a note (200 times, after one warm-up). Each
  sample runs from just before the append to the first frame rendered after the app folded the
  event (append, commit, NOTIFY, the LISTEN worker, the read through the store worker, fold,
  repaint). Judged on p95 (≤ 300 ms), not the median. Skipped, saying so, without PostgreSQL
  binaries.
- **war room** — `tsbrunbook serve` on a loopback port, Debian's Chromium driven by
  Playwright, logged in once; each sample opens a new tab on `/` and runs until xterm.js has
  the app's first bytes (`body.-first-byte`), the app process's start included: from before the
  navigation to the page's own time stamp of that moment (a MutationObserver; Playwright's
  selector wait polls at up to 500 ms and overstated it by as much). The server runs with its
  default warm spare (`--warm 1`), as `tsbrunbook serve` does: the server replaces a taken
  spare once its session has drawn, so the next tab finds one ready or still warming. Interleaved with the TUI's own
  start-up to first frame (the start-up child above), so both share the machine's load; the
  budget is the ratio of the medians. RSS is the session's app process (VmRSS).
- Estates come from `benchmarks/estates.py`: N workload clusters over six regions, 2×N services
  on 1–3 clusters each, ElasticSearch embedded in the management cluster; seeded, so every run
  measures the same estates.
- **team mode: PostgreSQL append** — `benchmarks/pg_append_latency.py`: a throwaway PostgreSQL
  server (Debian's binaries, loopback, durable: fsync, full_page_writes and synchronous_commit on);
  each writer is a process of its own with its own `PostgresStore` (one connection), makes 3
  warm-up appends, waits for the others, then times each `append` of a note to one shared
  incident, back to back (a closed loop: 20 writers keep 20 appends in flight). 1 writer × 200
  appends; 20 writers × 50 appends, 3 rounds pooled. p95 judged (≤ 20 ms with 20 writers). The
  notes give the server's WAL flush time per commit (`pg_stat_wal`), the 1-minute load average and
  how busy the machine's CPUs were (all users). Skipped, saying so, without PostgreSQL binaries.
"""


# ---------------------------------------------------------------------------------------------
# Team mode: a colleague's append to a second TUI's repaint (PostgreSQL NOTIFY)


def measure_pg_repaint(plan: Plan, home: Path) -> list[Row]:
    """p95 judged (the issue's budget), p50 in the note; no rows (said so) without PostgreSQL."""
    import pg_repaint  # benchmarks/pg_repaint.py, found through sys.path like estates

    took = pg_repaint.measure(5 if plan.smoke else 200, str(home))
    if took is None:
        return []
    p95 = pg_repaint.percentile(took, 95)
    note = f"p95 judged; p50 {number(pg_repaint.percentile(took, 50))} ms"
    return [
        Row(
            "team mode: append to repaint on a second TUI (PostgreSQL NOTIFY)",
            "demo",
            "ms",
            took,
            budget=pg_repaint.BUDGET_P95_MS,
            value=p95,
            note=note,
        )
    ]


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    from importlib.metadata import version

    commit = "?"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # The report itself does not count: it is rewritten by every run.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        pass
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("RAM", ram),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("Textual", version("textual")),
        ("PyYAML", f"{version('pyyaml')} (libyaml: {_libyaml()})"),
        ("tsbrunbook", f"{version('tsbrunbook')}, git {commit}"),
    ]


def _libyaml() -> str:
    import yaml

    return "yes" if getattr(yaml, "__with_libyaml__", False) else "no"


def report(rows: list[Row], plan: Plan, started: datetime, seconds: float) -> str:
    out = [
        "# Benchmarks",
        "",
        f"Written by `{'make bench-smoke' if plan.smoke else 'make bench'}` (`python benchmarks/run.py{' --smoke' if plan.smoke else ''}`) "
        f"on {started:%Y-%m-%d %H:%M} UTC in {seconds:.0f} s."
        + (
            " **Smoke run: N = 10 only; the N-specific budgets are not judged.**"
            if plan.smoke
            else ""
        ),
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
    ]
    out += [f"| {k} | {v} |" for k, v in machine()]
    judged = [r for r in rows if r.budget is not None]
    failed = [r for r in judged if r.verdict == "FAIL"]
    summary = f"**{len(judged) - len(failed)} of {len(judged)} budgets met.**" + (
        " Missed: "
        + "; ".join(
            f"{r.measure} (N = {r.n}): {number(r.judged)} {r.unit}, budget {number(r.budget)} {r.unit}"
            for r in failed
        )
        + "."
        if failed
        else ""  # type: ignore[arg-type]
    )
    out += [
        "",
        "## Results",
        "",
        summary,
        "",
        "Median of the runs; p10 – p90 and min – max show the spread. A budget is met when the median is at or under it.",
        "",
        "| Measure | N | Median | p10 – p90 | min – max | stdev | Runs | Budget | Result | Note |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        p, mm, sd = spread(r.samples)
        budget = f"≤ {number(r.budget)} {r.unit}" if r.budget is not None else "—"
        verdict = {"PASS": "✅ PASS", "FAIL": "❌ FAIL"}.get(r.verdict, "—")
        out.append(
            f"| {r.measure} | {r.n} | **{number(r.judged)} {r.unit}** | {p} | {mm} | {sd} | {len(r.samples)} | {budget} | {verdict} | {r.note} |"
        )
    out += ["", "## How each number is taken", "", METHOD.rstrip(), ""]
    notes = HERE / "NOTES.md"  # maintained by hand: known misses, their causes, history
    if notes.exists():
        out += [notes.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------


def run(plan: Plan, output: Path) -> int:
    started = datetime.now(UTC)
    clock = time.monotonic()
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="tsbrunbook-bench-"))
    # What this process stores or caches (estates loaded in process) stays in the work dir.
    os.environ["TSBRUNBOOK_HOME"] = str(work / "home")
    try:
        estates = {
            n: write_estate(str(work / "estates"), n)
            for n in sorted(
                {
                    *plan.sizes,
                    *plan.interaction_sizes,
                    plan.export_size,
                    plan.memory_size,
                    plan.startup_size,
                }
            )
        }

        def section(name: str, fn, *args) -> None:
            if plan.only and plan.only not in name:
                return
            print(f"· {name} …", flush=True)
            t = time.monotonic()
            result = fn(*args)
            rows.extend(
                result
                if isinstance(result, list)
                else list(result)
                if isinstance(result, tuple)
                else [result]
            )
            print(f"  done in {time.monotonic() - t:.1f} s", flush=True)

        for n in plan.sizes:
            section(f"engine, N={n}", measure_engine, n, Path(estates[n]), plan.engine_toggles)
        for n in plan.sizes:
            section(
                f"CLI impact, N={n}",
                measure_cli,
                n,
                Path(estates[n]),
                plan.cli_runs,
                work / f"cli-{n}",
                plan.smoke,
            )
        section(
            "start-up",
            measure_startup,
            plan.startup_rounds,
            work / "startup",
            plan.startup_size,
            Path(estates[plan.startup_size]),
            not plan.smoke,
        )
        for n in plan.interaction_sizes:
            section(
                f"interaction, N={n}",
                measure_interaction,
                n,
                Path(estates[n]),
                plan.interaction_toggles,
                work / f"interaction-{n}",
            )
        section(
            f"export, N={plan.export_size}",
            measure_export,
            plan.export_size,
            Path(estates[plan.export_size]),
            plan.export_events,
            plan.export_runs,
            work / "export",
        )
        section("team mode: PostgreSQL append latency", measure_pg_append, plan.smoke)
        section(
            f"TUI memory, N={plan.memory_size}",
            measure_tui_memory,
            plan.memory_size,
            Path(estates[plan.memory_size]),
            work / "memory",
            2 if plan.smoke else 6,
        )
        section("team mode: append to repaint (PostgreSQL)", measure_pg_repaint, plan, work / "pg")
        if plan.smoke or not os.path.exists(CHROMIUM):
            print("· war room: skipped (--smoke, or no /usr/bin/chromium)", flush=True)
        else:
            section("war room (browser)", measure_war_room, WAR_ROOM_ROUNDS, work / "war-room")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = order_rows(rows)
    text = report(rows, plan, started, time.monotonic() - clock)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print()
    width = max(len(f"{r.measure} (N={r.n})") for r in rows)
    for r in rows:
        budget = f"budget ≤ {number(r.budget)} {r.unit}" if r.budget is not None else ""
        print(
            f"{r.verdict:4}  {(r.measure + f' (N={r.n})').ljust(width)}  {number(r.judged):>8} {r.unit:2}  {budget}"
        )
    failed = [r for r in rows if r.verdict == "FAIL"]
    print(
        f"\nwrote {output}: "
        + ("every budget met" if not failed else f"{len(failed)} budget(s) missed")
    )
    return 1 if failed else 0


def order_rows(rows: list[Row]) -> list[Row]:
    """Grouped by what is measured (in the order of the issue's budgets), then by N."""
    sections = [
        "engine: re-assess after one toggle (random",
        "engine: re-assess after one toggle (1",
        "estate load",
        "CLI: `tsbrunbook impact",
        "CLI: peak RSS",
        "start-up to first frame: bare",
        "start-up to first frame: plain",
        "start-up to first frame: `tsbrunbook`",
        "start-up ratio tsbrunbook / same",
        "start-up ratio N",
        "start-up CPU time ratio tsbrunbook",
        "start-up CPU time ratio N",
        "start-up ratio",
        "TUI: `space`",
        "export: `incident_markdown`",
        "export: open",
        "TUI: peak RSS",
        "team mode: append to repaint",
        "war room: page load to",
        "war room: the TUI",
        "war room: page load /",
        "war room: RSS",
    ]

    def key(r: Row) -> tuple[int, int]:
        rank = next((i for i, k in enumerate(sections) if r.measure.startswith(k)), len(sections))
        return (rank, int(r.n) if r.n.isdigit() else 0)

    return sorted(rows, key=key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure tsbrunbook against its budgets and write BENCHMARKS.md."
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="N = 10 only, quick (CI); N-specific budgets are not judged",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the report (default: BENCHMARKS.md; build/BENCHMARKS-smoke.md with --smoke)",
    )
    parser.add_argument(
        "--only",
        metavar="TEXT",
        default="",
        help="run only the sections whose name contains TEXT (e.g. 'war room', 'append latency', "
        "'start-up'); the report goes to build/BENCHMARKS-only.md unless --output is given",
    )
    args = parser.parse_args(argv)
    default = "BENCHMARKS-smoke.md" if args.smoke else "BENCHMARKS-only.md" if args.only else ""
    output = args.output or (ROOT / "build" / default if default else ROOT / "BENCHMARKS.md")
    try:
        return run(dataclasses.replace(Plan.make(args.smoke), only=args.only), output)
    except Exception:  # noqa: BLE001 — a broken measurement is not a missed budget
        traceback.print_exc()
        print("benchmarks: a measurement failed (exit 2)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
