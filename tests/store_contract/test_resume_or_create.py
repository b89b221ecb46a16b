"""`resume_or_create`: the newest open incident a caller wants, else a new one, decided once
across processes (several browser tabs opening the war-room view on an empty store make one
incident)."""

from __future__ import annotations

import pytest

from . import workers
from .test_concurrency import RUNNERS

TABS = 4


def on_demo(start: dict) -> bool:
    return start.get("estate_file") is None


def test_creates_when_nothing_fits_then_resumes_it(store):
    found, created = store.resume_or_create(on_demo, "first", meta={"estate_file": None})
    assert created
    assert store.events(found)[0].data["title"] == "first"
    again, created_again = store.resume_or_create(on_demo, "second", meta={"estate_file": None})
    assert (again, created_again) == (found, False)
    assert store.ids() == [found]


def test_resumes_the_newest_wanted_open_incident_only(store):
    older = store.create("older on demo", meta={"estate_file": None})
    newer = store.create("newer on demo", meta={"estate_file": None})
    store.create("on another estate", meta={"estate_file": "/srv/estate.yaml"})
    store.create("an exercise on demo", kind="exercise", meta={"estate_file": None})
    assert store.resume_or_create(on_demo, "x", meta={"estate_file": None}) == (newer, False)
    store.append(newer, "closed", {})
    assert store.resume_or_create(on_demo, "x", meta={"estate_file": None}) == (older, False)


def test_passes_over_a_damaged_incident(store_factory):
    store = store_factory()
    healthy = store.create("healthy", meta={"estate_file": None})
    damaged = store.create("damaged", meta={"estate_file": None})
    store.append(damaged, "down", {"components": ["postgres"]})
    store_factory.damage(store, damaged, 2)
    assert store.resume_or_create(on_demo, "x", meta={"estate_file": None}) == (healthy, False)


def test_a_new_incident_gets_the_title_kind_and_actor_given(store):
    found, created = store.resume_or_create(
        on_demo, "  Tabs \n at once ", kind="exercise", meta={"estate_file": None}, actor="ic"
    )
    (started,) = store.events(found)
    assert created and found.startswith("EX-")
    assert (started.data["title"], started.data["kind"], started.actor) == (
        "Tabs at once",
        "exercise",
        "ic",
    )


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_tabs_opened_at_once_on_an_empty_store_make_one_incident(store_factory, runner):
    outcomes = RUNNERS[runner](
        workers.resume_or_create_once, TABS, lambda i: (store_factory.opener, f"tab{i}")
    )
    errors = [text for kind, _, text in outcomes if kind != "ok"]
    assert not errors, errors
    found = {result[0] for _, _, result in outcomes}
    created = [result[1] for _, _, result in outcomes]
    assert len(found) == 1, outcomes
    assert sorted(created) == [False] * (TABS - 1) + [True]
    assert store_factory().ids() == list(found)
