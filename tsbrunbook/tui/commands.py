"""Command palette: mark down/up, jump to a scenario, export, switch incident (theme is built in)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..domain.impact import ImpactEngine
from ..domain.incident import IncidentSession
from ..domain.text import one_line

if TYPE_CHECKING:  # the exercise modules stay off the path to the first frame
    from ..domain.exercise_run import ExerciseRun


class PaletteHost(Protocol):
    """What the palette needs of the app (the RunbookApp; named here so the app module, which
    lists this provider, is not imported back)."""

    session: IncidentSession
    exercise: ExerciseRun | None

    @property
    def engine(self) -> ImpactEngine: ...

    def action_export(self) -> None: ...
    def action_incidents(self) -> None: ...
    def action_help(self) -> None: ...
    def action_brief(self) -> None: ...
    def action_probe(self) -> None: ...
    def set_chat(self, enabled: bool) -> None: ...
    def toggle_component(self, cid: str) -> None: ...
    def jump_to_scenario(self, instance: str) -> None: ...
    def action_finish(self) -> None: ...
    def action_rename(self) -> None: ...
    def action_close_incident(self) -> None: ...
    def action_long_note(self) -> None: ...
    def action_answer_later(self, inject_id: str | None = None) -> None: ...


class RunbookCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        """(name, callback, help) of every command, their text shown literally and sanitised:
        component titles and instances come from runbooks and estates."""
        return [
            (one_line(name), callback, one_line(help_text))
            for name, callback, help_text in self._unsanitised()
        ]

    def _unsanitised(self) -> list[tuple[str, object, str]]:
        app = cast(PaletteHost, self.app)
        out: list[tuple[str, object, str]] = [
            (
                "Export incident to Markdown",
                app.action_export,
                "write the incident record as a Markdown file",
            ),
            (
                "Switch incident / start a new one",
                app.action_incidents,
                "open incidents and a new one",
            ),
            ("Rename this incident", app.action_rename, "T: a new title; the timeline keeps both"),
            ("Close this incident", app.action_close_incident, "C: asks first; no more changes"),
            ("Note in $EDITOR", app.action_long_note, "N: a long note written in your editor"),
            ("Show help", app.action_help, "every key"),
            (
                "Support case brief (copy + file)",
                app.action_brief,
                "Markdown for the Tetrate support case",
            ),
            (
                "Probe the management plane",
                app.action_probe,
                "GET /v2/organizations/ORG/status; suggests only",
            ),
            ("Chat updates: on", partial(app.set_chat, True), "post status changes to the webhook"),
            ("Chat updates: off", partial(app.set_chat, False), "stop posting"),
        ]
        if app.exercise is not None and not app.exercise.finished:
            out.append(
                ("Exercise: finish this run", app.action_finish, "stop the clock, close the run")
            )
            for question in app.exercise.unanswered():
                out.append(
                    (
                        f"Exercise: answer the prediction for {question.inject}",
                        partial(app.action_answer_later, question.inject),
                        "a question left for later",
                    )
                )
        session = app.session
        for comp in app.engine.graph.components:
            if not comp.markable:
                continue
            if comp.id in session.state.down:
                out.append(
                    (f"Mark up: {comp.id}", partial(app.toggle_component, comp.id), comp.title)
                )
            else:
                out.append(
                    (f"Mark down: {comp.id}", partial(app.toggle_component, comp.id), comp.title)
                )
        for instance in session.state.instances:
            out.append(
                (
                    f"Jump to scenario: {instance}",
                    partial(app.jump_to_scenario, instance),
                    "its checklist",
                )
            )
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands()[:12]:
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)  # type: ignore[arg-type]
