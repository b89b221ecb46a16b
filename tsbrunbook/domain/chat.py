"""Incident updates for chat, as text: which events are posted, and the message for each. Pure:
no I/O and no threads (delivery is integrations.notify's).

- **Opt-in per incident.** A `chat` event (`{"enabled": true}`) turns updates on for one
  incident and `{"enabled": false}` off again (`tsbrunbook incident chat ID on|off`, or
  `set_chat()`); it is part of the incident's record like every other action.
- **What is posted.** Status changes only: components marked down or up, scenarios that recovered
  (an instance stopped matching and its component is no longer down), escalations raised,
  escalation timers that passed, the incident closed, and updates switched on or off. Notes and
  step outcomes stay in the incident: chat is a broadcast, not the record. The words for each
  event come from the one event-text table (domain.event_text); what is said here is the state
  around it: the scenarios that started or stopped matching, what is still down.
"""

from __future__ import annotations

from datetime import datetime

from .event_text import MAX_CHAT_NAMES, TextContext, event_text, names
from .events import Chat, Down, EventType, Renamed, Started, Up
from .impact import ImpactEngine
from .incident import Event, IncidentSession, IncidentState, assessable

MAX_MESSAGE = 600


def chat_enabled(state: IncidentState) -> bool:
    """Whether chat updates are on for this incident (the last `chat` event says so)."""
    enabled = False
    for event in state.timeline:
        if isinstance(event.payload, Chat):
            enabled = event.payload.enabled
    return enabled


def set_chat(session: IncidentSession, enabled: bool) -> Event | None:
    """Record that chat updates are switched on or off; None if they already were."""
    return session.record_if_changed(
        lambda state: None if chat_enabled(state) == enabled else Chat(enabled=enabled)
    )


def slack_text(text: str) -> str:
    """One line, control characters removed, `&<>` escaped as Slack requires, length capped."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(cleaned) > MAX_MESSAGE:
        cleaned = cleaned[: MAX_MESSAGE - 1] + "…"
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _names(items: list[str]) -> str:
    return names(items, MAX_CHAT_NAMES)


ICONS: dict[str, str] = {  # the chat messages' first character, by event type
    EventType.DOWN: "🔴",
    EventType.UP: "🟢",
    EventType.ESCALATION: "🆘",
    EventType.TIMER_EXPIRED: "⏰",
    EventType.CLOSED: "🏁",
}


class MessageBuilder:
    """Replays an incident's events in order and says what to post for each (pure: no I/O).

    Keeps its own replay of down/up so it can tell which scenario instances started or stopped
    matching at each event."""

    def __init__(self, engine: ImpactEngine, incident_id: str) -> None:
        self.engine = engine
        self.incident = incident_id
        self.title = ""
        self.started: datetime | None = None
        self.enabled = False
        self.down: dict[str, None] = {}
        self.active: dict[str, str] = {}  # instance → scenario title (with cluster)
        self.effective: frozenset[str] = frozenset()

    def _match(self) -> tuple[dict[str, tuple[str, str]], frozenset[str]]:
        _, effective, matched = self.engine.match(assessable(self.engine, self.down))
        titles = {
            m.instance: (m.scenario.title + (f" ({m.cluster})" if m.cluster else ""), m.component)
            for m in matched
        }
        return titles, effective

    def apply(self, event: Event) -> str | None:
        """Fold the event in; the message text to post for it, or None."""
        p = event.payload
        prefix = f"[{self.incident}]"
        if isinstance(p, Started):
            self.title = p.title
            self.started = event.at
            return None
        if isinstance(p, Renamed):
            self.title = p.title  # later messages name the incident as it is called now
            return None
        if isinstance(p, Chat):
            was, self.enabled = self.enabled, p.enabled
            if was == self.enabled:
                return None
            words = event_text(event, TextContext(title=self.title, down=tuple(self.down)))
            return f"{'📣' if self.enabled else '🔕'} {prefix} {words.chat}"
        before = dict(self.active)
        if isinstance(p, Down | Up):
            for cid in p.components:
                if isinstance(p, Down):
                    self.down[cid] = None
                else:
                    self.down.pop(cid, None)
            titles, self.effective = self._match()
            self.active = {i: t for i, (t, _) in titles.items()}
        if not self.enabled:
            return None
        context = TextContext(title=self.title, started=self.started, scenarios=self.active)
        said = event_text(event, context).chat
        if said is None:
            return None
        text = f"{ICONS[event.type]} {prefix} {said}"
        new = [t for i, t in self.active.items() if i not in before]
        if isinstance(p, Down):
            return text + (f". Scenario: {_names(new)}" if new else "")
        if isinstance(p, Up):
            recovered = [
                t for i, t in before.items() if i not in self.active and not self._still_down(i)
            ]
            if recovered:
                text += f". Recovered: {_names(recovered)}"
            if new:
                text += f". Now matching: {_names(new)}"
            still = list(self.down)
            return text + (
                f". Still down: {_names(still)}" if still else ". Nothing is marked down."
            )
        return text

    def _still_down(self, instance: str) -> bool:
        """A narrower scenario that stops matching because a broader one took over has not recovered."""
        scenario_id, _, cluster = instance.partition("@")
        try:
            trigger = self.engine.pack.scenario(scenario_id).trigger
        except StopIteration:
            return False
        cid = f"{trigger}/{cluster}" if cluster else trigger
        return cid in self.effective


def messages(
    state: IncidentState, engine: ImpactEngine, after_seq: int = 0
) -> list[tuple[int, str]]:
    """(seq, text) for each event after `after_seq` worth posting (pure; for tests and previews)."""
    builder = MessageBuilder(engine, state.id)
    out = []
    for event in state.timeline:
        text = builder.apply(event)
        if text is not None and event.seq > after_seq:
            out.append((event.seq, text))
    return out
