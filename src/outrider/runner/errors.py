"""Errors of the runner's lifecycle requests (restart, signal); the HTTP layer answers them with 400."""

from __future__ import annotations


class RunnerError(Exception):
    """A request the runner refuses; the message is the text the client gets."""


class TaskNotRunning(RunnerError):
    def __init__(self) -> None:
        super().__init__("Task not running")


class InvalidSignal(RunnerError):
    def __init__(self, name: str) -> None:
        from outrider.gostrconv import quote

        super().__init__(f"invalid signal {quote(name)}")
