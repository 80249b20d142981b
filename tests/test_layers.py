"""The package's import graph: no cycles, and no module imports from a layer above its own.

Every ``import`` and ``from ... import`` of an ``outrider`` module counts, wherever it
stands: at the top, inside a function, or under ``if TYPE_CHECKING:``. A module that
fits no layer below is an error too, so a new module is placed on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

# Lowest first. A module may import from its own layer and from the layers before it.
# ``name`` is one module; ``name.*`` is a package and everything beneath it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "outrider",
            "outrider.config",
            "outrider.config_hcl",
            "outrider.errors",
            "outrider.gostrconv",
            "outrider.goduration",
            "outrider.gojson",
            "outrider.hcl1.*",
            "outrider.logsetup",
            "outrider.metrics",
            "outrider._impl",
            "outrider._native.*",
        ),
    ),
    ("state", ("outrider.state.*",)),
    ("acl", ("outrider.acl.*",)),
    ("allocations", ("outrider.allocs",)),
    ("fs", ("outrider.fs.*",)),
    ("meta", ("outrider.meta.*",)),
    ("stats", ("outrider.stats.*",)),
    ("stream", ("outrider.stream.*",)),
    ("runner", ("outrider.runner.*",)),
    ("jobs", ("outrider.jobs.*",)),
    ("fleet", ("outrider.fleet.*",)),
    ("agent", ("outrider.agent",)),
    ("http", ("outrider.http.*",)),
    ("server", ("outrider.server", "outrider._hypercorn_fix", "outrider.connlimit", "outrider.conn_guard")),
    ("cli", ("outrider.cli.*", "outrider.__main__")),
]


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((SRC / "outrider").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """The ``outrider`` modules that module ``name`` imports, with the line of each import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                # ``from outrider.stream import follower`` imports the submodule itself.
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in MODULES else target), node.lineno


def _graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges = graph.setdefault(name, {})
        for target, line in _imported(name, path):
            if target != name and (target == "outrider" or target.startswith("outrider.")):
                edges.setdefault(target, line)
    return graph


def _layer_of(module: str) -> int | None:
    for rank, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if pattern.endswith(".*"):
                package = pattern[:-2]
                if module == package or module.startswith(package + "."):
                    return rank
            elif module == pattern:
                return rank
    return None


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in MODULES if _layer_of(name) is None]
    assert not unplaced, f"add these modules to LAYERS in {Path(__file__).name}: {unplaced}"


def test_every_import_names_a_module_that_exists() -> None:
    missing = [
        f"{name} imports {target} (line {line})"
        for name, edges in _graph().items()
        for target, line in edges.items()
        if target not in MODULES
    ]
    assert not missing


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = []
    for name, edges in _graph().items():
        own = _layer_of(name)
        for target, line in edges.items():
            theirs = _layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                upward.append(
                    f"{MODULES[name].relative_to(SRC)}:{line}: {name} ({LAYERS[own][0]}) "
                    f"imports {target} ({LAYERS[theirs][0]})"
                )
    assert not upward, "\n".join(upward)


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycles() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b": 1}, "b": {"c": 1}, "c": {}}, []),
        ({"a": {"b": 1}, "b": {"a": 1}}, [["a", "b"]]),
        ({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}, [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, dict[str, int]], expected: list[list[str]]) -> None:
    assert _cycles(graph) == expected


def test_imports_are_read_everywhere_in_a_module(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "import outrider.config\n"
        "from outrider.stream import watcher\n"
        "if TYPE_CHECKING:\n"
        "    from outrider.agent import Agent\n"
        "def f() -> None:\n"
        "    from outrider.http.errors import APIError\n"
    )
    found = {target for target, _ in _imported("outrider.fs.mod", path)}
    assert {"outrider.config", "outrider.stream.watcher", "outrider.agent", "outrider.http.errors"} <= found
    assert _layer_of("outrider.stream.watcher") == _layer_of("outrider.stream")
    assert _layer_of("outrider.agentx") is None
