"""No import circles among the domain's modules, read from the source with `ast`.

Every `import` counts wherever it stands: at module level, inside a function (a deferred import
still ties the two modules together and only hides the circle until that code runs) and under
`if TYPE_CHECKING:`. Importing `a.b.c` also imports the packages `a.b` and `a`, so those count
as edges too. The test reads files only; nothing is imported, so it cannot be fooled by what
happens to be in `sys.modules`.
"""

from __future__ import annotations

import ast
import itertools
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The packages whose modules must not import each other in a circle.
PACKAGES = ("tsbrunbook",)


def modules_of(package: str, root: Path = ROOT) -> dict[str, Path]:
    """Every module and subpackage under `package`, by dotted name (a package by its __init__)."""
    base = root.joinpath(*package.split("."))
    found = {}
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name that `from <dots><name> import …` in `module` refers to."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def _with_parents(name: str, known: dict[str, Path]) -> set[str]:
    """`name` and the packages above it, those of them that are `known` modules."""
    parts = name.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts) + 1)} & known.keys()


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts))}


def imports_of(module: str, known: dict[str, Path]) -> dict[str, int]:
    """The known modules `module` imports (anywhere in its source), each with a line number."""
    path = known[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: dict[str, int] = {}
    for node in ast.walk(tree):
        targets: set[str] = set()
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets |= _with_parents(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, path.name == "__init__.py", node)
            targets |= _with_parents(base, known)
            for alias in node.names:  # `from . import template` imports a submodule
                targets |= _with_parents(f"{base}.{alias.name}", known)
        else:
            continue
        # A module's own packages are initialised before it runs, so naming them (as every
        # `from .sibling import x` does) adds no edge; a package importing its own submodules
        # is the only direction that counts.
        for target in targets - {module} - _ancestors(module):
            out.setdefault(target, node.lineno)
    return out


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each strongly connected group of two or more modules, as one circle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iteratively (no recursion limit)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return [_circle_through(group, graph) for group in sorted(groups)]


def _circle_through(group: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest circle from the group's first module back to itself, for the message."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child in members and child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    return group  # unreachable for a strongly connected group


def describe(circle: list[str], graph: dict[str, dict[str, int]]) -> str:
    steps = [f"{a} (line {graph[a][b]}) → {b}" for a, b in itertools.pairwise(circle)]
    return "; ".join(steps)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package):
    known = modules_of(package)
    assert len(known) >= 10, f"found only {sorted(known)}: is {package} where the test looks?"
    graph = {name: imports_of(name, known) for name in known}
    circles = import_cycles(graph)
    assert not circles, "import circles:\n" + "\n".join(describe(c, graph) for c in circles)


# The checker itself, on small trees written to tmp_path: it must see each kind of import.


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, dict[str, int]]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    known = modules_of("pkg", tmp_path)
    return {name: imports_of(name, known) for name in known}


@pytest.mark.parametrize(
    "a_imports",
    [
        "from .b import thing\n",  # module level, relative
        "import pkg.b\n",  # module level, absolute
        "def f():\n    from .b import thing\n",  # deferred, inside a function
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n",
        "from .sub import deep\n",  # a submodule named in `from … import`
    ],
)
def test_checker_finds_a_circle(tmp_path, a_imports):
    graph = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": a_imports,
            "pkg/b.py": "from . import a\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/deep.py": "from ..b import x\n",
        },
    )
    circles = import_cycles(graph)
    assert len(circles) == 1 and circles[0][0] == circles[0][-1] == "pkg.a", circles


def test_checker_accepts_a_one_way_tree(tmp_path):
    graph = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from .sub.deep import x\nimport os\n",
            "pkg/b.py": "from . import a\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/deep.py": "from ..c import y\n",
            "pkg/c.py": "VALUE = 1\n",
        },
    )
    # `pkg` itself is no edge: a module's own package is initialised before it runs.
    assert graph["pkg.a"].keys() == {"pkg.sub", "pkg.sub.deep"}
    assert import_cycles(graph) == []
