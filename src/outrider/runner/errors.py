"""Errors of the runner: lifecycle requests it refuses (answered with 400), and which start errors pass.

A task that cannot be started because the agent (or its supervisor) is out of
descriptors or processes for the moment (``EMFILE``, ``ENFILE``, ``EAGAIN``) is
restarted under its restart policy, as Nomad does with a recoverable driver
error; any other start error fails the task.
"""

from __future__ import annotations

import errno

TRANSIENT_START_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.EAGAIN})


def is_transient(exc: OSError) -> bool:
    """Whether a failed start may succeed when tried again later."""
    return exc.errno in TRANSIENT_START_ERRNOS


def os_reason(exc: OSError) -> str:
    """The reason of ``exc`` without its file names: task events are API answers and show no host path."""
    return exc.strerror or type(exc).__name__


class RunnerError(Exception):
    """A request the runner refuses; the message is the text the client gets."""


class TaskNotRunning(RunnerError):
    def __init__(self) -> None:
        super().__init__("Task not running")


class InvalidSignal(RunnerError):
    def __init__(self, name: str) -> None:
        from outrider.gostrconv import quote

        super().__init__(f"invalid signal {quote(name)}")
