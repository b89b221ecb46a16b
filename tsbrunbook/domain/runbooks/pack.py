"""The runbook pack: a directory of pack, graph, readiness and scenario files, read as one.

`load_pack()` raises `LoadError` with every problem; `read_pack()` collects them instead (for
`validate`). The checksum identifies the exact pack an incident was run with.
"""

from __future__ import annotations

import hashlib
import os

from ..errors import LoadError, Problem
from ..model import GraphSpec, Pack, Readiness, Scenario
from . import cache
from .cache import pack_files
from .checks import check_scenarios, check_texts
from .documents import expect_document
from .fields import read_sources
from .graph import read_graph
from .paths import runbooks_dir
from .scenario import read_scenario
from .steps import read_readiness


def load_pack(root: str | None = None, *, use_cache: bool = True) -> Pack:
    """Load and validate the runbook pack; raise LoadError on any problem. With `cache`, a pack
    validated before with exactly these files comes from the cache (see runbooks.cache)."""
    root = root or runbooks_dir()
    key = cache.pack_key(root) if use_cache else None
    if key is not None:
        known: Pack | None = cache.cached("pack", root, key)
        if known is not None:
            return known
    pack = _validated_pack(root)
    if key is not None:
        cache.store("pack", root, key, pack)
    return pack


def _validated_pack(root: str) -> Pack:
    parts = read_pack(root)
    if parts.problems:
        raise LoadError(parts.problems)
    assert parts.graph is not None and parts.readiness is not None
    return Pack(
        name=parts.meta["name"],
        title=parts.meta["title"],
        version=parts.meta["version"],
        checksum=pack_checksum(parts.files),
        graph=parts.graph,
        scenarios=tuple(sorted(parts.scenarios, key=lambda s: s.id)),
        readiness=parts.readiness,
        root=root,
    )


def pack_checksum(files: list[str]) -> str:
    digest = hashlib.sha256()
    for path in files:
        if os.path.isfile(path):
            digest.update(os.path.basename(path).encode())
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return "sha256:" + digest.hexdigest()[:16]


class PackParts:
    """What was read of a pack directory, and every problem found on the way."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.meta: dict[str, str] = {}
        self.graph: GraphSpec | None = None
        self.scenarios: list[Scenario] = []
        self.readiness: Readiness | None = None
        self.files: list[str] = []


def read_pack(root: str) -> PackParts:
    parts = PackParts()
    if not os.path.isdir(root):
        parts.problems.append(Problem(root, 0, "runbook directory not found"))
        return parts
    parts.files = pack_files(root)
    pack_file, graph_file, readiness_file, *scenario_files = parts.files
    for path in parts.files:
        try:
            if path == pack_file:
                src, obj = expect_document(path, "pack")
                if obj is not None:
                    parts.meta = {
                        "name": obj.text("name"),
                        "title": obj.text("title"),
                        "version": obj.text("version"),
                    }
                    read_sources(obj)
                    obj.done()
            elif path == graph_file:
                src, obj = expect_document(path, "graph")
                if obj is not None:
                    parts.graph = read_graph(obj)
            elif path == readiness_file:
                src, obj = expect_document(path, "readiness")
                if obj is not None:
                    parts.readiness = read_readiness(obj)
            else:
                src, obj = expect_document(path, "scenario")
                if obj is not None:
                    scenario = read_scenario(obj, path)
                    stem = os.path.splitext(os.path.basename(path))[0]
                    if scenario.id and scenario.id != stem:
                        src.problem(
                            obj.line,
                            f"scenario id '{scenario.id}' does not match its file name '{stem}.yaml'",
                        )
                    parts.scenarios.append(scenario)
            parts.problems.extend(src.problems)
        except LoadError as exc:
            parts.problems.extend(exc.problems)
    if parts.graph is not None:
        parts.problems.extend(check_scenarios(parts.graph, parts.scenarios))
        if parts.readiness is not None:
            parts.problems.extend(
                check_texts(readiness_file, parts.readiness.checklist, cluster_ok=False)
            )
    if not scenario_files:
        parts.problems.append(
            Problem(os.path.join(root, "scenarios"), 0, "no scenario files (*.yaml) found")
        )
    return parts
