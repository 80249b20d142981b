"""Errors of the jobs API; the HTTP layer answers each with its status and message."""

from __future__ import annotations


class JobError(Exception):
    """A request about jobs that cannot be served; ``status`` is the HTTP status (400 unless said)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
