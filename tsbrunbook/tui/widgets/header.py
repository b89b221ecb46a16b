"""Incident title, elapsed time and the counts that matter at a glance."""

from __future__ import annotations

from textual.reactive import reactive

from ...domain.incident import ChecklistView, IncidentState, utcnow
from ...domain.model import Level
from ..glyphs import level_glyph
from ..shown import ShownStatic, fit_label
from ..shown import ShownText as Text  # Text: strings are sanitised as they are added


def elapsed_text(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


# Words in the status that call for the eye: an overdue escalation, a chat delivery that is
# stalled, being retried or was given up on (see NotifierStatus.line).
ATTENTION = (" over", "retrying in", "no answer for", " failed")


def _needs_attention(status: str) -> bool:
    return any(word in status for word in ATTENTION)


class IncidentHeader(ShownStatic):
    DEFAULT_CSS = """
    IncidentHeader { height: 1; background: $panel; padding: 0 1; }
    """

    MULTILINE = False  # one line: a title or an error with line breaks must not push the rest away
    saving: reactive[bool] = reactive(False)  # a write is waiting for the store (set by the app)
    # The store cannot be reached: nothing can be recorded until it is back (set by the app).
    unreachable: reactive[bool] = reactive(False)
    # Who has the incident open, when anyone besides this app has (set by the app).
    present: reactive[tuple[str, ...]] = reactive(())

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state: IncidentState | None = None
        self.counts = ""
        self.status = ""  # escalation countdown, chat delivery: set by the app every second
        self.worst = Level.OK

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def watch_saving(self) -> None:
        self.tick()

    def watch_unreachable(self) -> None:
        self.tick()

    def watch_present(self) -> None:
        self.tick()

    def on_resize(self) -> None:
        self.tick()

    def show(self, state: IncidentState, views: list[ChecklistView], worst: Level) -> None:
        self.state = state
        steps = [s for v in views for s in v.steps]
        done = sum(1 for s in steps if s.state.state == "done")
        points = [s for s in steps if s.step.escalation]
        raised = sum(1 for s in points if s.state.escalated)
        self.counts = (
            f"down {len(state.down)} · steps {done}/{len(steps)} · 🆘 {raised}/{len(points)}"
        )
        self.worst = worst
        self.tick()

    def tick(self) -> None:
        state = self.state
        if state is None:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{level_glyph(self.worst)} ")
        kind = "EXERCISE " if state.kind == "exercise" else ""
        text.append(f"{kind}{state.id}", style="bold")
        clock = getattr(self.app, "clock", utcnow)
        text.append(f"  T+{elapsed_text(state.elapsed(clock()))}")
        if state.closed:
            text.append(" (closed)", style="dim")
        if self.unreachable:  # first of all: at 80 columns the end of the line is cut
            text.append("  not recorded — store unreachable", style="bold $error")
        # The counts before the title: at 80 columns the title is what gets cut.
        text.append(f"  {self.counts}", style="dim")
        if self.present:
            text.append(f"  here: {', '.join(self.present)}", style="bold")
        if self.status:
            text.append(
                f"  {self.status}",
                style="bold $warning" if _needs_attention(self.status) else "dim",
            )
        if self.saving and not self.unreachable:
            text.append("  saving…", style="bold $warning")
        # The title gets what is left, cut after a whole word; none when not even a word fits.
        room = self.content_region.width - text.cell_len - 2
        if room >= 8:
            title = fit_label(Text(state.title, style="bold"), room, keep_marks=False)
            text.append("  ")
            text.append_text(title)
        self.update(text)
