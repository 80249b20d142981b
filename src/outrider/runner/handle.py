"""Process identity and the small files a supervisor and the agent share.

A pid alone names a process only until it is reused, so every pid Outrider keeps
comes with the process's start time (``/proc/<pid>/stat`` field 22, in clock
ticks since boot); a process "is" the recorded one only when both match.

Each task has a state directory ``<data_dir>/client/tasks/<alloc_id>/<task>/``:

- ``spec.json``: what the supervisor runs (written by the agent before each attempt);
- ``status.json``: what the supervisor reports (its own identity, the task's, and at
  the end the exit code and signal). It is replaced atomically (write, fsync, rename),
  so a reader sees the previous or the next version, never a torn one;
- ``executor.log``: the supervisor's own diagnostics.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

import orjson

SPEC_FILE = "spec.json"
STATUS_FILE = "status.json"
EXECUTOR_LOG = "executor.log"


def task_state_dir(data_dir: str, alloc_id: str, task: str) -> str:
    return os.path.join(data_dir, "client", "tasks", alloc_id, task)


def alloc_state_dir(data_dir: str, alloc_id: str) -> str:
    return os.path.join(data_dir, "client", "tasks", alloc_id)


def start_ticks(pid: int) -> int | None:
    """The start time of a live (not zombie) process, or None when there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields follow the last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


@dataclass(frozen=True)
class ProcessId:
    """A pid together with its start time."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> ProcessId | None:
        start = start_ticks(pid)
        return None if start is None else cls(pid, start)

    def alive(self) -> bool:
        return self.pid > 0 and start_ticks(self.pid) == self.start

    def to_json(self) -> dict[str, int]:
        return {"pid": self.pid, "start": self.start}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ProcessId | None:
        if not data:
            return None
        return cls(int(data["pid"]), int(data["start"]))


def write_json_atomic(path: str, obj: Any) -> None:
    """Replace ``path`` with ``obj`` as JSON so that readers never see a partial file."""
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, orjson.dumps(obj))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_json(path: str) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when the file is missing or unreadable."""
    try:
        with open(path, "rb") as f:
            data = orjson.loads(f.read())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class AttemptStatus:
    """What a supervisor reported about one attempt (``status.json``)."""

    attempt: int
    supervisor: ProcessId | None
    task: ProcessId | None = None
    started_at: int = 0
    cgroup: str | None = None
    start_error: str | None = None
    # The start failed for want of descriptors or processes: worth another attempt.
    start_error_transient: bool = False
    exited: bool = False
    exit_code: int = 0
    signal: int = 0
    finished_at: int = 0
    # Log bytes dropped for want of room on the alloc dir's file system, by stream (``stdout``...).
    log_bytes_dropped: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "supervisor": self.supervisor.to_json() if self.supervisor else None,
            "task": self.task.to_json() if self.task else None,
            "started_at": self.started_at,
            "cgroup": self.cgroup,
            "start_error": self.start_error,
            "start_error_transient": self.start_error_transient,
            "exited": self.exited,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "finished_at": self.finished_at,
            "log_bytes_dropped": self.log_bytes_dropped,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttemptStatus:
        return cls(
            attempt=int(data["attempt"]),
            supervisor=ProcessId.from_json(data.get("supervisor")),
            task=ProcessId.from_json(data.get("task")),
            started_at=int(data.get("started_at") or 0),
            cgroup=data.get("cgroup"),
            start_error=data.get("start_error"),
            start_error_transient=bool(data.get("start_error_transient")),
            exited=bool(data.get("exited")),
            exit_code=int(data.get("exit_code") or 0),
            signal=int(data.get("signal") or 0),
            finished_at=int(data.get("finished_at") or 0),
            log_bytes_dropped={str(k): int(v) for k, v in (data.get("log_bytes_dropped") or {}).items()},
        )

    def save(self, state_dir: str) -> None:
        write_json_atomic(os.path.join(state_dir, STATUS_FILE), self.to_json())

    @classmethod
    def load(cls, state_dir: str) -> AttemptStatus | None:
        data = read_json(os.path.join(state_dir, STATUS_FILE))
        if data is None:
            return None
        try:
            return cls.from_json(data)
        except (KeyError, TypeError, ValueError):
            return None


def remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
