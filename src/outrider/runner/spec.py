"""What a task is (``TaskSpec``, from the job) and what one attempt runs (``LaunchSpec``, for the supervisor)."""

from __future__ import annotations

import dataclasses
import signal
from dataclasses import dataclass, field
from typing import Any

from outrider.runner.env import AllocContext
from outrider.runner.restart import RestartPolicy

MIB = 1024 * 1024

DEFAULT_MAX_FILES = 10
DEFAULT_MAX_FILE_SIZE_MB = 10
DEFAULT_KILL_SIGNAL = "SIGINT"
DEFAULT_KILL_TIMEOUT = 5_000_000_000  # ns


def signal_number(name: str) -> int | None:
    """The number of a signal named like Nomad names them (``SIGTERM``), or None when unknown."""
    if not name.startswith("SIG") or name.startswith("SIG_"):
        return None
    try:
        return int(signal.Signals[name])
    except KeyError:
        return None


@dataclass(frozen=True)
class LogConfig:
    """A task's ``LogConfig``: how many rotated files of how many bytes, or no capture at all."""

    max_files: int = DEFAULT_MAX_FILES
    max_file_size: int = DEFAULT_MAX_FILE_SIZE_MB * MIB
    disabled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"max_files": self.max_files, "max_file_size": self.max_file_size, "disabled": self.disabled}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogConfig:
        return cls(int(data["max_files"]), int(data["max_file_size"]), bool(data["disabled"]))


@dataclass(frozen=True)
class TaskSpec:
    """One task of a group, as the runner needs it: validated, defaults applied."""

    name: str
    command: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    kill_signal: str = DEFAULT_KILL_SIGNAL
    kill_timeout: int = DEFAULT_KILL_TIMEOUT
    logs: LogConfig = field(default_factory=LogConfig)
    restart: RestartPolicy = field(default_factory=lambda: RestartPolicy.default("service"))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "args": self.args,
            "env": self.env,
            "kill_signal": self.kill_signal,
            "kill_timeout": self.kill_timeout,
            "logs": self.logs.to_json(),
            "restart": self.restart.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskSpec:
        return cls(
            name=str(data["name"]),
            command=str(data["command"]),
            args=[str(a) for a in data["args"]],
            env={str(k): str(v) for k, v in data["env"].items()},
            kill_signal=str(data["kill_signal"]),
            kill_timeout=int(data["kill_timeout"]),
            logs=LogConfig.from_json(data["logs"]),
            restart=RestartPolicy.from_json(data["restart"]),
        )


@dataclass(frozen=True)
class LaunchSpec:
    """Everything the supervisor of one attempt needs (``spec.json``)."""

    attempt: int
    task: str
    argv: list[str]
    cwd: str
    env: dict[str, str]
    log_dir: str
    logs: LogConfig
    kill_signal: int
    kill_timeout: int  # ns
    cgroup: str | None = None  # a cgroup v2 directory to create and run the task in

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "task": self.task,
            "argv": self.argv,
            "cwd": self.cwd,
            "env": self.env,
            "log_dir": self.log_dir,
            "logs": self.logs.to_json(),
            "kill_signal": self.kill_signal,
            "kill_timeout": self.kill_timeout,
            "cgroup": self.cgroup,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LaunchSpec:
        return cls(
            attempt=int(data["attempt"]),
            task=str(data["task"]),
            argv=[str(a) for a in data["argv"]],
            cwd=str(data["cwd"]),
            env={str(k): str(v) for k, v in data["env"].items()},
            log_dir=str(data["log_dir"]),
            logs=LogConfig.from_json(data["logs"]),
            kill_signal=int(data["kill_signal"]),
            kill_timeout=int(data["kill_timeout"]),
            cgroup=data.get("cgroup"),
        )


@dataclass(frozen=True)
class AllocSpec:
    """What an allocation was placed with; stored with it and never changed afterwards."""

    job: dict[str, Any]  # the job (Nomad's JSON shape) at the version the allocation runs
    job_version: int
    eval_id: str
    job_type: str
    context: AllocContext
    tasks: list[TaskSpec]

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "job_version": self.job_version,
            "eval_id": self.eval_id,
            "job_type": self.job_type,
            "context": dataclasses.asdict(self.context),
            "tasks": [t.to_json() for t in self.tasks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AllocSpec:
        return cls(
            job=dict(data["job"]),
            job_version=int(data["job_version"]),
            eval_id=str(data["eval_id"]),
            job_type=str(data["job_type"]),
            context=AllocContext(**data["context"]),
            tasks=[TaskSpec.from_json(t) for t in data["tasks"]],
        )
