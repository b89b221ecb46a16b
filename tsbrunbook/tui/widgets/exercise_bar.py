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
        state = (
            "▶ running"
            if clock.running
            else ("⏸ paused" if clock.started else "■ not started (p starts)")
        )
        text.append(f" clock {offset(now)} / {offset(prog.exercise.duration)} {state}")
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
        got, total = prog.points
        score = prog.prediction_score
        text.append(
            f"  predictions {'—' if score is None else f'{score * 100:.0f}%'} · points {got}/{total}",
            style="dim",
        )
        self.update(text)
