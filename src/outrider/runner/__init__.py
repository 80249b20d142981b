"""Running Outrider's own allocations: supervisors, log capture, restart policy, task states.

The names are loaded on first use, so the supervisor (``python -m
outrider.runner.executor``) starts without importing the agent side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outrider.runner.errors import RunnerError, TaskNotRunning
    from outrider.runner.restart import RestartPolicy
    from outrider.runner.service import TaskRunnerService
    from outrider.runner.spec import AllocSpec, LogConfig, TaskSpec

_WHERE = {
    "RunnerError": "outrider.runner.errors",
    "TaskNotRunning": "outrider.runner.errors",
    "RestartPolicy": "outrider.runner.restart",
    "TaskRunnerService": "outrider.runner.service",
    "AllocSpec": "outrider.runner.spec",
    "LogConfig": "outrider.runner.spec",
    "TaskSpec": "outrider.runner.spec",
}

__all__ = [
    "AllocSpec",
    "LogConfig",
    "RestartPolicy",
    "RunnerError",
    "TaskNotRunning",
    "TaskRunnerService",
    "TaskSpec",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'outrider.runner' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
