"""The domain must not import Textual (nor anything UI): it is shared by the CLI and the TUI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tsbrunbook.domain


def test_no_domain_module_imports_textual():
    # Every module, subpackages included (`domain/runbooks/…`), found rather than listed.
    modules = [
        m.name for m in pkgutil.walk_packages(tsbrunbook.domain.__path__, "tsbrunbook.domain.")
    ]
    assert len(modules) >= 8
    assert "tsbrunbook.domain.runbooks.yamlsrc" in modules  # the walk reaches into subpackages
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual',))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"domain pulls in {out}"
