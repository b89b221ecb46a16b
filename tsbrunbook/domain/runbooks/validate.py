"""The `validate` command: lint packs, directories and single files; report all, stop at nothing.

Exercise files are checked by a function the caller passes in (`domain/exercise.py` reads
exercises with this package, so this package must not import it back).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

from ..errors import LoadError, Problem
from ..model import GraphSpec
from .checks import check_scenarios, check_texts
from .documents import read_document
from .estate import read_estate
from .fields import read_sources
from .graph import read_graph
from .pack import read_pack
from .paths import runbooks_dir
from .scenario import read_scenario
from .steps import read_readiness

# Checks one exercise file (against the bundled pack and the exercise's estate): its problems.
ExerciseCheck = Callable[[str], list[Problem]]


def validate_paths(paths: list[str], *, check_exercise: ExerciseCheck) -> tuple[list[Problem], int]:
    """Lint runbook packs, scenario, readiness, estate and exercise files.

    Returns (problems, files checked). `check_exercise` is called for each exercise file.
    """
    problems: list[Problem] = []
    checked = 0
    bundled_graph: GraphSpec | None = None

    def graph() -> GraphSpec | None:
        nonlocal bundled_graph
        if bundled_graph is None:
            bundled_graph = read_pack(runbooks_dir()).graph
        return bundled_graph

    for path in paths:
        if os.path.isdir(path) and os.path.isfile(os.path.join(path, "pack.yaml")):
            parts = read_pack(path)
            problems.extend(parts.problems)
            checked += len(parts.files)
            extra = sorted(
                glob.glob(os.path.join(path, "estates", "*.yaml"))
                + glob.glob(os.path.join(path, "exercises", "*.yaml"))
            )
            sub, n = validate_paths(extra, check_exercise=check_exercise)
            problems.extend(sub)
            checked += n
            continue
        if os.path.isdir(path):
            files = sorted(
                glob.glob(os.path.join(path, "**", "*.yaml"), recursive=True)
                + glob.glob(os.path.join(path, "**", "*.yml"), recursive=True)
            )
            if not files:
                problems.append(Problem(path, 0, "no YAML files in this directory"))
            sub, n = validate_paths(files, check_exercise=check_exercise)
            problems.extend(sub)
            checked += n
            continue
        checked += 1
        try:
            src, key, obj = read_document(path)
        except LoadError as exc:
            problems.extend(exc.problems)
            continue
        if obj is not None:
            if key == "scenario":
                scenario = read_scenario(obj, path)
                g = graph()
                if g is not None:
                    src.problems.extend(check_scenarios(g, [scenario]))
            elif key == "estate":
                read_estate(obj, path)
            elif key == "readiness":
                readiness = read_readiness(obj)
                src.problems.extend(check_texts(path, readiness.checklist, cluster_ok=False))
            elif key == "graph":
                read_graph(obj)
            elif key == "exercise":
                src.problems = check_exercise(path)
            elif key == "pack":
                obj.text("name"), obj.text("title"), obj.text("version")
                read_sources(obj)
                obj.done()
        problems.extend(sorted(src.problems, key=lambda p: p.line))
    return problems, checked
