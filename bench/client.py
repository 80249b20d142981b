"""An asyncio HTTP/1.1 client that reads responses as raw bytes, to measure the server and not the client.

Bodies are counted, not parsed: a stream's JSON frames are never decoded (a
window of the last bytes is kept for a final check), and ``Connection: close``
marks the end of a response. :class:`ChunkedDecoder` exists for the one scenario
that must hash every delivered byte.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

OnBody = Callable[[bytes, int], None]
"""Called with each body piece and the ``perf_counter_ns`` at which it arrived."""


class RawResponse(asyncio.Protocol):
    """One ``GET`` on its own connection; the body is counted (and handed to ``on_body``), never decoded."""

    def __init__(self, host: str, path: str, on_body: OnBody | None = None, keep_tail: int = 0) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: outrider-bench\r\nConnection: close\r\n\r\n"
        ).encode()
        self.on_body = on_body
        self.keep_tail = keep_tail
        self.status = 0
        self.body_bytes = 0
        self.tail = b""
        self.started_ns = 0
        self.ended_ns = 0
        self._head = b""
        self.headers_seen = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.started_ns = time.perf_counter_ns()
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        if not self.headers_seen.done():
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self._head.split(b" ", 2)[1])
            data = self._head[end + 4 :]
            self._head = b""
            self.headers_seen.set_result(self.status)
            if not data:
                return
        self.body_bytes += len(data)
        if self.keep_tail:
            self.tail = (self.tail + data)[-self.keep_tail :]
        if self.on_body is not None:
            self.on_body(data, now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended_ns = time.perf_counter_ns()
        if not self.headers_seen.done():
            self.headers_seen.set_result(0)  # status 0: closed before a response
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class RawResult:
    status: int
    body_bytes: int
    seconds: float
    tail: bytes


async def fetch_raw(host: str, port: int, path: str, timeout: float, keep_tail: int = 256) -> RawResult:
    """GET ``path`` and read the whole response; time runs from connect to the server's close."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter_ns()
    _, proto = await loop.create_connection(lambda: RawResponse(host, path, keep_tail=keep_tail), host, port)
    try:
        await asyncio.wait_for(asyncio.shield(proto.closed), timeout)
    finally:
        proto.close()
    return RawResult(proto.status, proto.body_bytes, (proto.ended_ns - started) / 1e9, proto.tail)


async def open_many(
    host: str,
    port: int,
    paths: list[str],
    make_on_body: Callable[[int], OnBody | None] | None = None,
    batch: int = 200,
    timeout: float = 30.0,
) -> list[RawResponse]:
    """Open one streaming GET per path, ``batch`` at a time, and wait for each one's headers.

    On any failure every connection opened so far is closed before the error propagates.
    """
    loop = asyncio.get_running_loop()
    opened: list[RawResponse] = []

    async def one(i: int, path: str) -> RawResponse:
        on_body = make_on_body(i) if make_on_body else None
        _, proto = await loop.create_connection(lambda: RawResponse(host, path, on_body), host, port)
        opened.append(proto)
        status = await asyncio.wait_for(asyncio.shield(proto.headers_seen), timeout)
        if status != 200:
            raise ConnectionError(f"GET {path} answered {status or 'nothing (connection closed)'}")
        return proto

    try:
        out: list[RawResponse] = []
        for start in range(0, len(paths), batch):
            chunk = paths[start : start + batch]
            out += await asyncio.gather(*(one(start + i, p) for i, p in enumerate(chunk)))
        return out
    except BaseException:
        await close_all(opened)
        raise


async def close_all(protos: list[RawResponse], timeout: float = 10.0) -> None:
    """Close every connection and wait (bounded) until each is gone."""
    for proto in protos:
        proto.close()
    if protos:
        await asyncio.wait([asyncio.ensure_future(p.closed) for p in protos], timeout=timeout)


class ChunkedDecoder:
    """Incremental decoder of an HTTP/1.1 chunked body (RFC 9112, 7.1); extensions and trailers ignored."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self.sink = sink
        self._buf = b""
        self._left = 0  # data bytes left in the current chunk
        self._skip_crlf = False
        self.finished = False

    def feed(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        pos = 0
        while pos < len(buf) and not self.finished:
            if self._left:
                take = min(self._left, len(buf) - pos)
                self.sink(buf[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._skip_crlf = True
                continue
            if self._skip_crlf:
                if len(buf) - pos < 2:
                    break
                pos += 2
                self._skip_crlf = False
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(buf[pos:end].split(b";", 1)[0], 16)
            pos = end + 2
            if size == 0:
                self.finished = True
            self._left = size
        self._buf = buf[pos:]
