"""The bundled runbooks are found from a checkout and from an installed wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT

pytestmark = (
    pytest.mark.slow
)  # a real terminal / process tree: run by `make test`, skipped by -m 'not slow'


def test_wheel_carries_the_runbooks_and_finds_them(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("tsbrunbook-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tsbrunbook/_runbooks/pack.yaml" in names
    assert "tsbrunbook/_runbooks/estates/demo.yaml" in names
    assert sum(n.startswith("tsbrunbook/_runbooks/scenarios/") for n in names) >= 8

    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = (
        "import json; from tsbrunbook.domain.runbooks import pack, paths; "
        "print(json.dumps([paths.runbooks_dir(), pack.load_pack().version]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    where, version = json.loads(out)
    assert where.startswith(str(site)), where  # the wheel's copy, not the checkout's
    assert version
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tsbrunbook",
            "impact",
            "--down",
            "management-plane",
            "--format",
            "json",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["operations"]["management-operations"]["level"] == "outage"


def test_checkout_finds_its_own_runbooks():
    from tsbrunbook.domain.runbooks.paths import runbooks_dir

    assert os.path.samefile(runbooks_dir(), ROOT / "runbooks")
