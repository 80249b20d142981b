"""State writes that must land eventually, retried with backoff while the database cannot take them.

A full disk (``database or disk is full``), an I/O error or a database locked past
its busy timeout makes a write fail now, not for good. The task runner must not
die of it (its tasks go on running and their next events still matter), nor stop
the event loop to wait: it hands its writes to a :class:`RetryingWriter`, which
tries each at once and, when SQLite refuses, keeps it and tries again with
exponential backoff until it lands, logging the failure and the recovery.

Writes are keyed, and a newer write of a key replaces an older one that is still
waiting: each write stores the whole current record (a task's state, an
allocation's status), so only the latest one matters. Writes of one key keep
their order; writes of different keys may land in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Hashable

log = logging.getLogger("outrider.state")

FIRST_DELAY = 0.05
"""Seconds before the first retry."""

MAX_DELAY = 5.0
"""The longest wait between two retries."""

REPEAT_LOG_INTERVAL = 30.0
"""Seconds between two warnings about the same write still failing."""

Write = Callable[[], None]


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed write may succeed later: any ``OperationalError`` (full, I/O, locked, busy, read-only).

    Constraint and programming errors are bugs, not conditions of the machine, and are raised.
    """
    return isinstance(exc, sqlite3.OperationalError)


class RetryingWriter:
    """Writes to the state DB that are retried until they land; see the module docstring.

    Args:
        what: names the writer in log lines (``runner``).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._pending: dict[Hashable, Write] = {}
        self._failing_since: dict[Hashable, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._delay = FIRST_DELAY
        self._logged_at = 0.0
        self._attempts = 0

    @property
    def pending(self) -> int:
        """Writes waiting for a retry."""
        return len(self._pending)

    def write(self, key: Hashable, write: Write) -> bool:
        """Run ``write`` now; True when it landed, False when it waits for a retry.

        Raises only errors that are not worth retrying (see :func:`is_retryable`).
        """
        if key in self._pending:
            # An older write of this key waits: this one replaces it, and keeps the order.
            self._pending[key] = write
            self._schedule()
            return False
        try:
            write()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            self._defer(key, write, exc)
            return False
        return True

    def _defer(self, key: Hashable, write: Write, exc: BaseException) -> None:
        first = not self._pending
        self._pending[key] = write
        self._failing_since.setdefault(key, time.monotonic())
        if first:
            self._delay = FIRST_DELAY
            self._attempts = 1
            self._logged_at = time.monotonic()
            log.warning(
                "state write failed; retrying with backoff",
                extra={"writer": self.what, "key": _key_text(key), "error": str(exc)},
            )
        self._schedule()

    def _schedule(self) -> None:
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: the next write() schedules it
                self._task = asyncio.get_running_loop().create_task(
                    self._retry(), name=f"{self.what} state retry"
                )

    async def _retry(self) -> None:
        while self._pending:
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, MAX_DELAY)
            self._flush()

    def _flush(self) -> None:
        """Try every waiting write once, in the order they were first deferred."""
        self._attempts += 1
        for key in list(self._pending):
            write = self._pending[key]
            try:
                write()
            except Exception as exc:
                if not is_retryable(exc):
                    self._pending.pop(key)
                    self._failing_since.pop(key, None)
                    log.exception(
                        "state write failed for good", extra={"writer": self.what, "key": _key_text(key)}
                    )
                    continue
                now = time.monotonic()
                if now - self._logged_at >= REPEAT_LOG_INTERVAL:
                    self._logged_at = now
                    log.warning(
                        "state writes still failing",
                        extra={
                            "writer": self.what,
                            "pending": len(self._pending),
                            "attempts": self._attempts,
                            "error": str(exc),
                        },
                    )
                return  # the database still refuses: the rest waits for the next round too
            del self._pending[key]
            since = self._failing_since.pop(key, time.monotonic())
            if not self._pending:
                log.info(
                    "state writes recovered",
                    extra={
                        "writer": self.what,
                        "attempts": self._attempts,
                        "failing_for_s": round(time.monotonic() - since, 3),
                    },
                )

    async def close(self) -> None:
        """Stop retrying after one last try; writes still failing then are logged as lost."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending:
            self._flush()
        if self._pending:
            log.error(
                "state writes lost at shutdown",
                extra={"writer": self.what, "keys": [_key_text(k) for k in self._pending]},
            )
            self._pending.clear()


def _key_text(key: Hashable) -> str:
    return "/".join(str(part) for part in key) if isinstance(key, tuple) else str(key)
