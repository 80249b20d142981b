"""The per-response writer: sends a source's output as soon as it exists, heartbeats when idle.

Where the reference batches for 200 ms and sends ``{}`` every second regardless
(``client/lib/streamframer/framer.go``), this writer sends whatever the source has the moment
the socket is free: output that appears while a write is still in flight is
coalesced into the next write, and a heartbeat goes out only after a full
second without any frame. The source is never asked for more while a write is
pending, so a slow client costs one bounded chunk, not a queue.

A client that goes away (``http.disconnect``) or an agent that stops ends the
stream at once, and the source is closed (its file, watch and hub membership
released) whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from starlette.types import Receive, Scope, Send

from outrider.metrics import REGISTRY
from outrider.stream.framer import HEARTBEAT

log = logging.getLogger("outrider.stream")

HEARTBEAT_INTERVAL = 1.0
"""Seconds without any frame after which a JSON stream gets a ``{}`` heartbeat."""

_BYTES_SENT = REGISTRY.counter("outrider.stream.bytes_sent", help="body bytes written to stream clients")
_HEARTBEATS_SENT = REGISTRY.counter("outrider.stream.heartbeats_sent", help="{} heartbeats written")


class Source(Protocol):
    """What a :class:`StreamResponse` sends: a :class:`~outrider.stream.follower.FileFollower` or similar."""

    def bind(self, wake: Callable[[], None]) -> None:
        """Start; call ``wake()`` whenever :meth:`produce` may return something new."""

    def produce(self) -> bytes:
        """Return the output available now, ``b""`` when none; never blocks."""

    @property
    def done(self) -> bool:
        """True once nothing more will ever be produced."""

    def close(self) -> None:
        """Release everything the source holds; idempotent."""


class StreamRegistry(Protocol):
    """Where a running stream registers: the agent's heartbeat clock and shutdown (the stream service)."""

    def register(self, stream: StreamResponse) -> None:
        """Count ``stream`` in; it may be told :meth:`StreamResponse.end` at once."""

    def unregister(self, stream: StreamResponse) -> None:
        """Count ``stream`` out; idempotent."""


def describe_error(exc: Exception) -> str:
    """The text appended to a stream that fails after it started (Nomad's ``fsStreamImpl``)."""
    return str(exc)


class StreamResponse:
    """An ASGI response that streams ``source``; it owns the source and closes it when done.

    Args:
        source: what to send.
        service: the agent's stream service (heartbeat clock, shutdown).
        heartbeats: send ``{}`` after :data:`HEARTBEAT_INTERVAL` idle seconds (JSON mode).
        media_type: the Content-Type header, if any.
        headers: more response headers (name, value).
        on_error: turns an error raised by the source after the response started
            into the text appended to the body before it ends (the reference's
            behaviour, ``command/agent/fs_endpoint.go`` ``fsStreamImpl``).
    """

    def __init__(
        self,
        source: Source,
        service: StreamRegistry,
        *,
        heartbeats: bool,
        media_type: str | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        on_error: Callable[[Exception], str] = describe_error,
    ) -> None:
        self.source = source
        self.service = service
        self.heartbeats = heartbeats
        self.media_type = media_type
        self.headers = headers
        self.on_error = on_error
        self._wake = asyncio.Event()
        self._heartbeat_due = False
        self._stopping = False
        self._gone = False
        self.last_sent = 0.0

    # -- called by the service -----------------------------------------------------------------

    def heartbeat_due(self) -> None:
        self._heartbeat_due = True
        self._wake.set()

    def end(self) -> None:
        """End the stream cleanly, soon (the agent is stopping)."""
        self._stopping = True
        self._wake.set()

    # -- ASGI ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        listener: asyncio.Task[None] | None = None
        try:
            headers = [(b"content-type", self.media_type.encode("latin-1"))] if self.media_type else []
            headers.extend(self.headers)
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            if scope.get("method") == "HEAD":
                # No body will be read, so a following stream would only pin the connection.
                await self._send(send, b"", more=False)
                return
            listener = asyncio.ensure_future(self._listen(receive))
            self.service.register(self)
            self.source.bind(self._wake.set)
            await self._pump(send)
        finally:
            self.service.unregister(self)
            self.source.close()
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _listen(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._gone = True
                self._wake.set()
                return

    async def _pump(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        self.last_sent = loop.time()
        wake = self._wake
        while not (self._gone or self._stopping):
            # Clear before producing: a wake-up during produce() or send() is never lost.
            wake.clear()
            try:
                body = self.source.produce()
            except OSError as exc:
                await self._send(send, self.on_error(exc).encode("utf-8", "surrogateescape"))
                break
            if not body and self._heartbeat_due and self.heartbeats:
                body = HEARTBEAT
                _HEARTBEATS_SENT.inc()
            self._heartbeat_due = False
            if body:
                await self._send(send, body)
                self.last_sent = loop.time()
                continue
            if self.source.done:
                break
            await wake.wait()
        await self._send(send, b"", more=False)

    async def _send(self, send: Send, body: bytes, more: bool = True) -> None:
        if self._gone:
            return
        _BYTES_SENT.inc(len(body))
        try:
            await send({"type": "http.response.body", "body": body, "more_body": more})
        except OSError:
            # Some servers raise once the peer is gone instead of reporting http.disconnect.
            self._gone = True
