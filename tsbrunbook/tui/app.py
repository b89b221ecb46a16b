"""The runbook app: wires the workspace (store + engine) to the main screen. App only.

Every store call goes through `act()` (or `in_store_worker()`): it runs in the store worker,
after the calls before it, and the screen changes when the stored events come back (see
store_jobs). The UI thread never touches the store, so a busy store cannot freeze it. What others
do comes in through the store's watch, and an unreachable store is waited out (see live)."""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SuspendNotSupported
from textual.binding import Binding
from textual.timer import Timer as TextualTimer

from .. import startup_gc
from ..domain.author import current_actor
from ..domain.clock import Clock, SteadyNow, as_clock, behind_warning
from ..domain.errors import UserError
from ..domain.escalation import TimerWatch
from ..domain.event_text import attributed
from ..domain.incident import ClaimedByOther, IncidentSession, checklists, in_progress
from ..domain.text import display
from ..domain.timefmt import offset
from ..store.protocol import Presence, StoreUnreachable
from ..workspace import Workspace
from .commands import RunbookCommands
from .expiries import record_confirmed, timer_key
from .live import Heartbeat, Link, StoreChanged, WatchEnded, follow_store, present_names
from .screens.main import MainScreen
from .store_jobs import UPKEEP, Finished, Job, StoreJobs, not_recorded
from .widgets.checklists import ChecklistsPane, StepTree
from .widgets.components import ComponentsPane, ComponentTree
from .widgets.header import IncidentHeader
from .widgets.impact import ImpactPane

# Imported where first used, not here: the first frame needs none of them (the notifier's
# http/email, the exercise modules, the dialogs, the editor, the probe, the clipboard).
if TYPE_CHECKING:
    from ..domain.exercise_run import ExerciseRun, Progress
    from ..integrations.notify import Notifier
    from .screens.prediction import PredictionScreen

STEP_PROMPTS = {
    "escalate": ("Tetrate support case number (optional; enter to record without one)", False),
    "skip": ("Why skip this step? (the reason is kept in the timeline)", True),
    "fail": ("What failed? (optional, enter to record without a note)", False),
    "block": ("What blocks it? (optional, enter to record without a note)", False),
}


def countdown(remaining: float) -> str:
    """`⏰ 12:03 left` before the escalation deadline, `⏰ 2:10 over` after it. (⏰ is two cells
    wide everywhere; ⏲ and ⏱ are not, and would shift the line in some terminals.)"""
    seconds = int(abs(remaining))
    text = f"{seconds // 60}:{seconds % 60:02d}"
    return f"⏰ {text} left" if remaining > 0 else f"⏰ {text} over"


def recent_events(state, count: int = 4) -> list[str]:
    """The last few things that happened, newest first, one line each, saying who did them."""
    return [f"{e.at:%H:%M:%S} {attributed(e)}" for e in reversed(state.timeline[-count:])]


class RunbookApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "tsbrunbook"
    COMMANDS = App.COMMANDS | {RunbookCommands}
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("n", "note", "Note"),
        Binding("N", "long_note", "Note in $EDITOR", show=False),
        Binding("T", "rename", "Rename", show=False),
        Binding("C", "close_incident", "Close incident", show=False),
        Binding("e", "export", "Export"),
        Binding("i", "incidents", "Incidents"),
        Binding("B", "brief", "Support brief"),
        Binding("h", "probe", "Probe TSB"),
        Binding("q", "quit", "Quit"),
        # Exercise mode only (see check_action)
        Binding("p", "clock", "Start/pause"),
        Binding("j", "next_inject", "Next inject"),
        Binding("plus", "speed(2.0)", "Faster", key_display="+"),
        Binding("minus", "speed(0.5)", "Slower", key_display="-"),
        Binding("g", "gap_note", "Gap note"),
        Binding("a", "answer_later", "Answer prediction", show=False),
        Binding("R", "report", "Report"),
        Binding("F", "finish", "Finish run", show=False),
    ]
    EXERCISE_ACTIONS = {
        "clock",
        "next_inject",
        "speed",
        "gap_note",
        "answer_later",
        "report",
        "finish",
    }
    SAVING_AFTER = 0.3  # seconds a write may take before the header says "saving…"

    def __init__(
        self,
        workspace: Workspace,
        session: IncidentSession,
        clock: Clock | Callable[[], datetime] | None = None,
        exercise: ExerciseRun | None = None,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.session = session
        # The wall and monotonic clocks (a FakeClock in tests; a plain `() -> datetime` is taken
        # as both, e.g. a fixed time for snapshots). `clock()` is "now" for the elapsed time:
        # the wall clock read once, then moved on the monotonic one (see SteadyNow).
        self.clocks = as_clock(clock)
        self.clock = SteadyNow(self.clocks)
        # Escalation countdowns on the monotonic clock (made at the first tick).
        self.timer_watch: TimerWatch | None = None
        self.clock_warned: set[str] = set()  # incidents whose clock warning was shown
        self.exercise = exercise
        self.pending_predictions: list[str] = []
        self.notifier: Notifier | None = None  # the chat Notifier of the open incident
        self.jobs = StoreJobs(self, workspace.store)  # every store call, in order, off this thread
        self.saving_timer: TextualTimer | None = None
        # The exercise's progress and the log it was replayed from (see exercise_progress).
        self.progress_of: tuple[tuple[str, int, int], Progress] | None = None
        # Live (see live): whether the store answers, when to say we have the incident open,
        # and as whom (one presence session per running app).
        self.link = Link(self.clocks)
        self.heartbeat = Heartbeat(self.clocks)
        self.who = current_actor()
        self.presence_session = uuid.uuid4().hex
        self.read_again = False  # a change came while a read was under way: read once more
        self.presence_again = False  # the same for who has the incident open

    @property
    def engine(self):
        return self.session.engine

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity="information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Toasts carry titles, paths, runbook and user text: never read them as markup (a `[/]`
        in an incident title must show as is, not crash the app), and never let them drive the
        terminal (the one display sanitiser; every toast, from any widget, passes here)."""
        message, title = display(message, multiline=True), display(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def get_default_screen(self) -> MainScreen:
        return MainScreen(self)

    def on_mount(self) -> None:
        # Other processes (alert hooks, a colleague's TUI or CLI) may append to the same
        # incident: the store's watch says when (PostgreSQL at once, SQLite by polling).
        self.start_watch()
        self.keep_live()
        self.set_interval(1.0, self.every_second)
        if self.exercise is not None:
            self.set_interval(0.25, self.exercise_tick)
            resumed = self.exercise.resumed
            if resumed is not None:  # how the clock was taken up again (exercise run)
                severity = "warning" if resumed.interrupted else "information"
                self.notify(resumed.message, title="Exercise clock", severity=severity, timeout=20)

    def on_ready(self) -> None:
        """The first frame is drawn: now what it did not need. (Later, not in this handler:
        whatever else listens for Ready runs first.)"""
        self.call_later(self.after_first_frame)

    def after_first_frame(self) -> None:
        # Paused while the program started (see startup_gc): its first collection scans all
        # the start built (~25 ms), after the frame is on the screen, not before.
        startup_gc.resume()
        if self.notifier is None:
            self.start_notifier()  # its http/email imports and thread are not needed to draw

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Exercise actions are hidden from the footer and inert outside exercise mode.
        return not (action in self.EXERCISE_ACTIONS and self.exercise is None)

    # -----------------------------------------------------------------------------------------

    @property
    def showing(self) -> bool:
        """The main screen is up: not before it is composed (intervals start with the app and
        can fire first under load), not once the app is closing (its screens are gone while
        timers and store results may still arrive)."""
        return bool(self.screen_stack) and bool(self.screen_stack[0].query(IncidentHeader))

    @property
    def main(self) -> MainScreen:
        return self.screen_stack[0]  # type: ignore[return-value]  # modals sit above it

    def picture(self) -> tuple[Any, list, list[str]]:
        """What the panes show: the impact, the checklists and the latest events."""
        impact = self.session.impact()
        views = checklists(self.session.state, self.engine, impact)
        return impact, views, recent_events(self.session.state)

    def redraw(self) -> None:
        """Redraw every pane from the state folded from the incident's events."""
        from .widgets.exercise_bar import ExerciseBar

        screen = self.main
        impact = self.session.impact()
        views = checklists(self.session.state, self.engine, impact)
        screen.query_one(ComponentsPane).show(impact)
        screen.query_one(ImpactPane).show(impact, recent_events(self.session.state))
        screen.query_one(ChecklistsPane).show(views)
        screen.query_one(IncidentHeader).show(self.session.state, views, impact.worst)
        # The countdowns follow the marks at once (not up to a second later, at the next tick).
        timers = self.watched_timers()
        if timers is not None:
            self.show_timers(timers)
        if self.exercise is not None:
            prog = self.exercise_progress()
            screen.query_one(ExerciseBar).show(prog, prog.clock.now(self.exercise.clocks.wall()))

    def poll_store(self) -> None:
        """Fold what other processes appended (alert hooks, a colleague's CLI), in the worker."""
        if self.jobs.pending["poll"]:  # one at a time: a busy store must not pile them up,
            self.read_again = True  # but what changed after that one's read is read next
            return
        self.act(
            lambda session: None,
            kind="poll",
            failed=lambda exc: f"Could not read the incident store: {exc}",
        )

    # -----------------------------------------------------------------------------------------
    # Live: the others' changes, presence, an unreachable store (see live)

    def start_watch(self) -> None:
        """(Re)start the watch worker; a running one is cancelled and ends within a tick."""
        store = self.workspace.store
        self.run_worker(
            lambda: follow_store(store, self.post_message),
            name="store watch",
            group="watch",
            thread=True,
            exclusive=True,
        )

    @on(StoreChanged)
    def _store_changed(self, message: StoreChanged) -> None:
        change = message.change
        if change.incident not in (None, self.session.id) or not self.link.reachable:
            return
        if not change.presence:
            self.poll_store()
        if change.presence or change.incident is None:
            self.read_presence(beat=False)

    @on(WatchEnded)
    def _watch_ended(self, message: WatchEnded) -> None:
        self.store_lost()

    def keep_live(self) -> None:
        """Every second: try an unreachable store again when due; say we are here when due."""
        if not self.link.reachable:
            if self.link.due() and not self.jobs.pending["reconnect"]:
                self.act(lambda session: None, self.store_back, kind="reconnect")
        elif self.heartbeat.due():
            self.read_presence(beat=True)

    def read_presence(self, beat: bool) -> None:
        """Say we have the incident open (`beat`), then read who has; shown in the header."""
        if self.jobs.pending["presence"]:
            # A change: read again after it. A beat: it stays due and comes next second.
            self.presence_again = self.presence_again or not beat
            return
        store, incident, who, session = (
            self.workspace.store,
            self.session.id,
            self.who,
            self.presence_session,
        )
        at = self.clocks.wall()

        def call() -> list[Presence]:
            if beat:
                store.heartbeat(incident, who, session, at)
            return store.present(incident, at)

        def done(present: list[Presence]) -> None:
            if incident == self.session.id and self.showing:
                self.main.query_one(IncidentHeader).present = present_names(present, session)

        if beat:
            self.heartbeat.beat()
        self.jobs.submit(
            Job(incident, self.engine, call=call, done=done, kind="presence", failed=lambda _: "")
        )

    def leave_incident(self, incident: str) -> None:
        """This app no longer has `incident` open: the others' headers drop it at once."""
        if self.link.reachable:
            store, session = self.workspace.store, self.presence_session
            self.jobs.submit(
                Job(
                    incident,
                    self.engine,
                    call=lambda: store.leave(incident, session),
                    kind="presence",
                    failed=lambda _: "",
                )
            )

    def store_lost(self) -> None:
        """The store did not answer: say so in red, refuse actions, try again with backoff."""
        was = self.link.reachable
        self.link.lost()
        if was:
            self.workers.cancel_group(self, "watch")
        if self.showing:
            header = self.main.query_one(IncidentHeader)
            header.unreachable = True
            header.present = ()  # who else is here is not known any more

    def store_back(self, _result: object) -> None:
        """A read went through again: live again; the writes left in doubt run first."""
        if self.link.reachable:
            return
        again = self.link.back()
        for job in again:
            self.jobs.submit(job)
        self.show_saving()
        if self.showing:
            self.main.query_one(IncidentHeader).unreachable = False
        self.start_watch()
        self.heartbeat.reset()
        self.keep_live()
        self.notify(
            "The incident store is reachable again"
            + (
                f": recording the {len(again)} action(s) made when it went (once)."
                if again
                else "."
            ),
            timeout=8,
        )

    def refused_offline(self) -> None:
        self.notify(
            "Not recorded — the incident store is unreachable. Trying again "
            + (f"in {self.link.retry_in()} s" if self.link.retry_in() else "now")
            + "; act again once the header no longer says so.",
            severity="error",
            timeout=8,
        )

    # -----------------------------------------------------------------------------------------
    # The store worker

    def act(
        self,
        run: Callable[[IncidentSession], Any],
        done: Callable[[Any], None] | None = None,
        *,
        kind: str = "write",
        failed: Callable[[Exception], str] = not_recorded,
    ) -> None:
        """Run `run` on the open incident in the store worker, after every call made before it.
        The screen changes when it is stored; `done` then gets its result. On an error (a store
        busy past its timeout, a UserError) a toast says so and nothing changes. While the
        store is unreachable, actions are refused with a toast (timers and injects wait)."""
        if not self.link.reachable and kind not in UPKEEP:
            if kind in ("write", "read"):
                self.refused_offline()
            return
        session = self.session
        self.jobs.submit(
            Job(
                session.id,
                session.engine,
                run=run,
                done=done,
                kind=kind,
                failed=failed,
                since=session.state.last_seq,
            )
        )
        self.show_saving()

    def in_store_worker(
        self, call: Callable[[], Any], done: Callable[[Any], None], *, kind: str = "read"
    ) -> None:
        """A store call about no one incident (list, open or start incidents), in the worker."""
        if not self.link.reachable:
            self.refused_offline()
            return
        self.jobs.submit(Job(self.session.id, self.engine, call=call, done=done, kind=kind))
        self.show_saving()

    async def store_settled(self) -> None:
        """Wait (without blocking the screen) until every store call made so far is done."""
        workers = [w for w in self.workers if w.group == "store"]
        if workers:  # (an empty list would mean every worker to wait_for_complete)
            await self.workers.wait_for_complete(workers)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        """A store call is done: fold the stored events, redraw, then hand over its result."""
        job = message.job
        self.jobs.finished(job)
        if not self.screen_stack:
            return  # the app is closing and its screens are gone; the store has the events
        self.show_saving()
        session = self.session
        if job.incident == session.id and job.engine is session.engine:
            new = [e for e in message.events if e.seq > session.state.last_seq]
            for event in new:
                session.state.apply(event, session.engine)
            if new and self.showing:
                self.redraw()
                self.after_events()
        if job.kind == "poll" and self.read_again and self.link.reachable:
            self.read_again = False
            self.poll_store()
        if job.kind == "presence" and self.presence_again and self.link.reachable:
            self.presence_again = False
            self.read_presence(beat=False)
        if isinstance(message.error, StoreUnreachable):
            self.store_lost()
            if job.kind == "write":
                self.link.in_doubt.append(job)  # run again, in its own scope, once it is back
            if job.kind in ("write", "read"):
                self.notify(
                    "Not recorded yet — the incident store is unreachable. "
                    + (
                        "It is recorded once (never twice) when the store is back."
                        if job.kind == "write"
                        else "Try again once the header no longer says so."
                    ),
                    severity="error",
                    timeout=12,
                )
            return
        if message.error is not None:
            text = job.failed(message.error)
            if text:
                timeout = 8 if isinstance(message.error, UserError) else 12
                self.notify(text, severity="error", timeout=timeout)
        elif job.done is not None:
            job.done(message.result)

    def show_saving(self) -> None:
        """Say "saving…" in the header once a write has waited SAVING_AFTER seconds."""
        if not self.jobs.saving:
            if self.saving_timer is not None:
                self.saving_timer.stop()
                self.saving_timer = None
            self.set_saving(False)
        elif self.saving_timer is None:
            self.saving_timer = self.set_timer(self.SAVING_AFTER, self._still_saving)

    def _still_saving(self) -> None:
        self.saving_timer = None
        self.set_saving(self.jobs.saving)

    def set_saving(self, saving: bool) -> None:
        if self.showing:
            self.main.query_one(IncidentHeader).saving = saving

    def after_events(self) -> None:
        """New events are stored: hand them to the chat notifier (it never blocks)."""
        if self.notifier is not None:
            self.notifier.submit(self.session.state)

    def start_notifier(self) -> None:
        if self.notifier is not None:
            self.notifier.close(timeout=0.5)
        # Chat updates are opt-in per incident (a `chat` event); the notifier stays idle until
        # then. A read-only session has none (the workspace gives it no secrets).
        self.notifier = self.workspace.chat_notifier(self.engine, self.session.id)
        if self.notifier is not None:
            self.notifier.start(self.session.state)

    def on_unmount(self) -> None:
        if self.notifier is not None:
            self.notifier.close(timeout=2.0)

    def every_second(self) -> None:
        """Escalation countdowns, expired timers (recorded once, in the worker), the chat line,
        presence and reconnecting."""
        if not self.showing:
            return
        self.keep_live()
        self.warn_if_clock_behind()
        timers = self.watched_timers()
        if timers is None:
            return
        due = {timer_key(t) for t in timers if t.due}
        # A read-only session leaves recording expiries to the operators' sessions.
        if due and not self.jobs.pending["timers"] and not self.workspace.read_only:
            self.act(
                lambda session: record_confirmed(session, due),
                self.timers_recorded,
                kind="timers",
                failed=lambda exc: f"Escalation timers: {exc}",
            )
        self.show_timers(timers)

    def watched_timers(self) -> list | None:
        """The open incident's timers as this process watched them (None: shown as an error)."""
        if self.timer_watch is None:
            self.timer_watch = TimerWatch(self.clocks)
        try:
            return self.timer_watch.timers(
                self.session.state, self.engine, incident=self.session.id
            )
        except UserError as exc:
            self.notify(f"Escalation timers: {exc}", severity="error")
            return None

    def timers_recorded(self, events: list) -> None:
        support = self.engine.estate.support
        for event in events:
            self.notify(
                f"{event.data['instance']} is not recovered after its escalate_after: call {support.vendor} support ({support.contact}).",
                title="⏰ Escalate now",
                severity="error",
                timeout=30,
            )
        timers = self.watched_timers()
        if timers is not None:
            self.show_timers(timers)

    def show_timers(self, timers: list) -> None:
        """Countdowns on the checklists and the nearest one (and the chat status) in the header."""
        texts = {t.instance: countdown(t.remaining_seconds) for t in timers}
        screen = self.main
        screen.query_one(ChecklistsPane).show_timers(texts)
        status = []
        if timers:
            nearest = min(timers, key=lambda t: t.remaining_seconds)
            status.append(f"{countdown(nearest.remaining_seconds)} {nearest.instance}")
        if self.notifier is not None and self.notifier.status.line:
            status.append(self.notifier.status.line)
        header = screen.query_one(IncidentHeader)
        header.status = " · ".join(status)
        header.tick()

    def warn_if_clock_behind(self) -> None:
        """Say once per incident when the system clock reads earlier than its last event, rather
        than let times and countdowns look like nonsense without a word."""
        state = self.session.state
        if state.id in self.clock_warned or state.closed:
            return
        warning = behind_warning(state.last_at, self.clocks.wall())
        if warning:
            self.clock_warned.add(state.id)
            self.notify(warning, title="Clock", severity="warning", timeout=20)

    # -----------------------------------------------------------------------------------------
    # Components

    def toggle_component(self, cid: str) -> None:
        self.act(lambda session: session.toggle(cid))

    @on(ComponentTree.ToggleRequested)
    def _toggle(self, event: ComponentTree.ToggleRequested) -> None:
        self.toggle_component(event.component)

    # -----------------------------------------------------------------------------------------
    # Checklists

    @on(StepTree.StepAction)
    def _step(self, event: StepTree.StepAction) -> None:
        from .screens.prompt import PromptScreen

        ref, action = event.view.ref, event.action
        if action not in STEP_PROMPTS:
            self.act(lambda session: session.set_step(ref, action, ""))
            return
        question, required = STEP_PROMPTS[action]
        if action == "escalate" and not event.view.step.escalation:
            question = (
                "Not a runbook escalation point, but you may still call Tetrate support. "
                + question
            )
        pane = self.main.query_one(ChecklistsPane)
        question = f"Step “{pane.fill(event.view, event.view.step.title)}”: {question}"

        def answered(note: str | None) -> None:
            if note is None:
                return
            if (
                action == "escalate"
            ):  # any step may be escalated; 🆘 marks where the runbook says so
                self.act(lambda session: session.raise_escalation(ref, note), self.escalated)
            else:
                self.act(lambda session: session.set_step(ref, action, note))

        self.push_screen(PromptScreen(question, required=required), answered)

    @on(StepTree.ClaimToggled)
    def _claim(self, event: StepTree.ClaimToggled) -> None:
        """`w`: claim the step; release it when it is ours; ask before taking over someone
        else's. Whoever claimed it meanwhile (the screen did not show it yet) is named in a
        toast, and nothing is recorded."""
        view = event.view
        ref, claim = view.ref, view.state.claim
        try:
            me = current_actor()
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return

        def failed(exc: Exception) -> str:
            if isinstance(exc, ClaimedByOther):
                return f"Not claimed: {exc.message}. w again asks to take it over."
            return not_recorded(exc)

        if claim is None:
            self.act(lambda session: session.claim(ref), failed=failed)
        elif claim.by == me:
            self.act(lambda session: session.release(ref), failed=failed)
        else:
            from .screens.confirm import ConfirmScreen

            pane = self.main.query_one(ChecklistsPane)
            title = pane.fill(view, view.step.title)

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.act(lambda session: session.claim(ref, take=True))

            self.push_screen(
                ConfirmScreen(
                    f"“{title}” is {in_progress(view.state)} (since {claim.at:%H:%M:%S} UTC). "
                    "Take it over? They see it as yours from then on."
                ),
                confirmed,
            )

    def escalated(self, _event: object) -> None:
        support = self.engine.estate.support
        self.notify(
            f"Escalation recorded. {support.vendor}: {support.contact}"
            + (f" (account {support.account})" if support.account else ""),
            timeout=10,
        )

    @on(StepTree.CopyRequested)
    def _copy(self, event: StepTree.CopyRequested) -> None:
        self.copy_text(event.text, "Command")

    def copy_text(self, text: str, what: str, before: str = "") -> None:
        """Copy to the terminal's clipboard (OSC 52, on this thread: it writes to the terminal)
        and, under tmux, into tmux's buffer in a worker; one toast (`before` + what was done)
        says which of them happened."""
        from .clipboard import Copied, under_tmux

        self.copy_to_clipboard(text)
        if under_tmux():
            self.load_tmux_buffer(text, what, before)
        else:
            self.notify(before + Copied().message(what), timeout=8)

    @work(thread=True, group="clipboard")
    def load_tmux_buffer(self, text: str, what: str, before: str) -> None:
        """`tmux load-buffer` off the UI thread, bounded by the clipboard module's timeout."""
        from .clipboard import tmux_load_buffer

        copied = tmux_load_buffer(text)
        severity = "information" if copied.tmux else "warning"
        self.call_from_thread(
            self.notify, before + copied.message(what), severity=severity, timeout=8
        )

    @on(StepTree.PhaseToggled)
    def _phase(self) -> None:
        self.main.query_one(ChecklistsPane).toggle_phase()

    def jump_to_scenario(self, instance: str) -> None:
        screen = self.main
        screen.action_pane(2)
        if not screen.query_one(ChecklistsPane).jump_to(instance):
            pane = screen.query_one(ChecklistsPane)
            pane.toggle_phase()
            pane.jump_to(instance)

    # -----------------------------------------------------------------------------------------
    # App-wide actions

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_note(self) -> None:
        from .screens.prompt import PromptScreen

        pane = self.main.query_one(ChecklistsPane)
        view = pane.tree_view.current_step() if self.main.current == 2 else None
        target = f"step “{pane.fill(view, view.step.title)}”" if view else "the incident"
        ref = view.ref if view else None

        def answered(text: str | None) -> None:
            if text:
                self.act(lambda session: session.add_note(text, ref))

        self.push_screen(
            PromptScreen(f"Note on {target}:", "what you did, saw or decided"), answered
        )

    def action_long_note(self) -> None:
        """A note written in `$EDITOR` (the app steps aside meanwhile), on the highlighted step
        or the incident; what was saved is stored, an empty file records nothing."""
        from .editor import edit_note

        pane = self.main.query_one(ChecklistsPane)
        view = pane.tree_view.current_step() if self.main.current == 2 else None
        ref = view.ref if view else None
        target = f"step “{pane.fill(view, view.step.title)}”" if view else "the incident"
        try:
            with self.suspend():
                text = edit_note(target)
        except SuspendNotSupported:
            self.notify("This terminal cannot hand over to an editor: n writes a note here.")
            return
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        if text:
            self.act(lambda session: session.add_note(text, ref))
        else:
            self.notify("The note was empty: nothing recorded.")

    def action_rename(self) -> None:
        """Retitle the incident (a `renamed` event: the timeline keeps the old title)."""
        from .screens.prompt import PromptScreen

        def answered(title: str | None) -> None:
            if title:
                self.act(
                    lambda session: self.workspace.rename(session, title),
                    lambda event: self.notify(
                        f"Renamed to “{self.session.state.title}”"
                        if event
                        else "The title is unchanged."
                    ),
                )

        self.push_screen(
            PromptScreen(
                f"New title for {self.session.id} (now “{self.session.state.title}”):",
                "a few words on what is happening",
            ),
            answered,
        )

    def action_close_incident(self) -> None:
        """Close the open incident after a confirmation (it then takes no more changes)."""
        from .screens.confirm import ConfirmScreen

        session = self.session
        if session.state.closed:
            self.notify(f"{session.id} is already closed.")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act(
                    lambda session: self.workspace.close_incident(session),
                    lambda _event: self.notify(
                        f"{session.id} closed. i switches to another incident or starts one."
                    ),
                )

        self.push_screen(
            ConfirmScreen(
                f"Close {session.id} “{session.state.title}”? A closed incident takes no more "
                "changes (marks, steps, notes)."
            ),
            confirmed,
        )

    def action_export(self) -> None:
        self.write_export(f"{self.session.id}.md", self.workspace.export_markdown)

    def write_export(self, name: str, render: Callable[[IncidentSession], str]) -> None:
        """Render and write a Markdown file into the export folder, and say where. In the
        worker: `render` gets the incident with everything stored so far. In a browser (the
        war-room view) the file goes to the visitor as a download, not onto the server."""
        if self.is_web:
            self.act(
                render,
                lambda text: self.download(name, text),
                kind="read",
                failed=lambda exc: f"Export failed: {exc}",
            )
            return
        self.act(
            lambda session: self.workspace.write_export(name, render(session)),  # never replaces
            lambda path: self.notify(f"Exported to {path}", timeout=8),
            kind="read",
            failed=lambda exc: f"Export failed: {exc}",
        )

    def download(self, name: str, text: str) -> None:
        """Hand `text` to the browser as the file `name` (App.deliver_text)."""
        self.deliver_text(io.StringIO(text), save_filename=name, mime_type="text/markdown")
        self.notify(f"{name}: sent to your browser as a download", timeout=8)

    def action_incidents(self) -> None:
        self.in_store_worker(
            lambda: self.workspace.summaries(include_closed=False), self.choose_incident
        )

    def choose_incident(self, incidents: list) -> None:
        from .screens.incidents import IncidentsScreen

        estate_file = self.session.state.meta.get("estate_file")

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is None:
                return
            what, value = answer
            if what == "open":
                self.in_store_worker(lambda: self.workspace.open(value), self.switch_session)
            else:
                self.in_store_worker(
                    lambda: self.workspace.start(value, estate_file),
                    self.switch_session,
                    kind="write",
                )

        self.push_screen(IncidentsScreen(incidents, self.session.id), chosen)

    def switch_session(self, session: IncidentSession) -> None:
        same_estate = session.engine is self.session.engine
        if session.id != self.session.id:
            self.leave_incident(self.session.id)
            self.heartbeat.reset()
        self.session = session
        self.keep_live()
        self.start_notifier()
        if same_estate:
            self.redraw()
            self.notify(f"Now on {session.id}: {session.state.title}")
        else:
            # Another estate: another component tree and matrix; rebuild the screen.
            self.switch_screen(MainScreen(self))
            self.call_after_refresh(self.redraw)

    def action_brief(self) -> None:
        """The Tetrate support case brief: onto the clipboard and into the export folder."""
        name = f"{self.session.id}-brief.md"

        def brief(session: IncidentSession) -> tuple[str, str]:
            text = self.workspace.support_brief(session)
            if self.is_web:  # the visitor's download, not a file on the server
                return text, ""
            return text, self.workspace.write_export(name, text)

        def written(result: tuple[str, str]) -> None:
            text, path = result
            if not path:
                self.download(name, text)
                return
            self.copy_text(text, "Brief", f"Support brief written to {path}. ")

        self.act(brief, written, kind="read", failed=lambda exc: f"Export failed: {exc}")

    def set_chat(self, enabled: bool) -> None:
        self.act(
            lambda session: self.workspace.set_chat(session, enabled),
            lambda _event: self.notify(
                "Chat updates " + ("on: status changes go to the webhook" if enabled else "off")
            ),
        )

    def action_probe(self) -> None:
        self.notify("Probing the management plane…", timeout=3)
        self.run_probe()

    @work(thread=True, exclusive=True, group="probe")
    def run_probe(self) -> None:
        """Call the status endpoint off the UI thread; the answer is only a suggestion."""
        try:
            result = self.workspace.probe(
                self.engine.estate, self.engine, list(self.session.state.down)
            )
        except UserError as exc:
            self.call_from_thread(self.notify, f"Probe: {exc}", severity="error", timeout=10)
            return
        self.call_from_thread(self.probe_answered, result)

    def probe_answered(self, result) -> None:
        from .screens.confirm import ConfirmScreen

        severity = "information" if result.ok else "warning"
        self.notify(
            f"{result.verdict}: {result.message} ({result.latency * 1000:.0f} ms)",
            title="Probe",
            severity=severity,
            timeout=10,
        )
        suggestion = result.suggestion
        if not suggestion.action:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                direction, components = suggestion.action, list(suggestion.components)
                self.act(lambda session: self.workspace.mark(session, direction, components))

        self.push_screen(ConfirmScreen(f"The probe suggests: {suggestion.text}"), confirmed)

    # -----------------------------------------------------------------------------------------
    # Exercise mode: the clock, injects, predictions, the after-action report

    def exercise_progress(self) -> Progress:
        """The run's progress, replayed from the log only when the log changed (the tick looks
        four times a second). What the screen shows of it depends on the time only through its
        clock, read here from the clock events."""
        assert self.exercise is not None
        state = self.session.state
        log = (state.id, state.last_seq, len(state.timeline))
        if self.progress_of is None or self.progress_of[0] != log:
            self.progress_of = (log, self.exercise.progress())
        return self.progress_of[1]

    def exercise_tick(self) -> None:
        """Move the facilitator's clock on the screen; fire the injects that came due."""
        from .widgets.exercise_bar import ExerciseBar

        run = self.exercise
        if run is None or run.finished or not self.showing:
            return
        bars = self.main.query(ExerciseBar)
        if not bars:
            return
        prog = self.exercise_progress()
        now = prog.clock.now(run.clocks.wall())
        if prog.due(now) and not self.jobs.pending["inject"]:
            self.fire_injects(lambda exercise: exercise.fire_due())
        for bar in bars:
            bar.show(prog, now)

    def on_run(self, act: Callable[[ExerciseRun], Any]) -> Callable[[IncidentSession], Any]:
        """`act` on the exercise run, in the worker: the run over the worker's session."""
        from ..domain.exercise_run import ExerciseRun

        run = self.exercise
        assert run is not None
        return lambda session: act(ExerciseRun(session, run.exercise, run.clocks))

    def fire_injects(self, fire: Callable[[ExerciseRun], list]) -> None:
        """Fire injects (by the clock or by a jump); then show them and ask their predictions
        (the dialog covers the screen the inject has just changed: see PredictionScreen)."""

        def failed(exc: Exception) -> str:
            if isinstance(exc, UserError):
                return str(exc)
            return f"Inject not recorded — the store failed: {exc}"

        self.act(self.on_run(fire), self.injects_fired, kind="inject", failed=failed)

    def injects_fired(self, fired: list) -> None:
        for inject in fired:
            self.notify(inject.message, title=f"Inject {inject.id}", severity="warning", timeout=20)
            if inject.question:
                self.pending_predictions.append(inject.id)
        self.ask_next_prediction()

    def prediction_screen(self, inject_id: str) -> PredictionScreen:
        from .screens.prediction import PredictionScreen

        assert self.exercise is not None
        inject = self.exercise.exercise.inject(inject_id)
        return PredictionScreen(
            inject.id, inject.question or "", inject.message, self.engine.pack.graph.operations
        )

    def ask_next_prediction(self) -> None:
        """Open the next waiting question, over whatever is open (another dialog is
        see-through; this one is not); one prediction dialog at a time."""
        from .screens.prediction import PredictionScreen

        if not self.pending_predictions or self.exercise is None:
            return
        if any(isinstance(s, PredictionScreen) for s in self.screen_stack):
            return  # the next one follows when this one closes
        self.push_screen(self.prediction_screen(self.pending_predictions.pop(0)))

    def on_prediction_screen_made(self, event: PredictionScreen.Made) -> None:
        from .screens.prediction import PredictionScreen

        if self.exercise is None:
            return
        inject_id, levels = event.inject_id, event.levels

        def reveal(_result: object) -> None:
            score = next(p for p in self.exercise_progress().predictions if p.inject == inject_id)
            screen = self.screen
            if isinstance(screen, PredictionScreen) and screen.inject_id == inject_id:
                screen.reveal(score.actual)

        def failed(exc: Exception) -> str:
            screen = self.screen
            if isinstance(screen, PredictionScreen) and screen.inject_id == inject_id:
                screen.not_locked()
            return not_recorded(exc)

        self.act(self.on_run(lambda run: run.predict(inject_id, levels)), reveal, failed=failed)

    def on_prediction_screen_done(self, event: PredictionScreen.Done) -> None:
        """Close the dialog (left unanswered: say so in the run); the next waiting question
        replaces it directly, so the main screen never shows in between."""
        from .screens.prediction import PredictionScreen

        screen = self.screen
        if not isinstance(screen, PredictionScreen) or screen.inject_id != event.inject_id:
            return  # a second enter on a dialog already closing
        if not event.answered and self.exercise is not None:
            inject_id = event.inject_id
            self.act(
                self.on_run(lambda run: run.skip(inject_id)),
                lambda _result: self.notify(
                    f"Prediction for {inject_id} left for later: a answers it."
                ),
            )
        waiting = [i for i in self.pending_predictions if i != event.inject_id]
        self.pending_predictions = waiting[1:]
        if waiting:
            self.switch_screen(self.prediction_screen(waiting[0]))
        else:
            self.pop_screen()

    def action_answer_later(self, inject_id: str | None = None) -> None:
        """Answer a question left unanswered (esc, a quit, a crash): the oldest, or `inject_id`."""
        from .screens.prediction import PredictionScreen

        run = self.exercise
        if run is None or any(isinstance(s, PredictionScreen) for s in self.screen_stack):
            return
        if run.finished:
            self.notify(f"Run {run.session.id} is finished: its questions stay as they are.")
            return
        waiting = [q.inject for q in run.unanswered()]
        if not waiting:
            self.notify("No prediction is waiting for an answer.")
            return
        target = inject_id if inject_id in waiting else waiting[0]
        if target in self.pending_predictions:
            self.pending_predictions.remove(target)
        self.push_screen(self.prediction_screen(target))

    def action_finish(self) -> None:
        """Finish the run after a confirmation: the clock stops, the run is closed."""
        from .screens.confirm import ConfirmScreen

        run = self.exercise
        if run is None:
            return
        if run.finished:
            self.notify(f"Run {run.session.id} is already finished; R writes its report.")
            return

        def finished(_result: object) -> None:
            at = offset(run.now())
            self.notify(f"Run {run.session.id} finished at {at}. R writes its report.")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act(self.on_run(lambda run: run.finish()), finished)

        self.push_screen(
            ConfirmScreen(
                f"Finish exercise run {run.session.id} at {offset(run.now())}? The clock stops "
                "and the run is closed: no more injects, predictions or steps."
            ),
            confirmed,
        )

    async def action_quit(self) -> None:
        """Quitting while the exercise clock runs pauses it at the exact offset, so the next
        `exercise run` resumes from there (README: the clock after a restart). The others'
        headers drop this app at once rather than when its heartbeat expires."""
        self.leave_incident(self.session.id)
        if self.exercise is not None:
            # After every call made before it; nothing to show on the way out if it fails: the
            # resume pauses the clock where it stood.
            self.act(self.on_run(lambda run: run.leave()), failed=lambda exc: "")
        await self.store_settled()  # the leave (and what was queued before it) is done
        if self.exercise is not None:
            # The worker is idle: fold what it stored, as its message will not be read.
            with contextlib.suppress(UserError, OSError):
                self.session.refresh()
        await super().action_quit()

    def action_clock(self) -> None:
        if self.exercise is not None:
            self.act(self.on_run(lambda run: run.toggle()))

    def action_next_inject(self) -> None:
        if self.exercise is not None:
            self.fire_injects(lambda run: run.jump_to_next())

    def action_speed(self, factor: float) -> None:
        """Faster or slower, from the speed as stored (rapid presses each count)."""
        if self.exercise is not None:
            self.act(
                self.on_run(
                    lambda run: run.set_speed(min(600.0, max(0.125, run.clock.speed * factor)))
                )
            )

    def action_gap_note(self) -> None:
        from .screens.prompt import PromptScreen

        pane = self.main.query_one(ChecklistsPane)
        view = pane.tree_view.current_step() if self.main.current == 2 else None
        ref = view.ref if view else None

        def answered(text: str | None) -> None:
            if text:
                self.act(lambda session: session.add_note(text, ref, True))

        self.push_screen(
            PromptScreen(
                "Runbook gap — what is missing or wrong in the runbook?",
                "it goes to the report's runbook gaps",
            ),
            answered,
        )

    def action_report(self) -> None:
        from ..domain.exercise_run import ExerciseRun

        run = self.exercise
        if run is None:
            return
        self.write_export(
            f"{self.session.id}-report.md",
            lambda session: self.workspace.exercise_report(
                session, ExerciseRun(session, run.exercise, run.clocks)
            ),
        )
