"""The agent's streaming service: one watcher, one set of hubs, one heartbeat clock, one read buffer.

Streams register here while they run, so that the heartbeat check costs one
timer for the whole agent (not one per stream) and a stopping agent can end
every stream at once instead of waiting for clients to leave. Streams with
something to send are run in one pass per loop iteration (:meth:`StreamService.ready`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from outrider.stream.descriptors import SharedDescriptors
from outrider.stream.fanout import Hubs
from outrider.stream.sender import HEARTBEAT_INTERVAL
from outrider.stream.tail import TailReader
from outrider.stream.watcher import Watcher

if TYPE_CHECKING:
    from outrider.stream.sender import StreamResponse

READ_CHUNK = 256 * 1024
"""Bytes one follower reads at once: many frames per write, yet little output per step."""

# Streams end this long after the agent starts stopping. By then the server has marked
# itself as terminating, so it closes each finished connection; a connection that
# finishes earlier goes back to keep-alive, and hypercorn 0.18 can then take its whole
# graceful timeout to close it.
_END_DELAY = 0.05

# The clock checks four times per interval, so an idle stream's heartbeat leaves
# between 1 and 1.25 intervals after its last frame.
_TICKS_PER_INTERVAL = 4


class StreamService:
    """Everything streams share; an agent service (``name``, :meth:`start`, :meth:`stop`): ``agent.streams``.

    Args:
        watcher: the agent-wide file watcher.
        stopping: set when the agent begins to stop; every stream then ends.
    """

    name = "streams"

    def __init__(self, watcher: Watcher, stopping: asyncio.Event | None = None) -> None:
        self.watcher = watcher
        self.hubs = Hubs()
        # Every read lands here and is encoded before the next read starts (one event loop),
        # so one buffer serves every follower of the agent.
        self.scratch = bytearray(READ_CHUNK)
        self.descriptors = SharedDescriptors()
        self._stopping = stopping
        self._streams: set[StreamResponse] = set()
        self._ready: list[StreamResponse] = []
        self._timer: asyncio.TimerHandle | None = None
        self._stop_waiter: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        await self.watcher.start()

    async def stop(self) -> None:
        self._stopped = True
        for stream in list(self._streams):
            stream.end()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._stop_waiter is not None:
            self._stop_waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stop_waiter
            self._stop_waiter = None
        await self.watcher.stop()

    def stats(self) -> dict[str, int | float | str]:
        """Counters for metrics: open streams, hubs and watcher state (its poll interval too)."""
        fds = self.descriptors.stats()
        return {
            "streams": len(self._streams),
            **self.hubs.stats(),
            **self.watcher.stats(),
            "poll_interval": self.watcher.poll_interval,
            "descriptors": fds["descriptors"],
            "descriptor_uses": fds["uses"],
        }

    def reader(self, fd: int, parent_fd: int, name: str | bytes, offset: int) -> TailReader:
        """A reader of the file ``fd`` found as ``name`` in the directory ``parent_fd``, from ``offset``.

        Both descriptors are consumed, on error too: every reader of the same file
        (and of the same directory) shares one descriptor of it with the others.
        """
        fds = self.descriptors
        try:
            fd = fds.share(fd)
        except BaseException:
            os.close(parent_fd)
            raise
        try:
            parent_fd = fds.share(parent_fd)
        except BaseException:
            fds.release(fd)
            raise
        try:
            return TailReader(fd, parent_fd, name, offset, buffer=self.scratch, release=fds.release)
        except BaseException:
            fds.release(fd)
            fds.release(parent_fd)
            raise

    # -- streams -------------------------------------------------------------------------------

    def register(self, stream: StreamResponse) -> None:
        if self._stopped or (self._stopping is not None and self._stopping.is_set()):
            stream.end()
        self._streams.add(stream)
        loop = asyncio.get_running_loop()
        if self._timer is None:
            self._timer = loop.call_later(HEARTBEAT_INTERVAL / _TICKS_PER_INTERVAL, self._tick)
        if self._stopping is not None and self._stop_waiter is None:
            self._stop_waiter = loop.create_task(self._end_all_when_stopping(self._stopping))

    def unregister(self, stream: StreamResponse) -> None:
        self._streams.discard(stream)

    def ready(self, stream: StreamResponse) -> None:
        """Run ``stream`` in the next send pass.

        Every stream woken before the pass runs shares it: the followers of one
        file all hear of an append first, so the first to read hands its output to
        the others (:mod:`outrider.stream.fanout`) and none of them reads again.
        """
        if not self._ready:
            asyncio.get_running_loop().call_soon(self._send_pass)
        self._ready.append(stream)

    def _send_pass(self) -> None:
        ready, self._ready = self._ready, []
        for stream in ready:
            stream.run()

    def _tick(self) -> None:
        self._timer = None
        if not self._streams:
            return
        loop = asyncio.get_running_loop()
        idle_since = loop.time() - HEARTBEAT_INTERVAL
        for stream in self._streams:
            if stream.heartbeats and stream.last_sent <= idle_since:
                stream.heartbeat_due()
        self._timer = loop.call_later(HEARTBEAT_INTERVAL / _TICKS_PER_INTERVAL, self._tick)

    async def _end_all_when_stopping(self, stopping: asyncio.Event) -> None:
        await stopping.wait()
        await asyncio.sleep(_END_DELAY)
        for stream in list(self._streams):
            stream.end()
