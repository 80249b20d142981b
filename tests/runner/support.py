"""Helpers shared by the runner, jobs and GC tests: bounded waits, clean-up of task processes, log files."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import glob
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from outrider.fs.logfiles import list_log_files
from outrider.runner import cgroup
from outrider.runner.handle import AttemptStatus

T = TypeVar("T")

PR_SET_CHILD_SUBREAPER = 36


class _Deadline:
    """The end of a bounded wait for ``what``."""

    def __init__(self, timeout: float, what: object) -> None:
        self.timeout = timeout
        self.what = what
        self.at = time.monotonic() + timeout

    def check(self) -> None:
        if time.monotonic() >= self.at:
            raise AssertionError(f"timed out after {self.timeout}s waiting for {self.what}")


def wait_for(
    check: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = _Deadline(timeout, what or check)
    while not (got := check()):
        deadline.check()
        time.sleep(interval)
    return got


async def until(check: Callable[[], T | None], what: str, timeout: float = 20.0, interval: float = 0.01) -> T:
    """:func:`wait_for` on an event loop: poll ``check`` without blocking the loop."""
    deadline = _Deadline(timeout, what)
    while not (got := check()):
        deadline.check()
        await asyncio.sleep(interval)
    return got


def place(http: httpx.Client, job: dict[str, Any], status: str) -> list[str]:
    """Register ``job`` and wait (bounded) until each of its allocations has ``status``; their IDs."""
    resp = http.post("/v1/jobs", json={"Job": job})
    assert resp.status_code == 200, resp.text
    ids = [a["ID"] for a in http.get(f"/v1/job/{job['ID']}/allocations").json()]
    for alloc_id in ids:
        wait_for(
            lambda i=alloc_id: http.get(f"/v1/allocation/{i}").json()["ClientStatus"] == status,
            what=f"{alloc_id} to be {status}",
        )
    return ids


def log_indexes(log_dir: Path, task: str, log_type: str) -> list[int]:
    """The indexes of the task's log files of one type in ``log_dir``, in order."""
    fd = os.open(log_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return [f.index for f in list_log_files(fd, task, log_type)]
    finally:
        os.close(fd)


def statuses(data_dir: Path) -> list[AttemptStatus]:
    """Every attempt status under ``<data_dir>/client/tasks``."""
    found = []
    for path in glob.glob(str(data_dir / "client" / "tasks" / "*" / "*")):
        status = AttemptStatus.load(path)
        if status is not None:
            found.append(status)
    return found


def live_processes(data_dir: Path) -> list[int]:
    """Supervisors and tasks of ``data_dir`` that are still alive."""
    pids = []
    for status in statuses(data_dir):
        for ident in (status.supervisor, status.task):
            if ident is not None and ident.alive():
                pids.append(ident.pid)
    return pids


def kill_leftovers(data_dir: Path) -> list[int]:
    """SIGKILL every live supervisor and task group of ``data_dir``; return the pids that were alive."""
    alive = []
    for status in statuses(data_dir):
        if status.task is not None and status.task.alive():
            alive.append(status.task.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(status.task.pid, signal.SIGKILL)
        if status.supervisor is not None and status.supervisor.alive():
            alive.append(status.supervisor.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(status.supervisor.pid, signal.SIGKILL)
    wait_for(lambda: not live_processes(data_dir), 10, what="leftover processes to die")
    reap_adopted(data_dir)
    for status in statuses(data_dir):
        if status.cgroup:
            cgroup.remove(status.cgroup, timeout=5.0)
    return alive


def reap_adopted(data_dir: Path) -> None:
    """Collect the supervisors and tasks of ``data_dir`` that became our children (see :func:`adopt_orphans`).

    Only those pids: a blanket ``waitpid(-1)`` would also take the exit status of
    agent processes that other fixtures wait for.
    """
    for status in statuses(data_dir):
        for ident in (status.supervisor, status.task):
            if ident is not None:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(ident.pid, os.WNOHANG)


@contextlib.contextmanager
def adopt_orphans() -> Iterator[None]:
    """Make this process the subreaper of its descendants for the block.

    Supervisors outlive a killed agent by design; as our orphans they can be reaped
    by the test instead of lingering as zombies of an init that does not reap.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@contextlib.contextmanager
def tmpfs(path: Path, size: str, inodes: int = 0) -> Iterator[Path]:
    """A tmpfs of ``size`` (and at most ``inodes`` inodes, unless 0) mounted on ``path`` for the block."""
    options = f"size={size}" + (f",nr_inodes={inodes}" if inodes else "")
    path.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fill(directory: Path) -> Path:
    """Write a filler file into ``directory`` until its file system has no room left."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 16, 512):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler
