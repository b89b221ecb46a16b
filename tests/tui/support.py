"""Helpers for the TUI tests: a deterministic in-memory event sink (for snapshots), app builders,
waiting for the app's store jobs (with a deadline), and reading and moving the panes' cells."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tsbrunbook.domain.incident import Event, StepView
from tsbrunbook.store.protocol import (
    AccessGrant,
    Change,
    IncidentSummary,
    Presence,
    present_since,
)

if TYPE_CHECKING:
    from tsbrunbook.tui.widgets.checklists import ChecklistsPane

BASE = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


class FixedClockSink:
    """An IncidentStore whose clock advances 30 s per event, so screenshots never change.

    Snapshot tests use it to pin the look; persistence is tested against the real store."""

    def __init__(self) -> None:
        self.stored: list[Event] = []
        self.sessions: dict[tuple[str, str], Presence] = {}

    def create(
        self, title: str, kind: str = "incident", meta: dict | None = None, actor: str | None = None
    ) -> str:
        incident = f"INC-20261127-{len({e.incident for e in self.stored}) + 1:03d}"
        self.append(incident, "started", {"title": title, "kind": kind, **(meta or {})})
        return incident

    def append(
        self, incident: str, type: str, data: dict, actor: str = "", expect_last: int | None = None
    ) -> Event:
        if expect_last is not None and self.events(incident)[-1].seq != expect_last:
            from tsbrunbook.domain.incident import Conflict

            raise Conflict(incident)
        seq = len(self.stored) + 1
        event = Event(seq, incident, BASE + timedelta(seconds=30 * seq), type, dict(data), "oncall")
        self.stored.append(event)
        return event

    def events(self, incident: str, after: int = 0) -> list[Event]:
        return [e for e in self.stored if e.incident == incident and e.seq > after]

    def start_event(self, incident: str) -> Event | None:
        return next(iter(self.events(incident)), None)

    def exists(self, incident: str) -> bool:
        return incident in self.ids()

    def ids(self) -> list[str]:
        return list(dict.fromkeys(e.incident for e in self.stored))

    def latest_open(self, kind: str = "incident") -> str | None:
        return next((s.id for s in self.summaries(kind=kind)), None)

    def resume_or_create(
        self,
        wanted: Callable[[dict], bool],
        title: str,
        kind: str = "incident",
        meta: dict | None = None,
        actor: str | None = None,
    ) -> tuple[str, bool]:
        for summary in self.summaries(kind=kind):
            if wanted(self.events(summary.id)[0].data):
                return summary.id, False
        return self.create(title, kind, meta, actor), True

    def add_access(self, name: str, role: str, token_sha256: str) -> AccessGrant:
        raise NotImplementedError("snapshots need no war-room access")

    def access_grants(self) -> list[AccessGrant]:
        return []

    def revoke_access(self, name: str) -> bool:
        return False

    @property
    def location(self) -> str:
        return "memory"

    @property
    def schema_version(self) -> int:
        return 1

    def close(self) -> None:
        pass

    def idempotent(self, key: uuid.UUID) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # one process, in memory: nothing is ever in doubt

    def heartbeat(self, incident: str, who: str, session: str, at: datetime) -> None:
        self.sessions[(incident, session)] = Presence(who, session, at)

    def leave(self, incident: str, session: str) -> None:
        self.sessions.pop((incident, session), None)

    def present(self, incident: str, now: datetime) -> list[Presence]:
        return sorted(
            (
                p
                for (i, _), p in self.sessions.items()
                if i == incident and p.seen >= present_since(now)
            ),
            key=lambda p: (p.who, p.session),
        )

    def watch(self, timeout: float = 1.0) -> Generator[Change | None, None, None]:
        """Nobody else writes here: the start, then quiet ticks."""
        yield Change(None)
        while True:
            time.sleep(timeout)
            yield None

    def summaries(
        self, include_closed: bool = False, kind: str | None = None
    ) -> list[IncidentSummary]:
        out = []
        for i in reversed(self.ids()):
            first = self.events(i)[0]
            if kind is not None and first.data.get("kind", "incident") != kind:
                continue
            out.append(
                IncidentSummary(
                    i,
                    first.data["title"],
                    first.data.get("kind", "incident"),
                    first.at,
                    None,
                    len(self.events(i)),
                    (),
                )
            )
        return out


def fixed_clock() -> datetime:
    return BASE + timedelta(minutes=17, seconds=5)


def snapshot_app(setup=None, title: str = "eu-west edge down after upgrade"):
    """A RunbookApp on the demo estate with a deterministic incident, prepared by `setup(session)`."""
    from tsbrunbook.tui.app import RunbookApp
    from tsbrunbook.workspace import Workspace

    workspace = Workspace(store=FixedClockSink())
    session = workspace.start(title)
    if setup is not None:
        setup(session)
    return RunbookApp(workspace, session, clock=fixed_clock)


async def until(pilot, condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Let the app run until `condition` holds (a deadline, not a sleep: it returns at once when met)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause()


async def settle(pilot, seconds: float = 10.0) -> None:
    """Let the app run until every store job it was given is done and its answer handled (the
    screen shows what is stored). A deadline, not a sleep: it returns as soon as that is so."""
    app = pilot.app
    deadline = time.monotonic() + seconds
    while True:
        # Every worker but the store's watch, which runs as long as the app does.
        workers = [w for w in app.workers if w.group != "watch"]
        if workers:  # (an empty list would mean every worker)
            await app.workers.wait_for_complete(workers)
        await pilot.pause()
        if app.jobs.idle:
            return
        assert time.monotonic() < deadline, "the app's store jobs did not finish in time"


def highlighted_step(pane: ChecklistsPane) -> StepView:
    """The step under the checklists cursor; the test fails here if the cursor is not on one."""
    step = pane.tree_view.current_step()
    assert step is not None, "the checklists cursor is not on a step"
    return step


def select_component(app, cid: str) -> None:
    """Put the components tree's cursor on `cid`."""
    from tsbrunbook.tui.widgets.components import ComponentsPane

    pane = app.screen.query_one(ComponentsPane)
    pane.tree_view.move_cursor(pane.nodes[cid])


def cell_text(app, op_id: str, scope: str) -> str:
    """The text of one impact cell (`overall` for the estate-wide row)."""
    from tsbrunbook.tui.widgets.impact import ImpactPane

    return str(app.screen.query_one(ImpactPane).table.get_cell(scope, op_id))


def focus_cell(app, op_id: str, scope: str) -> None:
    """Put the impact table's cursor on one cell."""
    from tsbrunbook.tui.widgets.impact import ImpactPane

    pane = app.screen.query_one(ImpactPane)
    column = 1 + [o.id for o in pane.pack.graph.operations].index(op_id)
    pane.table.move_cursor(row=pane.rows.index(scope), column=column)
