"""Opening incidents: the store, the pack and the estate each incident was started with.

Shared by the CLI and the TUI so both start, resume and reopen incidents the same way.
"""

from __future__ import annotations

import os
from datetime import datetime

from .domain.errors import UserError, did_you_mean
from .domain.impact import ImpactEngine
from .domain.incident import IncidentSession
from .domain.loader import load_estate, load_pack
from .domain.model import Pack
from .cli.text import one_line


class Workspace:
    def __init__(self, store=None, pack: Pack | None = None) -> None:
        if store is None:
            from .store import Store

            store = Store()
        self.store = store
        self.pack = pack or load_pack()
        self._engines: dict[str | None, ImpactEngine] = {}

    def engine(self, estate_file: str | None) -> ImpactEngine:
        key = os.path.abspath(estate_file) if estate_file else None
        if key not in self._engines:
            self._engines[key] = ImpactEngine(self.pack, load_estate(key))
        return self._engines[key]

    def start(self, title: str, estate_file: str | None = None, kind: str = "incident", extra: dict | None = None) -> IncidentSession:
        title = " ".join(title.split())
        if not title:
            raise UserError("the incident needs a title", 'e.g. tsbrunbook incident start "eu-west edge down"')
        engine = self.engine(estate_file)  # load (and validate) the estate before anything is written
        meta = {
            "estate_file": os.path.abspath(estate_file) if estate_file else None,
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
            "run `tsbrunbook incident list --all`" if ids else "there are no incidents yet: `tsbrunbook incident start TITLE`"
        )
        raise UserError(f"unknown incident '{one_line(raw, 60)}'", hint)

    def open(self, raw_id: str) -> IncidentSession:
        """An incident, folded with the estate it was started with."""
        incident = self.resolve(raw_id)
        estate_file = self.store.events(incident)[0].data.get("estate_file")
        if estate_file and not os.path.isfile(estate_file):
            raise UserError(
                f"incident {incident} was started with the estate {estate_file}, which is gone",
                "put the file back: an incident keeps the estate it was started with",
            )
        return IncidentSession(self.store, incident, self.engine(estate_file))

    def resume_or_start(self, estate_file: str | None = None, kind: str = "incident") -> IncidentSession:
        """The most recent open incident on this estate, else a new one."""
        wanted = os.path.abspath(estate_file) if estate_file else None
        for summary in self.store.list(include_closed=False, kind=kind):
            first = self.store.events(summary.id)[:1]
            if first and first[0].data.get("estate_file") == wanted:
                return self.open(summary.id)
        return self.start(f"Incident {datetime.now():%Y-%m-%d %H:%M}", estate_file, kind)
