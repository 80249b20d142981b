"""The owner's answer to a forwarded request, decoded as it arrives off the socket.

An :class:`asyncio.Protocol` rather than a stream reader: the event loop hands each
read to :meth:`Upstream.data_received`, which parses the head once and cuts the body
out of its framing (a length, RFC 9112 section 7.1 chunks, or up to the close) right
there, so a relayed piece costs no await of its own on this side, and a read that is
all body is passed on as the very bytes object the loop made, never copied again.
The pieces wait in a queue bounded by :data:`HOLD`: past it the socket stops being
read until the relay takes them, so a slow client slows the owner down through TCP.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

Headers = list[tuple[bytes, bytes]]

# Body bytes held here before reading the owner's socket pauses; one more read of
# the event loop (at most 256 KiB with uvloop, 64 KiB with asyncio) may land on top.
HOLD = 256 * 1024
# Pieces queued together are sent as one while they stay this small (a burst of
# follow frames); bigger ones go one at a time, never copied to be joined.
JOIN_LIMIT = 64 * 1024
# The longest answer head and chunk-size line accepted from a member.
MAX_HEAD = 64 * 1024
MAX_SIZE_LINE = 1024

_SIZED, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TO_CLOSE, _DONE = range(6)


class Upstream(asyncio.Protocol):
    """One forwarded request's connection to the owner: its answer's head, then its body's pieces."""

    def __init__(self, *, head_only: bool) -> None:
        loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.head: asyncio.Future[tuple[int, Headers]] = loop.create_future()
        self._head_only = head_only
        self._buf = bytearray()  # the head, or a chunk-size line, while it is incomplete
        self._state = -1  # the head is not in yet
        self._left = 0  # bytes left of the body (sized) or of the current chunk
        self._pieces: deque[bytes] = deque()
        self._held = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._failure: Exception | None = None

    # The event loop's side.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            if self._state < 0:
                data = self._take_head(data)
            if data:
                self._take_body(data)
        except ValueError as exc:
            self._fail(exc)
            if self.transport is not None:
                self.transport.close()
            return
        if self._held >= HOLD and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost tells the end

    def connection_lost(self, exc: Exception | None) -> None:
        if self._state == _TO_CLOSE:
            self._state = _DONE
        elif self._state != _DONE:
            self._fail(exc or ConnectionError("the answer ended early"))
        self._wake()

    # The relay's side.

    @property
    def held(self) -> int:
        """Body bytes read off the socket and not yet taken."""
        return self._held

    async def next_piece(self) -> bytes:
        """The next body bytes; ``b""`` at the body's end. Raises what ended the answer early."""
        while not self._pieces:
            if self._failure is not None:
                raise self._failure
            if self._state == _DONE:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if len(self._pieces) == 1 or self._held > JOIN_LIMIT:
            piece = self._pieces.popleft()
        else:
            piece = b"".join(self._pieces)
            self._pieces.clear()
        self._held -= len(piece)
        if self._paused and self._held < HOLD and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return piece

    # Parsing.

    def _fail(self, exc: Exception) -> None:
        if self._failure is None:
            self._failure = exc
        if not self.head.done():
            self.head.set_exception(exc)
        self._state = _DONE

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _push(self, piece: bytes) -> None:
        self._pieces.append(piece)
        self._held += len(piece)

    def _take_head(self, data: bytes) -> bytes:
        """Parse the head once it is all in; what follows it is body. ValueError when it is not HTTP/1.1."""
        self._buf += data
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    raise ValueError("answer head too long")
                return b""
            status, headers = _parse_head(bytes(self._buf[:end]))
            rest = bytes(self._buf[end + 4 :])
            self._buf.clear()
            if 100 <= status < 200:
                self._buf += rest  # an interim answer (100 Continue): the real head follows
                continue
            break
        self._state = self._body_state(status, headers)
        if not self.head.done():
            self.head.set_result((status, headers))
        return rest

    def _body_state(self, status: int, headers: Headers) -> int:
        if self._head_only or status in (204, 304):
            return _DONE
        if any(k == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers):
            return _CHUNK_SIZE
        length = next((v for k, v in headers if k == b"content-length"), None)
        if length is None:
            return _TO_CLOSE
        if not length.isdigit():
            raise ValueError("bad content-length")
        self._left = int(length)
        return _SIZED if self._left else _DONE

    def _take_body(self, data: bytes) -> None:
        state = self._state
        if state == _TO_CLOSE:
            self._push(data)
            return
        if state == _SIZED:
            if len(data) > self._left:
                data = data[: self._left]  # nothing may follow the body on a closing connection
            self._push(data)
            self._left -= len(data)
            if not self._left:
                self._state = _DONE
            return
        pos, end = 0, len(data)
        while pos < end and self._state != _DONE:
            state = self._state
            if state == _CHUNK_SIZE:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    self._buf += data[pos:]
                    if len(self._buf) > MAX_SIZE_LINE:
                        raise ValueError("chunk size line too long")
                    return
                line = bytes(self._buf) + data[pos:nl] if self._buf else data[pos:nl]
                self._buf.clear()
                pos = nl + 1
                self._left = _chunk_size(line)
                self._state = _CHUNK_DATA if self._left else _DONE  # trailers ignored: the connection closes
            elif state == _CHUNK_DATA:
                take = min(self._left, end - pos)
                self._push(data if pos == 0 and take == end else data[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._state, self._left = _CHUNK_END, 2
            else:  # _CHUNK_END: the CRLF closing a chunk's data
                take = min(self._left, end - pos)
                pos += take
                self._left -= take
                if not self._left:
                    self._state = _CHUNK_SIZE


def _chunk_size(line: bytes) -> int:
    digits = line.split(b";", 1)[0].strip()
    if not digits or len(digits) > 16:
        raise ValueError("bad chunk size")
    return int(digits, 16)


def _parse_head(raw: bytes) -> tuple[int, Headers]:
    """The status and headers of an HTTP/1.1 answer; ValueError when it is not one."""
    status_line, *lines = raw.split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
        raise ValueError("not an HTTP/1.1 answer")
    headers = []
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("malformed header")
        headers.append((name.strip().lower(), value.strip()))
    return int(rest[:3]), headers
