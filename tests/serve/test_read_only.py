"""A read-only session (the war-room view's read-only token) can change nothing: the workspace
hands out a store that refuses every write, whatever the UI lets a key do, and nothing that
uses the keyring's secrets (probe, chat updates) runs."""

from __future__ import annotations

import pytest

from tests.tui.support import settle, until
from tsbrunbook.domain.errors import UserError
from tsbrunbook.domain.incident import checklists
from tsbrunbook.domain.runbooks.estate import load_estate
from tsbrunbook.store.sqlite import Store
from tsbrunbook.tui.app import RunbookApp
from tsbrunbook.workspace import ReadOnly, Workspace


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "incidents.sqlite3") as store:
        yield store


@pytest.fixture
def incident(store) -> str:
    """An incident an operator started, with the management plane down."""
    operator = Workspace(store=store)
    session = operator.resume_or_start()
    operator.mark(session, "down", ["management-plane"])
    return session.id


ATTEMPTS = {
    "mark": lambda ws, s: ws.mark(s, "up", ["management-plane"]),
    "toggle": lambda ws, s: s.toggle("postgres"),
    "note": lambda ws, s: s.add_note("from a viewer"),
    "step": lambda ws, s: s.set_step(checklists(s.state, s.engine)[0].steps[0].ref, "done"),
    "escalate": lambda ws, s: s.raise_escalation(checklists(s.state, s.engine)[0].steps[0].ref),
    "rename": lambda ws, s: ws.rename(s, "viewer title"),
    "close": lambda ws, s: ws.close_incident(s),
    "chat": lambda ws, s: ws.set_chat(s, True),
    "start": lambda ws, s: ws.start("a viewer's incident"),
    "grant": lambda ws, s: ws.grant_access("mallory"),
    "probe": lambda ws, s: ws.probe(s.engine.estate, s.engine, []),
}


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_every_change_and_every_secret_is_refused(store, incident, name):
    viewer = Workspace(store=store, read_only=True)
    session = viewer.resume_or_start()
    assert session.id == incident
    before = store.events(incident)
    with pytest.raises(ReadOnly, match="read-only access: .* not allowed") as caught:
        ATTEMPTS[name](viewer, session)
    assert "access create" in caught.value.hint
    assert store.events(incident) == before
    assert store.ids() == [incident]
    assert [g.name for g in store.access_grants()] == []


def test_a_viewer_reads_everything_and_gets_no_chat_notifier(store, incident):
    viewer = Workspace(store=store, read_only=True)
    session = viewer.open(incident)
    assert "management-plane" in session.state.down
    assert "# Incident" in viewer.export_markdown(session)
    assert viewer.chat_notifier(session.engine, incident) is None
    assert Workspace(store=store).chat_notifier(session.engine, incident) is not None


def test_a_viewer_on_an_empty_store_starts_nothing(store):
    with pytest.raises(UserError, match="no open incident to watch yet"):
        Workspace(store=store, read_only=True).resume_or_start()
    assert store.ids() == []


def test_a_viewers_probe_is_refused_before_any_network():
    # The probe is refused before any address is looked at (a viewer never reaches the network).
    with pytest.raises(ReadOnly, match="TSB API credentials"):
        Workspace(read_only=True).probe(load_estate(), None, [])  # type: ignore[arg-type]


async def test_the_app_of_a_viewer_says_why_nothing_changed(store, incident):
    viewer = Workspace(store=store, read_only=True)
    app = RunbookApp(viewer, viewer.resume_or_start())
    before = store.events(incident)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("space")  # mark the highlighted component
        await settle(pilot)
        await until(pilot, lambda: any("read-only access" in n.message for n in app._notifications))
        assert app.notifier is None
    assert store.events(incident) == before
