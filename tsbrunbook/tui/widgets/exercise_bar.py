"""The facilitator's line in exercise mode: clock, next inject, score so far."""

from __future__ import annotations

from ...domain.exercise_run import Progress
from ...domain.timefmt import offset
from ..shown import ShownStatic
from ..shown import ShownText as Text  # Text: strings are sanitised as they are added


class ExerciseBar(ShownStatic):
    MULTILINE = False
    DEFAULT_CSS = """
    ExerciseBar { height: 1; background: $boost; padding: 0 1; }
    """

    def show(self, prog: Progress, now: float) -> None:
        clock = prog.clock
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("EXERCISE ", style="bold reverse")
        at, planned = offset(now), offset(prog.exercise.duration)
        if prog.finished_at is not None:
            state = f"■ finished at {at} / {planned}"
        elif clock.running:
            state = f"▶ running {at} / {planned}"
        elif clock.started:
            state = f"⏸ paused at {at} / {planned} — p resumes"
        else:
            state = f"■ not started {at} / {planned} — p starts"
        text.append(f" clock {state}")
        if clock.speed != 1.0:
            text.append(f" ×{clock.speed:g}", style="bold")
        nxt = prog.next_inject()
        if nxt is not None:
            text.append(
                f"  next: {nxt.id} at {offset(nxt.at)} (in {offset(max(0.0, nxt.at - now))})",
                style="dim",
            )
        else:
            text.append("  all injects fired", style="dim")
        if prog.unanswered:
            text.append(f"  {len(prog.unanswered)} not answered (a)", style="bold")
        got, total = prog.points
        score = prog.prediction_score
        text.append(
            f"  predictions {'—' if score is None else f'{score * 100:.0f}%'} · points {got}/{total}",
            style="dim",
        )
        self.update(text)
