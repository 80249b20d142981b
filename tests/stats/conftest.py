"""Real processes for the sampling tests: a child burning one core, and a small process tree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

BURN = "import time\nwhile True:\n    pass\n"
# A parent that starts a sleeping child, prints the child's pid, then sleeps itself.
TREE = (
    "import subprocess, sys, time\n"
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print(c.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def _spawn(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def _reap(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def busy_child() -> Iterator[subprocess.Popen[str]]:
    """A child process spinning on one core until the test ends."""
    proc = _spawn(BURN)
    try:
        yield proc
    finally:
        _reap(proc)


@pytest.fixture
def process_tree() -> Iterator[tuple[int, int]]:
    """``(parent_pid, child_pid)`` of a two-process tree."""
    proc = _spawn(TREE)
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        yield proc.pid, child
    finally:
        try:
            os.kill(child, 9)
        except ProcessLookupError:
            pass
        _reap(proc)
        # The grandchild is re-parented to init once its parent dies; give it a moment to go.
        time.sleep(0.01)
