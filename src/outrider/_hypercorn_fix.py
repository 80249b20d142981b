"""Close hypercorn's HTTP/1.1 connections as soon as the client has gone.

hypercorn (0.17, 0.18) keeps a connection whose client has hung up open until
``keep_alive_timeout`` runs out, in two cases:

- the client closes an idle keep-alive connection: nothing reacts to the EOF;
- the client sends a request and hangs up before the answer is written, and the
  answer has an empty body (a 404 for an unknown path, a 200 from
  ``/v1/client/gc``). The connection is recycled for keep-alive as if the client
  were still there.

Every such client pins a descriptor (and a task group) for that long; a flood of
them runs the agent out of descriptors. The agent closes these connections at
once instead. The report below is written to be filed upstream as it stands.

Upstream report
---------------

Title: HTTP/1.1 connection kept open for keep_alive_timeout after the client
closed, when the response has an empty body

hypercorn 0.18.0 (asyncio worker, h11 0.16), Python 3.11, Linux.

A client that sends a request and closes its socket right away leaves the
server's socket open for ``keep_alive_timeout`` (5 s by default) whenever the
response body is empty. With a non-empty body the socket is closed at once.
Minimal reproduction (prints about 200 extra descriptors; with ``BODY = b"x"``
it prints none)::

    import asyncio, os, socket
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    BODY = b""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-length", str(len(BODY)).encode())]})
        await send({"type": "http.response.body", "body": BODY})

    async def main():
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        config = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.keep_alive_timeout = 75
        stop = asyncio.Event()
        server = asyncio.ensure_future(serve(app, config, shutdown_trigger=stop.wait))
        await asyncio.sleep(0.5)
        before = len(os.listdir("/proc/self/fd"))

        def clients():
            for _ in range(200):
                c = socket.create_connection(sock.getsockname())
                c.sendall(b"GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n")
                c.close()

        await asyncio.to_thread(clients)
        await asyncio.sleep(2)
        print("descriptors held after 2 s:", len(os.listdir("/proc/self/fd")) - before)
        stop.set()
        await server

    asyncio.run(main())

What happens: the request and the client's FIN arrive together, so
``TCPServer._read_data`` reads the request and then finds ``reader.at_eof()``
true; it leaves its loop without handing the EOF to the protocol
(``RawData(b"")`` is never sent, so h11 never learns that the peer closed) and
sends ``Closed``. ``H11Protocol.handle(Closed)`` closes the stream, but the app
task still sends its response. Nothing in sending an empty response touches the
broken socket, so ``_maybe_recycle`` finds both h11 states ``DONE``, starts the
next cycle and restarts the idle timer. No reader is left to see the EOF again,
and the connection's task group waits for that timer. With a body, the write of
the body fails with ``ConnectionError`` and closes the connection.

The same holds for an idle keep-alive connection the client closes: ``Closed``
with no stream is ignored, and the idle timer holds the connection.

Suggested fix: once ``H11Protocol`` has seen ``Closed``, never recycle; close
instead (``_maybe_recycle`` takes its ``else`` branch), and close at once on
``Closed`` when no request is in flight.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    """Patch hypercorn's HTTP/1.1 protocol once; a no-op if its shape has changed."""
    global _applied
    if _applied:
        return
    try:
        from hypercorn.events import Closed
        from hypercorn.protocol.h11 import H11Protocol
    except ImportError:
        return
    if not all(hasattr(H11Protocol, name) for name in ("handle", "_maybe_recycle", "_close_stream")):
        return
    original_handle = H11Protocol.handle
    original_recycle = H11Protocol._maybe_recycle

    async def handle(self: Any, event: Any) -> None:
        if not isinstance(event, Closed):
            await original_handle(self, event)
            return
        # The reader has stopped or a write failed: the client is gone for good.
        self._outrider_peer_closed = True
        idle = self.stream is None
        await original_handle(self, event)
        if idle:
            await self.send(Closed())

    async def maybe_recycle(self: Any) -> None:
        if not getattr(self, "_outrider_peer_closed", False):
            await original_recycle(self)
            return
        # The answer of a client that has already hung up is done: close, never keep alive.
        await self._close_stream()
        await self.can_read.set()
        await self.send(Closed())

    H11Protocol.handle = handle  # type: ignore[method-assign]
    H11Protocol._maybe_recycle = maybe_recycle  # type: ignore[method-assign]
    _applied = True
