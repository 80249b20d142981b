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
from outrider.stream import eager
from outrider.stream.framer import HEARTBEAT

log = logging.getLogger("outrider.stream")

HEARTBEAT_INTERVAL = 1.0
"""Seconds without any frame after which a JSON stream gets a ``{}`` heartbeat."""

_BYTES_SENT = REGISTRY.counter("outrider.stream.bytes_sent", help="body bytes written to stream clients")
_HEARTBEATS_SENT = REGISTRY.counter("outrider.stream.heartbeats_sent", help="{} heartbeats written")

_PASS_BUDGET = 1024 * 1024
"""Body bytes one stream may write in one send pass before the other streams get their turn."""


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
    """Where a running stream registers: the agent's heartbeat clock, shutdown and send pass (the stream service)."""

    def register(self, stream: StreamResponse) -> None:
        """Count ``stream`` in; it may be told :meth:`StreamResponse.end` at once."""

    def unregister(self, stream: StreamResponse) -> None:
        """Count ``stream`` out; idempotent."""

    def ready(self, stream: StreamResponse) -> None:
        """Call ``stream.run()`` soon, in one pass with every other stream woken meanwhile."""


def describe_error(exc: Exception) -> str:
    """The text appended to a stream that fails after it started (Nomad's ``fsStreamImpl``)."""
    return str(exc)


class StreamResponse:
    """An ASGI response that streams ``source``; it owns the source and closes it when done.

    Frames are written from the service's send pass (:meth:`run`), not from a task
    per stream: a wake-up queues the stream, and the pass produces its output and
    starts the server's ``send`` at once (:func:`outrider.stream.eager.start`). Only
    a write that has to wait gets a task, and the stream is not asked for more until
    it finishes. The application's own task just waits for the end and writes it.

    Args:
        source: what to send.
        service: the agent's stream service (heartbeat clock, shutdown, send pass).
        heartbeats: send ``{}`` after :data:`HEARTBEAT_INTERVAL` idle seconds (JSON mode).
        media_type: the Content-Type header, if any.
        headers: more response headers (name, value).
        on_error: turns an error raised by the source after the response started
            into the text appended to the body before it ends (the reference's
            behaviour, ``command/agent/fs_endpoint.go`` ``fsStreamImpl``).
    """

    __slots__ = (
        "_crash",
        "_failure",
        "_gone",
        "_heartbeat_due",
        "_in_flight",
        "_loop",
        "_outcome",
        "_queued",
        "_send_fn",
        "_stopping",
        "headers",
        "heartbeats",
        "last_sent",
        "media_type",
        "on_error",
        "service",
        "source",
    )

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
        self._heartbeat_due = False
        self._stopping = False
        self._gone = False
        self._queued = False
        self._outcome: asyncio.Future[None] | None = None
        """Resolved when the body is over (source done, client gone, agent stopping, failure)."""
        self._failure: OSError | None = None
        """The source's error, to append as text before the end."""
        self._crash: BaseException | None = None
        """Anything else that went wrong; raised from the application."""
        self._in_flight: asyncio.Task[None] | None = None
        self._send_fn: Send | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_sent = 0.0

    # -- called by the service -----------------------------------------------------------------

    def heartbeat_due(self) -> None:
        self._heartbeat_due = True
        self._wake()

    def end(self) -> None:
        """End the stream cleanly, soon (the agent is stopping)."""
        self._stopping = True
        self._wake()

    def run(self) -> None:
        """Send what the source has now, until it has nothing, a write must wait or the pass budget is spent."""
        self._queued = False
        outcome = self._outcome
        if outcome is None or outcome.done() or self._in_flight is not None:
            return
        try:
            self._run()
        except Exception as exc:
            self._crash = exc
            self._end_body()

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
            loop = self._loop = asyncio.get_running_loop()
            self._send_fn = send
            self.last_sent = loop.time()
            outcome = self._outcome = loop.create_future()
            listener = asyncio.ensure_future(self._listen(receive))
            self.service.register(self)
            self.source.bind(self._wake)
            self._wake()
            # Resolved only while no write is in flight: the end never goes out beside a frame.
            await outcome
            if self._crash is not None:
                raise self._crash
            if self._failure is not None:
                await self._send(send, self.on_error(self._failure).encode("utf-8", "surrogateescape"))
            await self._send(send, b"", more=False)
        finally:
            outcome = self._outcome
            if outcome is not None and not outcome.done():
                outcome.cancel()
            self.service.unregister(self)
            self.source.close()
            for task in (self._in_flight, listener):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _listen(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._gone = True
                self._wake()
                return

    def _wake(self) -> None:
        outcome = self._outcome
        if not self._queued and outcome is not None and not outcome.done():
            self._queued = True
            self.service.ready(self)

    def _run(self) -> None:
        outcome = self._outcome
        assert outcome is not None and self._loop is not None and self._send_fn is not None
        source = self.source
        budget = _PASS_BUDGET
        while True:
            if self._gone or self._stopping:
                outcome.set_result(None)
                return
            try:
                body = source.produce()
            except OSError as exc:
                self._failure = exc
                outcome.set_result(None)
                return
            if not body and self._heartbeat_due and self.heartbeats:
                body = HEARTBEAT
                _HEARTBEATS_SENT.inc()
            self._heartbeat_due = False
            if not body:
                if source.done:
                    outcome.set_result(None)
                return
            _BYTES_SENT.inc(len(body))
            try:
                finished, task = eager.start(
                    self._send_fn({"type": "http.response.body", "body": body, "more_body": True})
                )
            except OSError:
                # Some servers raise once the peer is gone instead of reporting http.disconnect.
                self._gone = True
                continue
            if not finished:
                assert isinstance(task, asyncio.Task)
                self._in_flight = task
                task.add_done_callback(self._sent)
                return
            self.last_sent = self._loop.time()
            budget -= len(body)
            if budget <= 0:
                # Others' turn: this stream goes on in the next pass.
                self._wake()
                return

    def _sent(self, task: asyncio.Task[None]) -> None:
        """A write that had to wait is done: go on sending, or end."""
        if self._in_flight is task:
            self._in_flight = None
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, OSError):
            self._gone = True
        elif exc is not None:
            self._crash = exc
            self._end_body()
            return
        else:
            assert self._loop is not None
            self.last_sent = self._loop.time()
        self._wake()

    def _end_body(self) -> None:
        outcome = self._outcome
        if outcome is not None and not outcome.done():
            outcome.set_result(None)

    async def _send(self, send: Send, body: bytes, more: bool = True) -> None:
        if self._gone:
            return
        _BYTES_SENT.inc(len(body))
        try:
            await send({"type": "http.response.body", "body": body, "more_body": more})
        except OSError:
            # Some servers raise once the peer is gone instead of reporting http.disconnect.
            self._gone = True
