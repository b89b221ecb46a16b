"""Where the bundled runbook pack and demo estate live (checkout, override or installed wheel)."""

from __future__ import annotations

import os


def runbooks_dir() -> str:
    """The bundled runbooks: `TSBRUNBOOK_RUNBOOKS`, else the checkout's `runbooks/`, else the wheel's copy."""
    override = os.environ.get("TSBRUNBOOK_RUNBOOKS")
    if override:
        return override
    # This file is tsbrunbook/domain/runbooks/paths.py: the checkout is four levels up.
    here = os.path.abspath(__file__)
    checkout = os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here)))), "runbooks"
    )
    if os.path.isfile(os.path.join(checkout, "pack.yaml")):
        return checkout
    # Installed: the wheel carries runbooks/ as the data-only namespace package tsbrunbook._runbooks.
    from importlib.util import find_spec

    spec = find_spec("tsbrunbook._runbooks")
    if spec is None or not spec.submodule_search_locations:
        return checkout  # nothing bundled: the caller reports the missing directory
    return list(spec.submodule_search_locations)[0]


def demo_estate_path() -> str:
    return os.path.join(runbooks_dir(), "estates", "demo.yaml")
