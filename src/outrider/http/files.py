"""Sending a byte range of an already-checked open file, the way aiohttp's ``web_fileresponse`` does.

The file is opened and checked before the response starts (so errors keep their
real status code, where Nomad's wrapper answers 200 with the error text), the first
bytes are sniffed for the untrusted-content wrapper (``command/agent/http.go``
``wrapUntrustedContent``), and the body leaves in bounded chunks, so memory per
request stays the same whatever the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from starlette.types import Receive, Scope, Send

from outrider.fs.readat import ChunkReader
from outrider.fs.sniff import detect_content_type, untrusted_content_type

log = logging.getLogger("outrider.http.files")

SNIFF_LEN = 512
# Bytes per body message: large enough to keep the server's per-message overhead
# small, small enough that a slow client pins little memory.
CHUNK_SIZE = 512 * 1024

UNTRUSTED_HEADERS = (
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-xss-protection", b"1; mode=block"),
)


class FileRangeResponse:
    """An ASGI response that owns ``fd`` (closed when done) and sends ``[start, start+length)``."""

    def __init__(self, fd: int, start: int, length: int, chunk_size: int = CHUNK_SIZE) -> None:
        self.fd = fd
        self.start = start
        self.length = max(length, 0)
        self.chunk_size = chunk_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._send(receive, send)
        finally:
            os.close(self.fd)

    async def _send(self, receive: Receive, send: Send) -> None:
        reader = ChunkReader(self.fd, min(self.chunk_size, max(self.length, 1)))
        want = min(self.length, self.chunk_size)
        first = reader.read_bytes(self.start, want) if want else b""
        if len(first) < want:
            # Shorter than fstat said a moment ago: send what there is.
            self.length = len(first)
        headers = [
            (b"content-type", untrusted_content_type(detect_content_type(first[:SNIFF_LEN])).encode()),
            (b"content-length", str(self.length).encode()),
        ]
        if first:
            headers.extend(UNTRUSTED_HEADERS)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if len(first) >= self.length:
            await send({"type": "http.response.body", "body": first, "more_body": False})
            return
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_wait_disconnect(receive, gone))
        try:
            sent = len(first)
            chunk = first
            while True:
                last = sent >= self.length
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                if last or gone.is_set():
                    return
                chunk = reader.read_bytes(self.start + sent, min(self.chunk_size, self.length - sent))
                if not chunk:
                    # Content-Length is already on the wire; the only honest ending is to cut the
                    # connection, which every server does when the app returns with the body short.
                    log.debug(
                        "file shrank while being sent; connection cut",
                        extra={"sent": sent, "length": self.length},
                    )
                    return
                sent += len(chunk)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _wait_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return
