"""Every package of the source tree is listed in pyproject.toml, so the wheel carries it."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def test_every_package_is_in_pyproject():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "tsbrunbook").rglob("__init__.py")
    }
    assert found - listed == set()
    assert "tsbrunbook.integrations" in listed
