"""Recording, in the store worker, the escalation expiries the app's TimerWatch confirmed.

The watch lives on the UI thread (it is read every second); the worker must not share it. It gets
the watch's verdict instead: exactly the expiries confirmed there are due, as long as the stored
state still shows them running and unrecorded (re-decided on every conflict with other writers)."""

from __future__ import annotations

from dataclasses import replace

from ..domain.escalation import Timer, TimerWatch, escalation_timers, record_expired_timers
from ..domain.impact import Impact, ImpactEngine
from ..domain.incident import Event, IncidentSession, IncidentState

TimerKey = tuple[str, int]  # (scenario instance, seq of the event that made it match)


def timer_key(timer: Timer) -> TimerKey:
    return timer.instance, timer.matched_seq


class ConfirmedExpiries(TimerWatch):
    """A watch whose judgement was made elsewhere: the timers in `confirmed` are expired."""

    def __init__(self, confirmed: set[TimerKey]) -> None:
        super().__init__()
        self.confirmed = confirmed

    def timers(
        self,
        state: IncidentState,
        engine: ImpactEngine,
        impact: Impact | None = None,
        incident: str = "",
    ) -> list[Timer]:
        return [
            replace(t, expired=True, confirmed=True)
            if timer_key(t) in self.confirmed
            else replace(t, confirmed=False)
            for t in escalation_timers(state, engine, impact, now=state.last_at)
        ]


def record_confirmed(session: IncidentSession, confirmed: set[TimerKey]) -> list[Event]:
    """Record one `timer-expired` event per confirmed expiry that is still due in the store."""
    return record_expired_timers(session, watch=ConfirmedExpiries(confirmed))
