"""Opening incidents: the store, the pack and the estate each incident was started with.

Shared by the CLI and the TUI so both start, resume and reopen incidents the same way.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC

from .cli.text import one_line
from .domain.clock import SYSTEM_CLOCK
from .domain.errors import UserError, did_you_mean
from .domain.impact import ImpactEngine
from .domain.incident import IncidentSession
from .domain.model import Pack
from .domain.runbooks.estate import load_estate
from .domain.runbooks.pack import load_pack
from .domain.runbooks.paths import demo_estate_path
from .domain.runbooks.textfile import read_text


class Workspace:
    def __init__(self, store=None, pack: Pack | None = None) -> None:
        if store is None:
            from .store import Store

            store = Store()
        self.store = store
        self.pack = pack or load_pack()
        self._engines: dict[tuple[str | None, str], ImpactEngine] = {}

    def engine(self, estate_file: str | None, text: str | None = None) -> ImpactEngine:
        """The engine on an estate: the file as it is now, or `text` once read from it."""
        path = os.path.abspath(estate_file) if estate_file else None
        if text is None:
            text = read_text(path or demo_estate_path())
        key = (path, hashlib.sha256(text.encode("utf-8")).hexdigest())
        if key not in self._engines:
            self._engines[key] = ImpactEngine(self.pack, load_estate(path, text))
        return self._engines[key]

    def start(
        self,
        title: str,
        estate_file: str | None = None,
        kind: str = "incident",
        extra: dict | None = None,
    ) -> IncidentSession:
        title = " ".join(title.split())
        if not title:
            raise UserError(
                "the incident needs a title", 'e.g. tsbrunbook incident start "eu-west edge down"'
            )
        path = os.path.abspath(estate_file) if estate_file else None
        text = read_text(path or demo_estate_path())
        engine = self.engine(
            path, text
        )  # load (and validate) the estate before anything is written
        meta = {
            "estate_file": path,
            # The incident keeps the estate it started with: editing or deleting the file later
            # must not take recorded components and steps away from it.
            "estate_yaml": text,
            "estate_name": engine.estate.name,
            "tsb_version": engine.estate.tsb_version,
            "pack_version": self.pack.version,
            "pack_checksum": self.pack.checksum,
            **(extra or {}),
        }
        incident_id = self.store.create(title, kind=kind, meta=meta)
        return IncidentSession(self.store, incident_id, engine)

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
        started = self.store.events(incident)[0].data
        estate_file, text = started.get("estate_file"), started.get("estate_yaml")
        if text is not None:
            return IncidentSession(self.store, incident, self.engine(estate_file, text))
        if estate_file and not os.path.isfile(estate_file):
            raise UserError(
                f"incident {incident} was started with the estate {estate_file}, which is gone",
                "put the file back: an incident keeps the estate it was started with",
            )
        return IncidentSession(
            self.store, incident, self.engine(estate_file)
        )  # recorded before estate_yaml

    def resume_or_start(
        self, estate_file: str | None = None, kind: str = "incident"
    ) -> IncidentSession:
        """The most recent open incident on this estate, else a new one."""
        from .store.sqlite import DamagedEvent

        wanted = os.path.abspath(estate_file) if estate_file else None
        for summary in self.store.summaries(include_closed=False, kind=kind):
            if summary.damaged:
                continue  # unreadable: resume the next one rather than refuse to open at all
            try:
                first = self.store.events(summary.id)[:1]
            except DamagedEvent:
                continue  # damage that only decoding every event finds
            if first and first[0].data.get("estate_file") == wanted:
                return self.open(summary.id)
        # UTC like every other time the tool shows, and saying so: a title read in another
        # timezone (a colleague, the postmortem) must not be an hour off without a word.
        now = getattr(self.store, "clock", SYSTEM_CLOCK).wall().astimezone(UTC)
        return self.start(f"Incident {now:%Y-%m-%d %H:%M} UTC", estate_file, kind)
