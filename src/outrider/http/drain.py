"""Finish reading a request body the endpoint did not read, before its response starts.

Many answers come before the body is read: 404 for an unknown allocation, 405,
400 for a bad query, 413. hypercorn (0.18) recycles a keep-alive connection only
if it has already parsed the end of the request; when the answer is quicker than
that, it closes the connection after the response without saying so, and the
client's next request on it fails with "server disconnected". Reading what is
left of a small body first keeps the connection usable. A body too large or too
slow to drain gets ``Connection: close`` on the response instead, so the client
knows not to reuse the connection (RFC 9112 section 9.6).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Go's net/http server does the same with up to 256 KiB (maxPostHandlerReadBytes).
DRAIN_LIMIT = 256 * 1024
DRAIN_TIMEOUT = 1.0


class _Body:
    __slots__ = ("complete", "disconnected", "received")

    def __init__(self) -> None:
        self.complete = False
        self.disconnected = False
        self.received = 0

    def observe(self, message: Message) -> None:
        if message["type"] == "http.disconnect":
            self.disconnected = self.complete = True
        elif message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)


def declared_length(scope: Scope) -> int | None:
    """The body's Content-Length; None when it is chunked (or absent on a request that has a body)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
        if name == b"transfer-encoding":
            return None
    return 0


class DrainBodyMiddleware:
    """Reads the rest of an unread request body (up to :data:`DRAIN_LIMIT` bytes) before the response."""

    def __init__(self, app: ASGIApp, limit: int = DRAIN_LIMIT, timeout: float = DRAIN_TIMEOUT) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared == 0:
            await self.app(scope, receive, send)
            return
        body = _Body()

        async def tracked_receive() -> Message:
            if body.disconnected:
                # The drain saw the client go; whoever waits for that must see it too.
                return {"type": "http.disconnect"}
            message = await receive()
            body.observe(message)
            return message

        async def draining_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not body.complete:
                fits = declared is None or declared <= self.limit
                if not (fits and await self._drain(body, receive)):
                    headers = [*message.get("headers", ()), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, tracked_receive, draining_send)

    async def _drain(self, body: _Body, receive: Receive) -> bool:
        """Read and drop the rest of the body; False when it is over the limit or too slow."""
        try:
            async with asyncio.timeout(self.timeout):
                while not body.complete:
                    body.observe(await receive())
                    if body.received > self.limit:
                        return False
        except TimeoutError:
            return False
        return True
