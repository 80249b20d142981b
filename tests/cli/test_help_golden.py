"""``outrider --help`` and each group's help, compared with the golden files in ``tests/cli/golden``.

Run with ``OUTRIDER_UPDATE_GOLDEN=1`` to rewrite the files after a deliberate change
(the test still fails that run, so a change is never accepted silently).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.support import ok

GOLDEN = Path(__file__).parent / "golden"
HELP_PAGES = {
    "outrider": (),
    "job": ("job",),
    "alloc": ("alloc",),
    "node": ("node",),
    "node-meta": ("node", "meta"),
    "operator": ("operator",),
    "system": ("system",),
    "acl": ("acl",),
    "acl-policy": ("acl", "policy"),
    "acl-token": ("acl", "token"),
}


@pytest.mark.parametrize("page", sorted(HELP_PAGES))
def test_help_matches_golden_file(page: str) -> None:
    text = ok(*HELP_PAGES[page], "--help")
    golden = GOLDEN / f"{page}.txt"
    if os.environ.get("OUTRIDER_UPDATE_GOLDEN"):
        golden.write_text(text)
        pytest.fail(f"rewrote {golden.name}; review the diff and run again without OUTRIDER_UPDATE_GOLDEN")
    assert golden.exists(), f"no golden file {golden.name}: run once with OUTRIDER_UPDATE_GOLDEN=1"
    assert text == golden.read_text()


@pytest.mark.parametrize("spelling", ["-h", "-help", "--help"])
def test_every_help_spelling_prints_the_same_page(spelling: str) -> None:
    assert ok("alloc", spelling) == (GOLDEN / "alloc.txt").read_text()


def test_every_command_has_help_with_general_options() -> None:
    for words in (
        ("job", "run"), ("job", "status"), ("job", "stop"), ("alloc", "status"), ("alloc", "logs"),
        ("alloc", "fs"), ("alloc", "restart"), ("alloc", "signal"), ("alloc", "stats"), ("node", "status"),
        ("node", "meta", "read"), ("node", "meta", "apply"), ("operator", "api"), ("system", "gc"),
        ("acl", "bootstrap"), ("acl", "policy", "apply"), ("acl", "policy", "list"), ("acl", "policy", "info"),
        ("acl", "policy", "delete"), ("acl", "token", "create"), ("acl", "token", "list"),
        ("acl", "token", "info"), ("acl", "token", "self"), ("acl", "token", "delete"),
    ):  # fmt: skip
        text = ok(*words, "-h")
        assert text.startswith(f"Usage: outrider {' '.join(words)} "), words
        assert "General Options:" in text and "-address, --address ADDR" in text, words


def test_agent_help_is_still_the_agent_parser() -> None:
    text = ok("agent", "--help")
    assert text.startswith("usage: outrider agent")
    assert "--data-dir DIR" in text
