"""Passing a request to the fleet member that owns its target, and its answer back, as it streams.

A forwarded request gets its own connection to the owner, and the answer is read
off it by :class:`~outrider.http.fleet_upstream.Upstream`, which cuts the body out
of its framing as the event loop reads it and stops reading past a small bound
(:data:`~outrider.http.fleet_upstream.HOLD`) until the relay has handed the pieces
to our client's transport: a slow reader slows the owner down. The fan-out reads of
the listings share one ``httpx`` client. A client that goes away closes the upstream
at once; an owner that dies before answering is ``404 No path to node`` (Nomad's
answer for a node it cannot reach), one that dies mid-answer ends the body with that
text, as Nomad appends a mid-stream error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import Message, Receive, Scope, Send

from outrider.http.errors import error_response
from outrider.http.fleet_upstream import Headers, Upstream

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
        bound (a blocking query's wait). The answer is read off its own connection (one
        per forwarded request, closed at its end).
        """
        body = await _read_body(receive)
        if body is None:
            await error_response(413, "request body too large")(scope, receive, send)
            return
        url = urlsplit(base_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        loop = asyncio.get_running_loop()
        upstream = Upstream(head_only=scope["method"] == "HEAD")
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(lambda: upstream, host, port), REACH_TIMEOUT
            )
        except (TimeoutError, OSError) as exc:
            log.debug("fleet member unreachable", extra={"url": base_url, "error": type(exc).__name__})
            await error_response(404, NO_PATH)(scope, receive, send)
            return
        try:
            transport.write(self._request_head(scope, url.netloc, len(body)) + body)
            try:
                status, headers = await asyncio.wait_for(upstream.head, REACH_TIMEOUT + blocking)
            except (TimeoutError, OSError, ValueError) as exc:
                log.debug("fleet member did not answer", extra={"url": base_url, "error": type(exc).__name__})
                await error_response(404, NO_PATH)(scope, receive, send)
                return
            await _relay(status, headers, upstream, receive, send)
        finally:
            transport.close()

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


async def _relay(status: int, headers: Headers, upstream: Upstream, receive: Receive, send: Send) -> None:
    chunked = any(k == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers)
    length = next((v for k, v in headers if k == b"content-length" and v.isdigit()), None)
    passed = [(k, v) for k, v in headers if k not in _HOP and k not in _OWN]
    if length is not None and not chunked:
        passed.append((b"content-length", length))
    await send({"type": "http.response.start", "status": status, "headers": passed})
    pump = asyncio.ensure_future(_pump(upstream, send))
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


async def _pump(upstream: Upstream, send: Send) -> None:
    """Hand the owner's body to our client piece by piece: one await for the piece (none
    when it is already in) and one for the send."""
    try:
        while piece := await upstream.next_piece():
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    except (OSError, ValueError) as exc:
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
