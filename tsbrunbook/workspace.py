"""The service layer: the store, the pack, and the incidents opened on them.

The CLI and the TUI both work through a `Workspace`: they start, resume and reopen incidents
here (each with the estate it was started with), act on them here, and take their renderings
(export, brief, report) from here, so both do each thing the same way. The CLI only parses
arguments and prints; the TUI only shows and asks.

Nothing is loaded before it is needed: `tsbrunbook components` never opens the store, and
`tsbrunbook secret …` never loads the runbooks.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import uuid
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from .domain.clock import SYSTEM_CLOCK, Clock, behind_warning
from .domain.errors import LoadError, UserError, did_you_mean
from .domain.impact import ImpactEngine
from .domain.incident import ChecklistView, Event, IncidentSession, checklists
from .domain.model import Pack
from .domain.runbooks.estate import load_estate
from .domain.runbooks.pack import load_pack
from .domain.runbooks.paths import demo_estate_path
from .domain.runbooks.textfile import read_text
from .domain.text import one_line

if TYPE_CHECKING:  # the store package is imported when a store is first needed
    from .domain.exercise import Exercise
    from .domain.exercise_run import ExerciseRun
    from .domain.runbooks.estate import Estate
    from .integrations.notify import Notifier
    from .integrations.probe import ProbeResult
    from .store.protocol import AccessGrant, Change, IncidentStore, IncidentSummary, Presence

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 bits, 43 characters
ACCESS_NAME_MAX = 64


class ReadOnly(UserError):
    """An action a read-only session (a viewer of the war-room view) may not take."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"read-only access: {what} is not allowed in this session (nothing was recorded)",
            "ask the incident commander for an operator token (`tsbrunbook access create NAME`)",
        )


class ReadOnlyStore:
    """A store that reads and refuses every write: what a read-only session's workspace hands
    to everything above it (the CLI, the TUI, its store worker, timers and injects), so no key,
    palette command or future action can record anything, whatever the UI shows."""

    def __init__(self, store: IncidentStore) -> None:
        self._store = store

    @property
    def location(self) -> str:
        return self._store.location

    @property
    def schema_version(self) -> int:
        return self._store.schema_version

    def create(
        self,
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> str:
        raise ReadOnly("starting an incident")

    def resume_or_create(
        self,
        wanted: Callable[[dict[str, Any]], bool],
        title: str,
        kind: str = "incident",
        meta: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> tuple[str, bool]:
        raise ReadOnly("starting an incident")

    def append(
        self,
        incident: str,
        type: str,
        data: dict[str, Any],
        actor: str = "",
        expect_last: int | None = None,
    ) -> Event:
        raise ReadOnly("changing the incident")

    def add_access(self, name: str, role: str, token_sha256: str) -> AccessGrant:
        raise ReadOnly("granting access")

    def revoke_access(self, name: str) -> bool:
        raise ReadOnly("revoking access")

    def access_grants(self) -> list[AccessGrant]:
        return self._store.access_grants()

    def exists(self, incident: str) -> bool:
        return self._store.exists(incident)

    def ids(self) -> list[str]:
        return self._store.ids()

    def summaries(
        self, include_closed: bool = False, kind: str | None = None
    ) -> list[IncidentSummary]:
        return self._store.summaries(include_closed=include_closed, kind=kind)

    def latest_open(self, kind: str = "incident") -> str | None:
        return self._store.latest_open(kind)

    def events(self, incident: str, after: int = 0) -> list[Event]:
        return self._store.events(incident, after)

    def start_event(self, incident: str) -> Event | None:
        return self._store.start_event(incident)

    def idempotent(self, key: uuid.UUID) -> AbstractContextManager[None]:
        return self._store.idempotent(key)

    # Presence is not part of the incident's record: a viewer is listed as present (the
    # commander can see who is watching), and its heartbeats are the only rows it writes.
    def heartbeat(self, incident: str, who: str, session: str, at: datetime) -> None:
        self._store.heartbeat(incident, who, session, at)

    def leave(self, incident: str, session: str) -> None:
        self._store.leave(incident, session)

    def present(self, incident: str, now: datetime) -> list[Presence]:
        return self._store.present(incident, now)

    def watch(self, timeout: float = 1.0) -> Generator[Change | None, None, None]:
        return self._store.watch(timeout)

    def close(self) -> None:
        self._store.close()


def token_digest(token: str) -> str:
    """How a war-room token is stored and looked up: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Marked:
    """What marking components down or up did: the event (None: nothing changed, nothing
    recorded) and the checklists that appeared with it."""

    event: Event | None
    new_checklists: list[ChecklistView]


class Workspace:
    def __init__(
        self,
        store: IncidentStore | None = None,
        pack: Pack | None = None,
        clock: Clock = SYSTEM_CLOCK,
        database_url: str | None = None,
        read_only: bool = False,
    ) -> None:
        """`store`: the incident store (default: the one `database_url` names, else
        $TSBRUNBOOK_DATABASE_URL's, else the SQLite store in the data directory; opened on
        first use and closed with the workspace); `pack`: the runbooks (default: the bundled
        pack, loaded on first use); `clock`: "now" for default titles and clock warnings;
        `read_only`: a viewer's session (the war-room view's read-only token): every write is
        refused by the store this workspace hands out, and nothing uses the keyring's secrets."""
        self.read_only = read_only
        self._store = ReadOnlyStore(store) if (store is not None and read_only) else store
        self._database_url = database_url
        self._owns_store = store is None
        self._pack = pack
        self.clock = clock
        self._engines: dict[tuple[str | None, str], ImpactEngine] = {}

    # -- what it holds -----------------------------------------------------------------------

    @property
    def store(self) -> IncidentStore:
        if self._store is None:
            # Lazily: the runbook commands never need it. --database-url, else
            # $TSBRUNBOOK_DATABASE_URL, selects the team's PostgreSQL store; unset, SQLite.
            from .store.select import open_store

            opened = open_store(self._database_url, password_lookup=_keyring_database_password)
            self._store = ReadOnlyStore(opened) if self.read_only else opened
        return self._store

    @property
    def pack(self) -> Pack:
        if self._pack is None:
            self._pack = load_pack()
        return self._pack

    def close(self) -> None:
        """Close the store if this workspace opened it (the last connection checkpoints SQLite's
        write-ahead log back into the database file)."""
        if self._owns_store and self._store is not None:
            self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def engine(self, estate_file: str | None, text: str | None = None) -> ImpactEngine:
        """The engine on an estate (the bundled demo when None): the file as it is now, or `text`
        once read from it. Loaded once per file and content."""
        path = estate_file or demo_estate_path()
        if text is None:
            text = read_text(path)
        key = (
            os.path.abspath(estate_file) if estate_file else None,
            hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
        if key not in self._engines:
            self._engines[key] = ImpactEngine(self.pack, load_estate(estate_file, text))
        return self._engines[key]

    # -- finding, starting and opening incidents ---------------------------------------------

    def summaries(
        self, include_closed: bool = False, kind: str | None = None
    ) -> list[IncidentSummary]:
        return self.store.summaries(include_closed=include_closed, kind=kind)

    def start(
        self,
        title: str,
        estate_file: str | None = None,
        kind: str = "incident",
        extra: dict[str, Any] | None = None,
    ) -> IncidentSession:
        title = " ".join(title.split())
        if not title:
            raise UserError(
                "the incident needs a title", 'e.g. tsbrunbook incident start "eu-west edge down"'
            )
        meta = {**self._start_meta(estate_file), **(extra or {})}
        incident_id = self.store.create(title, kind=kind, meta=meta)
        return IncidentSession(
            self.store, incident_id, self.engine(meta["estate_file"], meta["estate_yaml"])
        )

    def _start_meta(self, estate_file: str | None) -> dict[str, Any]:
        """What a new incident's `started` event records about its estate and runbooks. The
        estate is loaded (and validated) here, before anything is written."""
        path = os.path.abspath(estate_file) if estate_file else None
        text = read_text(path or demo_estate_path())
        engine = self.engine(path, text)
        return {
            "estate_file": path,
            # The incident keeps the estate it started with: editing or deleting the file later
            # must not take recorded components and steps away from it.
            "estate_yaml": text,
            "estate_name": engine.estate.name,
            "tsb_version": engine.estate.tsb_version,
            "pack_version": self.pack.version,
            "pack_checksum": self.pack.checksum,
        }

    def resolve(self, raw: str) -> str:
        """The incident id as stored (ids are upper case; a lower-case one is accepted)."""
        for candidate in dict.fromkeys((raw, raw.upper())):
            if self.store.exists(candidate):
                return candidate
        ids = self.store.ids()
        hint = did_you_mean(raw, ids) or (
            "run `tsbrunbook incident list --all`"
            if ids
            else "there are no incidents yet: `tsbrunbook incident start TITLE`"
        )
        raise UserError(f"unknown incident '{one_line(raw, 60)}'", hint)

    def open(self, raw_id: str) -> IncidentSession:
        """An incident, folded with the estate it was started with."""
        incident = self.resolve(raw_id)
        start = self.store.start_event(incident)
        started = start.data if start is not None else {}
        estate_file, text = started.get("estate_file"), started.get("estate_yaml")
        if text is not None:
            return IncidentSession(self.store, incident, self.engine(estate_file, text))
        if estate_file and not os.path.isfile(estate_file):
            raise UserError(
                f"incident {incident} was started with the estate {estate_file}, which is gone",
                "put the file back: an incident keeps the estate it was started with",
            )
        # Recorded before incidents kept their estate's text: the file as it is now.
        return IncidentSession(self.store, incident, self.engine(estate_file))

    def _latest_open(
        self, kind: str, wanted: Callable[[dict[str, Any]], bool]
    ) -> IncidentSession | None:
        """The most recent open incident of this kind whose start `wanted` accepts. Only the
        start event of the others is read; a damaged incident is passed over, not refused."""
        from .store.protocol import DamagedEvent

        for summary in self.summaries(include_closed=False, kind=kind):
            if summary.damaged:
                continue
            try:
                start = self.store.start_event(summary.id)
                if start is not None and wanted(start.data):
                    return self.open(summary.id)
            except DamagedEvent:
                continue  # damage that only decoding every event finds
        return None

    def resume_or_start(
        self, estate_file: str | None = None, kind: str = "incident"
    ) -> IncidentSession:
        """The most recent open incident on this estate, else a new one: decided in one store
        transaction, so several processes at once (browser tabs) resume or make the same one.
        A read-only session resumes only; with nothing open it says so."""
        path = os.path.abspath(estate_file) if estate_file else None

        def on_this_estate(start: dict[str, Any]) -> bool:
            return start.get("estate_file") == path

        if self.read_only:
            session = self._latest_open(kind, on_this_estate)
            if session is None:
                raise UserError(
                    "there is no open incident to watch yet",
                    "a read-only session only watches: reload once an operator has started one",
                )
            return session
        # UTC like every other time the tool shows, and saying so: a title read in another
        # timezone (a colleague, the postmortem) must not be an hour off without a word.
        now = self.clock.wall().astimezone(UTC)
        title = f"Incident {now:%Y-%m-%d %H:%M} UTC"
        meta = self._start_meta(estate_file)
        incident, _ = self.store.resume_or_create(on_this_estate, title, kind, meta)
        return self.open(incident)

    def exercise_session(
        self,
        exercise: Exercise,
        resume: str | None = None,
        new: bool = False,
        participants: str = "",
    ) -> IncidentSession:
        """The run of an exercise to work on: `resume` (a run id), else the latest unfinished run
        of this exercise (unless `new`), else a new run with these comma-separated participants."""
        session = None
        if resume:
            session = self.open(resume)
            if session.state.meta.get("exercise_id") != exercise.id:
                raise UserError(f"{resume} is not a run of exercise '{exercise.id}'")
        elif not new:
            session = self._latest_open(
                "exercise", lambda start: start.get("exercise_id") == exercise.id
            )
        if session is not None:
            if participants:
                raise UserError(
                    f"--participants names the people of a new run, and {session.id} is resumed",
                    "add --new to start a new run",
                )
            return session
        return self.start(
            f"Exercise: {exercise.title}",
            exercise.estate,
            kind="exercise",
            extra={
                "exercise_id": exercise.id,
                "exercise_file": os.path.abspath(exercise.file),
                "participants": [p.strip() for p in participants.split(",") if p.strip()],
            },
        )

    # -- acting on an incident ---------------------------------------------------------------

    def clock_warning(self, session: IncidentSession) -> str | None:
        """What to say when the clock reads earlier than the incident's last event (open ones)."""
        if session.state.closed:
            return None
        return behind_warning(session.state.last_at, self.clock.wall())

    def mark(self, session: IncidentSession, direction: str, ids: list[str]) -> Marked:
        """Mark components "down" or "up"; only a change is recorded."""
        if direction not in ("down", "up"):
            raise ValueError(f"mark {direction!r}: down or up")
        before = {v.instance for v in checklists(session.state, session.engine)}
        event = session.mark_down(ids) if direction == "down" else session.mark_up(ids)
        if event is None:
            return Marked(None, [])
        after = checklists(session.state, session.engine)
        return Marked(event, [v for v in after if v.instance not in before])

    def rename(self, session: IncidentSession, title: str) -> Event | None:
        """Retitle the incident (a `renamed` event); None if it already has that title."""
        return session.rename(title)

    def close_incident(self, session: IncidentSession) -> Event:
        """Close the incident: it takes no more events."""
        return session.close()

    def set_chat(self, session: IncidentSession, enabled: bool) -> Event | None:
        """Switch the incident's chat updates on or off; None if they already were."""
        from .domain.chat import set_chat

        return set_chat(session, enabled)

    # -- what uses the keyring's secrets (never in a read-only session) -----------------------

    def probe(self, estate: Estate, engine: ImpactEngine, down: list[str]) -> ProbeResult:
        """Call the management plane's status endpoint with the keyring's TSB credentials."""
        if self.read_only:
            raise ReadOnly("probing the management plane (it uses the TSB API credentials)")
        from .integrations.probe import probe

        return probe(estate, engine=engine, down=down)

    def chat_notifier(self, engine: ImpactEngine, incident: str) -> Notifier | None:
        """The chat notifier of an incident (it posts with the keyring's webhook URL once the
        incident's chat updates are on); None in a read-only session, which posts nothing:
        the operators' sessions do."""
        if self.read_only:
            return None
        from .integrations.notify import Notifier

        return Notifier(engine, incident)

    # -- who may open the war-room view ------------------------------------------------------

    def grant_access(self, name: str, read_only: bool = False) -> str:
        """A new token for `name` (shown once: only its SHA-256 is stored)."""
        name = " ".join(name.split())
        if not name or len(name) > ACCESS_NAME_MAX or one_line(name, ACCESS_NAME_MAX) != name:
            raise UserError(
                f"the name {one_line(name, 40)!r} is empty, too long or not printable",
                f"give the person's name or handle, at most {ACCESS_NAME_MAX} characters",
            )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.store.add_access(name, "read-only" if read_only else "operator", token_digest(token))
        return token

    def access_grants(self) -> list[AccessGrant]:
        return self.store.access_grants()

    def revoke_access(self, name: str) -> None:
        if not self.store.revoke_access(name):
            names = [g.name for g in self.store.access_grants()]
            raise UserError(
                f"{one_line(name, 60)} has no access to revoke",
                did_you_mean(name, names) or "see `tsbrunbook access list`",
            )

    def grant_for_token(self, token: str) -> AccessGrant | None:
        """The grant in force whose token this is, or None. Every grant's digest is compared,
        in constant time, so the answer's timing says nothing about how close a guess was."""
        wanted = token_digest(token)
        found = None
        for grant in self.store.access_grants():
            if hmac.compare_digest(grant.token_sha256, wanted):
                found = grant
        return found

    # -- renderings, and where the TUI writes them -------------------------------------------

    def export_markdown(self, session: IncidentSession, full: bool = False) -> str:
        """The incident as Markdown, with what other processes appended up to now (`full`: every
        checklist step by step with its commands, see incident_markdown)."""
        from .domain.incident_markdown import incident_markdown

        session.refresh()
        return incident_markdown(session.state, session.engine, full=full)

    def support_brief(self, session: IncidentSession) -> str:
        """The Tetrate support case brief, with what other processes appended up to now."""
        from .domain.brief import support_brief

        session.refresh()
        return support_brief(session.state, session.engine)

    def exercise_report(self, session: IncidentSession, run: ExerciseRun | None = None) -> str:
        """The after-action report of an exercise run: of `run` when it is open in this process,
        else folded from the run's events and its exercise file."""
        from .domain.exercise import find_exercise
        from .domain.exercise_report import exercise_report
        from .domain.exercise_run import progress

        session.refresh()
        if run is not None:
            return exercise_report(run.progress(), session.state, session.engine)
        exercise_file = session.state.meta.get("exercise_file")
        if session.state.kind != "exercise" or not exercise_file:
            raise UserError(
                f"{session.id} is an incident, not an exercise run",
                "use `tsbrunbook incident export`",
            )
        try:
            exercise = find_exercise(exercise_file, self.pack)
        except LoadError as exc:
            raise UserError(f"the exercise file of {session.id} no longer loads: {exc}") from None
        prog = progress(exercise, session.state, session.engine)
        return exercise_report(prog, session.state, session.engine)

    def write_export(self, name: str, text: str) -> str:
        """Write into TSBRUNBOOK_EXPORT_DIR (else the working directory) under `name`, or a fresh
        variant of it (NAME-2.md …): never replacing a file. The path written."""
        from .output import write_fresh

        folder = os.environ.get("TSBRUNBOOK_EXPORT_DIR") or os.getcwd()
        return write_fresh(folder, name, text)


# -- the war-room view's options (`tsbrunbook serve`) -----------------------------------------

DEFAULT_WARM = 1  # a spare app process (~40 MB) cuts a session's start to its own work
DEFAULT_MAX_SESSIONS = 8  # one app process (~50 MB) each: a war room, not a public site
TLS_HINT = (
    "put it behind a TLS reverse proxy and give --public-url https://…, or give --certfile and "
    "--keyfile (README: War room)"
)


@dataclass(frozen=True)
class WarRoomOptions:
    """What `tsbrunbook serve` runs (checked by `war_room_options`)."""

    host: str
    port: int
    public_url: str  # where browsers reach it: its origin is the only one /ws accepts
    max_sessions: int
    certfile: str | None
    keyfile: str | None
    estate: str | None
    warm: int = DEFAULT_WARM  # app processes started ahead of the visitors (`--warm`)

    @property
    def tls(self) -> bool:
        """Browsers reach it over TLS (ours, or a reverse proxy's): cookies are Secure."""
        return self.certfile is not None or self.public_url.startswith("https://")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def war_room_options(
    workspace: Workspace,
    *,
    host: str,
    port: int,
    public_url: str | None,
    max_sessions: int,
    certfile: str | None,
    keyfile: str | None,
    estate: str | None,
    warm: int = DEFAULT_WARM,
) -> WarRoomOptions:
    """`tsbrunbook serve`'s options, checked: one line for the first that is wrong. A host
    other machines can reach is refused unless browsers get TLS (ours, or a proxy's)."""
    if not 0 < port < 65536:
        raise UserError(f"--port {port} is not a port", "give 1 to 65535")
    if max_sessions < 1:
        raise UserError(f"--max-sessions {max_sessions} serves nobody", "give 1 or more")
    if not 0 <= warm <= max_sessions:
        raise UserError(
            f"--warm {warm}: spares are app processes kept ready for sessions",
            f"give 0 (none) to --max-sessions ({max_sessions})",
        )
    if (certfile is None) != (keyfile is None):
        raise UserError("--certfile and --keyfile go together", "give both, or neither")
    for name, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path is not None and not os.path.isfile(path):
            raise UserError(f"{name} {path}: no such file", "give the PEM file's path")
    if estate is not None:
        workspace.engine(os.path.abspath(estate))  # a bad estate is refused now, not per tab
    scheme = "https" if certfile else "http"
    bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    public_url = (public_url or f"{scheme}://{bracketed}:{port}").rstrip("/")
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise UserError(
            f"--public-url {public_url}: not an http(s)://HOST[:PORT] URL",
            "give the address browsers use, e.g. https://warroom.example.com",
        )
    request = WarRoomOptions(
        host,
        port,
        public_url,
        max_sessions,
        certfile,
        keyfile,
        os.path.abspath(estate) if estate else None,
        warm,
    )
    if not is_loopback(host) and not request.tls:
        raise UserError(
            f"--host {host} is reachable from other machines, and tokens, cookies and the "
            "incident would cross the network unencrypted",
            TLS_HINT,
        )
    return request


def _keyring_database_password() -> str | None:
    """The team-mode database password from the OS keyring; asked only when the server wants a
    password libpq could not supply (so keyring is imported only then)."""
    from .integrations.secrets import database_password

    return database_password()
