"""Passing a request to the fleet member that owns its target, and its answer back, as it streams.

A forwarded request gets its own connection to the owner, and the answer is read
straight off it and relayed chunk by chunk: the next chunk is read from the owner
only once the previous one was handed to our client's transport, so nothing beyond
one read (at most :data:`RELAY_CHUNK`, twice that in the socket reader's buffer) is
held here and a slow reader slows the owner down. The fan-out reads of the listings
share one ``httpx`` client. A client that goes away
closes the upstream response at once; an owner that dies before answering is
``404 No path to node`` (Nomad's answer for a node it cannot reach), one that dies
mid-answer ends the body with that text, as Nomad appends a mid-stream error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import Message, Receive, Scope, Send

from outrider.http.errors import error_response

log = logging.getLogger("outrider.fleet")

NO_PATH = "No path to node"
# A request the owner serves itself, never routed again (and what tells it the request was forwarded).
FORWARDED_HEADER = "x-outrider-forwarded"
# How long reaching the owner and getting its answer's head may take: a node that does
# not answer in this is unreachable. Blocking queries wait longer (their ``wait`` and this).
REACH_TIMEOUT = 1.5
# Request bodies forwarded are the API's small JSON documents; a bigger one is refused.
MAX_FORWARDED_BODY = 16 * 1024 * 1024
# Connections kept open to the members between the fan-out reads of listings.
KEEPALIVE = 16
# The most a relayed answer holds here at once: one read of the owner's answer.
RELAY_CHUNK = 256 * 1024
# Hop-by-hop headers (RFC 9110 section 7.6.1) and those the client library sets itself.
_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"host",
        b"content-length",
    }
)

# Response headers this agent's server and edge add to every answer themselves.
_OWN = frozenset({b"date", b"server", b"vary"})


class FleetProxy:
    """The connections to the other members, shared by every forwarded request of this agent."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(REACH_TIMEOUT, read=None, write=REACH_TIMEOUT, pool=REACH_TIMEOUT),
            # Every follower holds its own connection while it follows; the members
            # recognise each other's addresses and do not count them against their cap.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE),
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        await self.client.aclose()

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP and k != FORWARDED_HEADER.encode()]
        headers.append((FORWARDED_HEADER.encode(), self.node_id.encode()))
        return headers

    async def forward(
        self, base_url: str, scope: Scope, receive: Receive, send: Send, *, blocking: float
    ) -> None:
        """Serve the request in ``scope`` by asking the member at ``base_url`` (its advertise URL).

        ``blocking``: seconds the owner may take to start answering beyond the reach
        bound (a blocking query's wait). The answer is read straight off its own
        connection (one per forwarded request, closed at its end), so a relayed chunk
        costs one read and one send here.
        """
        body = await _read_body(receive)
        if body is None:
            await error_response(413, "request body too large")(scope, receive, send)
            return
        url = urlsplit(base_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=RELAY_CHUNK), REACH_TIMEOUT
            )
        except (TimeoutError, OSError) as exc:
            log.debug("fleet member unreachable", extra={"url": base_url, "error": type(exc).__name__})
            await error_response(404, NO_PATH)(scope, receive, send)
            return
        try:
            writer.write(self._request_head(scope, url.netloc, len(body)) + body)
            try:
                status, headers = await asyncio.wait_for(_read_head(reader), REACH_TIMEOUT + blocking)
            except (
                TimeoutError,
                OSError,
                ValueError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
            ) as exc:
                log.debug("fleet member did not answer", extra={"url": base_url, "error": type(exc).__name__})
                await error_response(404, NO_PATH)(scope, receive, send)
                return
            await _relay(status, headers, reader, receive, send, head_only=scope["method"] == "HEAD")
        finally:
            writer.close()

    def _request_head(self, scope: Scope, netloc: str, length: int) -> bytes:
        target = scope["raw_path"]
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        lines = [
            scope["method"].encode("latin-1") + b" " + target + b" HTTP/1.1",
            b"host: " + netloc.encode("latin-1"),
        ]
        lines += [k + b": " + v for k, v in self._headers(scope)]
        lines += [b"content-length: " + str(length).encode(), b"connection: close", b"", b""]
        return b"\r\n".join(lines)

    async def get_json(self, base_url: str, path: str, headers: list[tuple[bytes, bytes]]) -> Any:
        """GET ``path`` from a member as a forwarded request; None when it does not answer 200 in time."""
        headers = [(k, v) for k, v in headers if k not in _HOP and k != FORWARDED_HEADER.encode()]
        headers.append((FORWARDED_HEADER.encode(), self.node_id.encode()))
        try:
            response = await asyncio.wait_for(
                self.client.get(base_url.rstrip("/") + path, headers=headers), REACH_TIMEOUT
            )
        except (httpx.HTTPError, TimeoutError, OSError):
            return None
        if response.status_code != 200:
            return None
        try:
            return response.json()
        except ValueError:
            return None


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORWARDED_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The status and headers of an HTTP/1.1 answer; ValueError when it is not one."""
    raw = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = raw[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    if not version.startswith(b"HTTP/1."):
        raise ValueError("not an HTTP/1.1 answer")
    status = int(rest[:3])
    headers = []
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("malformed header")
        headers.append((name.strip().lower(), value.strip()))
    return status, headers


async def _relay(
    status: int,
    headers: list[tuple[bytes, bytes]],
    reader: asyncio.StreamReader,
    receive: Receive,
    send: Send,
    *,
    head_only: bool,
) -> None:
    chunked = any(k == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers)
    length = next((int(v) for k, v in headers if k == b"content-length" and v.isdigit()), None)
    passed = [(k, v) for k, v in headers if k not in _HOP and k not in _OWN]
    if length is not None and not chunked:
        passed.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": passed})
    if head_only or status in (204, 304) or length == 0:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    body = _chunked(reader) if chunked else _sized(reader, length)
    pump = asyncio.ensure_future(_pump(body, send))
    gone = asyncio.ensure_future(_client_gone(receive))
    try:
        await asyncio.wait((pump, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pump, gone):
            task.cancel()
        for task in (pump, gone):
            # A client that left makes the last send fail: nothing is left to tell.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _sized(reader: asyncio.StreamReader, length: int | None) -> AsyncIterator[bytes]:
    """The body of ``length`` bytes, or up to the end of the connection when no length was given."""
    left = length
    while left is None or left > 0:
        chunk = await reader.read(RELAY_CHUNK if left is None else min(left, RELAY_CHUNK))
        if not chunk:
            if left is not None:
                raise ConnectionError("the answer ended early")
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


async def _chunked(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The body of a chunked answer (RFC 9112 section 7.1), chunk by chunk."""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
        if size == 0:
            return
        while size > 0:
            part = await reader.read(min(size, RELAY_CHUNK))
            if not part:
                raise ConnectionError("the answer ended early")
            size -= len(part)
            yield part
        await reader.readexactly(2)


async def _pump(body: AsyncIterator[bytes], send: Send) -> None:
    try:
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        # The owner died mid-answer: the status is out, so the error text ends the body.
        log.debug("fleet member went away mid-answer", extra={"error": type(exc).__name__})
        await send({"type": "http.response.body", "body": NO_PATH.encode(), "more_body": False})
        return
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _client_gone(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
