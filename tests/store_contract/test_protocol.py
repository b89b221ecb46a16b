"""The domain's `EventSink` (what an IncidentSession needs; the domain cannot import store/) is
the part of `IncidentStore` it names, with the same signatures: any store is a sink."""

from __future__ import annotations

import inspect

import pytest

from tsbrunbook.domain.incident import EventSink
from tsbrunbook.store import IncidentStore

SINK_METHODS = [
    name
    for name, member in vars(EventSink).items()
    if inspect.isfunction(member) and name[0] != "_"
]


def test_the_sink_names_methods():
    assert SINK_METHODS  # the comparison below is over something


@pytest.mark.parametrize("name", SINK_METHODS)
def test_every_sink_method_is_a_store_method_with_the_same_signature(name):
    sink = inspect.signature(getattr(EventSink, name), eval_str=True)
    store = inspect.signature(getattr(IncidentStore, name), eval_str=True)
    assert sink == store
