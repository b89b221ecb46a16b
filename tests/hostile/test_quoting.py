"""Hostile estate values in copied commands (issue 10, item 3): a kube context from a shared
estate file such as `gke-eu-west; touch /tmp/x #` must reach the shell as one argument.

Each case writes the demo estate with one hostile management context and one hostile workload
cluster context, runs the real CLI (`checklist … --format json`) under the harness bounds, and
checks every command word by word against the same checklist rendered with harmless sentinel
contexts: the hostile value takes exactly the sentinel's place, inside one word, and the words
around it are unchanged (so no `;`, `|`, `&&` or `$(…)` of the value ever acts on the shell).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.hostile.harness import accepted, run_bounded
from tsbrunbook.domain.runbooks.paths import demo_estate_path

SCENARIO = ("checklist", "workload-cluster-failure", "--cluster", "eu-west", "--format", "json")
CLUSTER_SENTINEL = "sentinel-cluster-context"
MGMT_SENTINEL = "sentinel-mgmt-context"

CASES = {
    "semicolon": "gke-eu-west; touch /tmp/tsbrunbook-pwned #",
    "command-substitution": "gke-$(touch /tmp/tsbrunbook-pwned)",
    "backticks": "gke-`touch /tmp/tsbrunbook-pwned`",
    "and-and": "gke-eu-west && rm -rf ~/important",
    "single-quote": "gke' ; touch /tmp/tsbrunbook-pwned ; echo '",
    "double-quote": 'gke" ; touch /tmp/tsbrunbook-pwned ; echo "',
    "pipe": "gke-eu-west | sh",
    "spaces": "gke eu west",
    "redirect-and-variable": "gke >$HOME/.bashrc",
    "leading-dash": "--kubeconfig=/tmp/evil",
}


def estate_file(tmp_path: Path, cluster_context: str, mgmt_context: str) -> str:
    text = Path(demo_estate_path()).read_text()
    text = text.replace("context: gke-eu-west", f"context: {json.dumps(cluster_context)}")
    text = text.replace("context: gke-tsb-mgmt", f"context: {json.dumps(mgmt_context)}")
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    return str(path)


def rendered(tmp_path: Path, cluster_context: str, mgmt_context: str) -> list[str]:
    result = accepted(
        run_bounded(*SCENARIO, "--estate", estate_file(tmp_path, cluster_context, mgmt_context))
    )
    return [c for step in json.loads(result.out)["steps"] for c in step["commands"]]


@pytest.fixture(scope="module")
def sentinel_commands(tmp_path_factory) -> list[str]:
    commands = rendered(tmp_path_factory.mktemp("sentinel"), CLUSTER_SENTINEL, MGMT_SENTINEL)
    assert any(CLUSTER_SENTINEL in c for c in commands) and any(
        MGMT_SENTINEL in c for c in commands
    )
    return commands


@pytest.mark.parametrize("value", list(CASES.values()), ids=list(CASES))
def test_a_hostile_context_stays_one_argument(tmp_path, sentinel_commands, value):
    mgmt_value = value.replace("gke", "mgmt", 1)
    commands = rendered(tmp_path, value, mgmt_value)
    assert len(commands) == len(sentinel_commands)
    for hostile, safe in zip(commands, sentinel_commands, strict=True):
        expected = [
            word.replace(CLUSTER_SENTINEL, value).replace(MGMT_SENTINEL, mgmt_value)
            for word in shlex.split(safe)
        ]
        assert shlex.split(hostile) == expected, hostile
        if "--context" in expected:
            assert expected[expected.index("--context") + 1] in (value, mgmt_value)
