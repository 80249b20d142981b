"""Fixtures of the state tests: a state database in a fresh data dir, and a writer process to kill."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from outrider.state.db import StateDB, StateError


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the agent keeps its state under a data dir: ``<data_dir>/client/state.db``."""
    return tmp_path / "data" / "client" / "state.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[StateDB]:
    state = StateDB(str(db_path))
    yield state
    state.close()


def open_error(path: Path, error: type[Exception] = StateError) -> str:
    """The text of the ``error`` that opening the state database at ``path`` raises.

    ``StateDB.__init__`` does not close the connection it opened when it raises: the
    connection goes with the half-built object, which the traceback keeps alive, so
    the garbage collector closes it (the agent exits at once then anyway).
    """
    try:
        StateDB(str(path))
    except error as exc:
        message = str(exc)
    else:
        pytest.fail(f"{path} opened")
    gc.collect()
    return message


class Writer:
    """A child process running ``body`` against a state database, one acknowledgement a line."""

    PROLOGUE = "import sys\nfrom outrider.state.db import StateDB, StateError\ndb = StateDB(sys.argv[1])\n"

    def __init__(self, db_path: Path, body: str) -> None:
        script = self.PROLOGUE + textwrap.dedent(body)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, str(db_path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.acked: list[str] = []

    def read(self, count: int) -> list[str]:
        """The next ``count`` acknowledgements (the child prints each once it is committed)."""
        assert self.proc.stdout is not None
        for _ in range(count):
            line = self.proc.stdout.readline()
            assert line, f"the writer exited early with {self.proc.wait(10)}"
            self.acked.append(line.strip())
        return self.acked

    def kill(self) -> list[str]:
        """``kill -9`` the child; return every acknowledgement it made before it died."""
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.stdout is not None
        self.acked.extend(line.strip() for line in self.proc.stdout)
        self.proc.stdout.close()
        assert self.proc.wait(10) == -signal.SIGKILL
        return self.acked


@pytest.fixture
def writer(db_path: Path) -> Iterator[Callable[[str], Writer]]:
    """Start a :class:`Writer` on the test's database; one still running at the end is killed."""
    started: list[Writer] = []

    def start(body: str) -> Writer:
        started.append(Writer(db_path, body))
        return started[-1]

    yield start
    for child in started:
        if child.proc.poll() is None:
            child.kill()
