"""Route modules share code only through the HTTP toolkit: no ``routes_*`` module imports another.

The checks every handler makes live in :mod:`outrider.http.prologue` (and the
other non-route modules of ``outrider.http``); a helper that one route module
needs from another belongs there instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import outrider.http

HTTP_DIR = Path(outrider.http.__file__).parent
PACKAGE = "outrider.http"
ROUTE_MODULES = sorted(HTTP_DIR.glob("routes_*.py"))


def imported_modules(source: str, package: str = PACKAGE) -> set[str]:
    """Every module ``source`` imports, anywhere in it (``TYPE_CHECKING`` blocks and functions included), as an absolute name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            # "from outrider.http import routes_fs" imports the submodule itself.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def route_imports(source: str) -> set[str]:
    """The ``outrider.http.routes_*`` modules that ``source`` imports."""
    prefix = f"{PACKAGE}.routes_"
    return {name for name in imported_modules(source) if name.startswith(prefix) and name.count(".") == 2}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from outrider.http.routes_fs import lookup", {"outrider.http.routes_fs"}),
        ("from outrider.http import routes_meta", {"outrider.http.routes_meta"}),
        ("import outrider.http.routes_stats as s", {"outrider.http.routes_stats"}),
        ("from .routes_fs import begin", {"outrider.http.routes_fs"}),
        ("from . import routes_jobs", {"outrider.http.routes_jobs"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from outrider.http.routes_node import node_view",
            {"outrider.http.routes_node"},
        ),
        ("def f():\n    from outrider.http.routes_alloc import _begin", {"outrider.http.routes_alloc"}),
        ("from outrider.http.prologue import begin\nfrom outrider.http import auth", set()),
        ("from outrider.http.responses import json_response", set()),
    ],
)
def test_route_imports_finds_every_spelling(source: str, expected: set[str]) -> None:
    assert route_imports(source) == expected


def test_there_are_route_modules() -> None:
    names = {path.stem for path in ROUTE_MODULES}
    assert {"routes_fs", "routes_stream", "routes_logs", "routes_stats", "routes_alloc"} <= names


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda path: path.stem)
def test_routes_never_import_routes(path: Path) -> None:
    assert route_imports(path.read_text()) == set(), f"{path.name} imports another route module"
