"""The logs of every allocation of a job as one stream: the source behind ``GET /v1/job/<id>/logs``.

Nomad has no such endpoint (hashicorp/nomad#10308); ``stern`` and ``kubectl logs -l``
are the model. Each (allocation, task) is one :class:`~outrider.stream.log_lines.LogLinesSource`
whose lines carry their origin; their output is interleaved line by line as it comes
(never mid-line), in no order across allocations. At most ``max_streams`` are read at
once; the others wait for a slot. In a follow, the request's ``discover`` callback is
asked again every :data:`DISCOVER_INTERVAL` seconds for allocations placed since (a
restart, a re-registered job), and the stream ends once the job is over (stopped or
gone, every allocation terminal) and every stream is drained.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from outrider.stream.log_lines import LogLinesSource

DISCOVER_INTERVAL = 0.5
"""Seconds between two looks for new allocations in a follow."""

_PER_CALL = 64 * 1024  # output gathered per produce() call before handing it to the sender

Discover = Callable[[], tuple[list[Callable[[], LogLinesSource | None]], bool]]
"""Returns openers of the (allocation, task) streams not offered before, and whether the job
is over (no stream will be offered again). An opener returns None when that stream cannot
be read (yet: it is offered again later)."""


def _noop() -> None:
    pass


class JobLogsSource:
    """One stream of a whole job's logs; a :class:`~outrider.stream.sender.Source`.

    Args:
        discover: what to read (see :data:`Discover`); called once at once, then while following.
        follow: keep looking for allocations and following their logs.
        max_streams: how many (allocation, task) streams are read at once.
    """

    def __init__(self, discover: Discover, *, follow: bool, max_streams: int) -> None:
        self._discover = discover
        self._follow = follow
        self._max = max_streams
        self._waiting: deque[Callable[[], LogLinesSource | None]] = deque()
        self._active: list[LogLinesSource] = []
        self._over = False
        self._closed = False
        self._next = 0
        self._wake: Callable[[], None] = _noop
        self._timer: asyncio.TimerHandle | None = None
        self._look()

    def bind(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._fill()
        if self._follow and not self._over:
            self._timer = asyncio.get_running_loop().call_later(DISCOVER_INTERVAL, self._tick)

    @property
    def done(self) -> bool:
        return self._closed or (self._over and not self._waiting and not self._active)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for source in self._active:
            source.close()
        self._active = []
        self._waiting.clear()

    def produce(self) -> bytes:
        out: list[bytes] = []
        size = 0
        active = self._active
        # Round robin from where the last call stopped, so no stream starves the others.
        for _ in range(len(active)):
            if not active or size >= _PER_CALL:
                break
            i = self._next % len(active)
            source = active[i]
            chunk = source.produce()
            if chunk:
                out.append(chunk)
                size += len(chunk)
            if source.done:
                source.close()
                del active[i]
                self._fill()
            else:
                self._next = i + 1
        if not self._follow and not self._waiting and not active:
            self._over = True
        return b"".join(out)

    # -- finding streams -------------------------------------------------------------------------

    def _look(self) -> None:
        openers, over = self._discover()
        self._waiting.extend(openers)
        self._over = over or not self._follow

    def _fill(self) -> None:
        retry: list[Callable[[], LogLinesSource | None]] = []
        while self._waiting and len(self._active) < self._max:
            opener = self._waiting.popleft()
            source = opener()
            if source is None:
                if self._follow and not self._over:
                    retry.append(opener)
                continue
            source.bind(self._wake)
            self._active.append(source)
        self._waiting.extend(retry)
        self._wake()

    def _tick(self) -> None:
        self._timer = None
        if self._closed:
            return
        if not self._over:
            self._look()
        self._fill()
        if not self._over or self._waiting:
            self._timer = asyncio.get_running_loop().call_later(DISCOVER_INTERVAL, self._tick)
