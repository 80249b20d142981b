"""Comments and docstrings cite what a maintainer can look up, never sections of an outside document.

A citation names the Nomad source file and function a behaviour comes from (for
example ``client/fs_endpoint.go`` ``streamFile``) or states the behaviour itself.
A numbered section of a document that is not in this repository cannot be
followed, so no source, test or benchmark file may cite one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED_DIRS = ("src", "ext", "tests", "bench")
# Build outputs are not kept in the repository (see .gitignore): compiled modules,
# Cython's generated C and byte code.
SKIPPED_SUFFIXES = {".so", ".c", ".pyc", ".pyo", ".html"}
SKIPPED_PARTS = {"__pycache__", "build"}

# "spec" and the section sign, with any spacing and case; written with an escape so this
# file does not match itself.
SECTION_CITATION = re.compile(r"\bspec\s*\u00a7", re.IGNORECASE)


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix in SKIPPED_SUFFIXES:
                continue
            if SKIPPED_PARTS.intersection(path.relative_to(ROOT).parts):
                continue
            files.append(path)
    return files


def section_citations(text: str) -> list[tuple[int, str]]:
    """Return ``(line number, line)`` for every line that cites a spec section."""
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if SECTION_CITATION.search(line)
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("# Offsets advance before the send (spec \u00a75.4).", True),
        ('"""Routing (Spec \u00a71.1)."""', True),
        ("# see spec\u00a718 item 3", True),
        ("# Offsets advance before the send (``client/fs_endpoint.go`` ``streamFile``).", False),
        ("# RFC 9112, 7.1: chunked transfer coding", False),
    ],
)
def test_the_detector_finds_section_citations(text: str, found: bool) -> None:
    assert bool(section_citations(text)) is found


def test_the_scan_covers_the_code() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in scanned_files()}
    assert "src/outrider/http/app.py" in names
    assert "tests/test_citations.py" in names
    assert any(name.startswith("ext/") and name.endswith(".pyx") for name in names)
    assert any(name.startswith("bench/") for name in names)


def test_no_file_cites_spec_sections() -> None:
    offenders = []
    for path in scanned_files():
        text = path.read_bytes().decode("utf-8", errors="replace")
        rel = path.relative_to(ROOT).as_posix()
        offenders.extend(f"{rel}:{number}: {line}" for number, line in section_citations(text))
    assert not offenders, "cite the Nomad source file and function instead:\n" + "\n".join(offenders)
