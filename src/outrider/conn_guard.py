"""The per-client connection cap and the header-read deadline, for every server the agent runs on.

hypercorn and uvicorn accept on the agent's socket through the event loop's
``create_server``. While they serve, :meth:`ConnectionGuard.installed` wraps
that call so that every connection's protocol sits behind a
:class:`GuardedProtocol`: one past the per-client cap gets Nomad's raw 429 and
is closed before the server sees it, and one that has not sent a whole request
head within the header-read timeout is closed. The timeout runs from the
connection's start, then from the first byte of each later request, as Go's
``ReadHeaderTimeout`` does; the ASGI side (:meth:`ConnectionGuard.asgi`) says
when a request has reached the app and when it is done.

The guard also bounds a request head's size at :data:`MAX_HEAD_BYTES`: past it the
client gets Go's raw 431 (``net/http/server.go`` ``readRequest``) and the connection
is closed. hypercorn's h11 has its own limit (16 KiB); uvicorn's httptools parser
has none, so under uvicorn the guard is installed whatever the limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from outrider.config import Limits
from outrider.connlimit import TOO_MANY_RESPONSE, PerClientLimit

log = logging.getLogger("outrider.http")

ProtocolFactory = Callable[[], asyncio.BaseProtocol]

MAX_HEAD_BYTES = 64 * 1024
"""The largest request head (request line and headers) a guarded connection passes on."""

_HEAD_END = b"\r\n\r\n"
_TOO_LARGE_MESSAGE = "431 Request Header Fields Too Large"
TOO_LARGE_RESPONSE = (
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Connection: close\r\n\r\n"
    f"{_TOO_LARGE_MESSAGE}"
).encode()
"""What Go's HTTP server answers a head over its limit (``net/http/server.go`` ``errTooLarge``)."""
Peer = tuple[str, int]


class GuardedProtocol(asyncio.Protocol):
    """A server's protocol for one connection, behind the cap and the header-read deadline."""

    __slots__ = (
        "_address",
        "_admitted",
        "_busy",
        "_deadline",
        "_guard",
        "_head",
        "_inner",
        "_peer",
        "_tail",
        "_timer",
        "_transport",
    )

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: Any = None
        self._address = ""
        self._peer: Peer | None = None
        self._admitted = False
        self._busy = 0
        # The loop time by which the request head being read must be complete, 0 when none
        # is being read. ``_timer`` may be armed for an earlier deadline than this one: it
        # then moves itself on when it fires (see :meth:`_header_timeout`).
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        # Bytes of the request head read so far, or -1 once its end was seen (until the
        # request is done); ``_tail`` keeps the last bytes, for an end split across reads.
        self._head = 0
        self._tail = b""

    def connection_made(self, transport: Any) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = transport
        guard = self._guard
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._peer = (peer[0], peer[1])
            self._address = peer[0]
        if not guard.limit.admit(self._address):
            if guard.limit.note_refused(self._address):
                transport.write(TOO_MANY_RESPONSE)
                transport.close()
            else:
                transport.abort()
            return
        self._admitted = True
        if self._peer is not None:
            guard.connections[self._peer] = self
        self._arm()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if not self._busy and not self._deadline:
            # The first bytes of the next request: its head must now arrive in time.
            self._arm()
        if self._head >= 0 and not self._head_fits(data):
            log.debug("refusing a request head over the size limit", extra={"peer": self._peer})
            self._head = -2
            self._transport.write(TOO_LARGE_RESPONSE)
            self._transport.close()
            return
        if self._head == -2:
            return
        self._inner.data_received(data)

    def _head_fits(self, data: bytes) -> bool:
        """Count ``data`` into the head being read; False once the head is over the limit."""
        end = data.find(_HEAD_END)
        if end < 0 and _HEAD_END in self._tail + data[:3]:
            end = 0
        if end >= 0:
            size = self._head + end
            self._head = -1
            self._tail = b""
            return size <= MAX_HEAD_BYTES
        self._head += len(data)
        self._tail = (self._tail + data)[-3:]
        return self._head <= MAX_HEAD_BYTES

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._deadline = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        guard = self._guard
        if self._peer is not None and guard.connections.get(self._peer) is self:
            del guard.connections[self._peer]
        guard.limit.release(self._address)
        self._inner.connection_lost(exc)

    # -- the header-read deadline, driven by the ASGI side -------------------------------------

    def request_started(self) -> None:
        self._busy += 1
        self._disarm()

    def request_finished(self) -> None:
        self._busy -= 1
        if not self._busy and self._head == -1:
            self._head = 0

    # Every request starts a deadline and ends it again within a few milliseconds: a timer
    # per request (created, then cancelled) would cost more than the rest of the guard.
    # So a request only writes its deadline down; one timer per connection, armed when
    # none is, fires at or before the deadline and re-arms itself for a later one.

    def _arm(self) -> None:
        timeout = self._guard.header_timeout
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self._deadline = loop.time() + timeout
            if self._timer is None:
                self._timer = loop.call_at(self._deadline, self._header_timeout, self._deadline)

    def _disarm(self) -> None:
        self._deadline = 0.0

    def _header_timeout(self, armed_for: float) -> None:
        self._timer = None
        if self._busy or self._transport is None or not self._deadline:
            return
        if self._deadline > armed_for:
            # A later request head's deadline: wait for that one.
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(self._deadline, self._header_timeout, self._deadline)
            return
        log.debug("closing a connection that sent no request head in time", extra={"peer": self._peer})
        self._transport.close()


class ConnectionGuard:
    """The cap and the header-read deadline for the connections of one listening socket (asyncio servers)."""

    def __init__(self, limits: Limits, exempt: Callable[[str], bool] | None = None) -> None:
        self.limit = PerClientLimit(limits.http_max_conns_per_client, exempt)
        self.header_timeout = limits.http_read_header_timeout
        self.connections: dict[Peer, GuardedProtocol] = {}
        self._warned = False

    def wrap_factory(self, factory: ProtocolFactory) -> ProtocolFactory:
        def guarded() -> asyncio.BaseProtocol:
            inner = factory()
            if isinstance(inner, asyncio.Protocol) and not isinstance(inner, asyncio.BufferedProtocol):
                return GuardedProtocol(self, inner)
            if not self._warned:
                self._warned = True
                log.warning("connections are not capped: the server's protocol is not a streaming one")
            return inner

        return guarded

    @contextlib.contextmanager
    def installed(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> Iterator[None]:
        """While this lasts, servers that ``create_server`` on ``sock`` get guarded protocols."""
        original = loop.create_server
        fileno = sock.fileno()

        async def create_server(factory: ProtocolFactory, *args: Any, **kwargs: Any) -> asyncio.Server:
            listening = kwargs.get("sock")
            if listening is not None and listening.fileno() == fileno:
                factory = self.wrap_factory(factory)
            return await original(factory, *args, **kwargs)

        loop.create_server = create_server  # type: ignore[method-assign]
        try:
            yield
        finally:
            del loop.create_server  # back to the loop class's own method

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """``app``, telling each connection when a request reached it and when it was done."""
        connections = self.connections

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            client = scope.get("client") if scope["type"] == "http" else None
            conn = connections.get(tuple(client)) if client else None  # type: ignore[arg-type]
            if conn is None:
                await app(scope, receive, send)
                return
            conn.request_started()
            try:
                await app(scope, receive, send)
            finally:
                conn.request_finished()

        return guarded
