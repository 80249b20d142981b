"""Sending a byte range of an already-checked open file, the way aiohttp's ``web_fileresponse`` does.

The file is opened and checked before the response starts (so errors keep their
real status code, where Nomad's wrapper answers 200 with the error text), the first
bytes are sniffed for the untrusted-content wrapper (``command/agent/http.go``
``wrapUntrustedContent``), and the body leaves in bounded chunks, so memory per
request stays the same whatever the file size.

Between chunks the response lets the loop run: a server's ``send`` into a socket
with room returns without yielding, and a ``cat`` of 1 GiB to a fast client then
held the loop for the whole file (hundreds of milliseconds added to the p99 of 100
followers of another file, ``bench/scenarios/cold_cat.py``). Each chunk is read on
the loop only as far as the page cache holds it (``preadv2`` with ``RWF_NOWAIT``);
the rest is read by a small thread pool, so a cold file costs its reader the
disk's time, not every other connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import logging
import os

from starlette.types import Receive, Scope, Send

from outrider.fs.readat import pread_cached, pread_full
from outrider.fs.sniff import detect_content_type, untrusted_content_type
from outrider.metrics import REGISTRY

log = logging.getLogger("outrider.http.files")

SNIFF_LEN = 512
# Bytes per body message: large enough to keep the server's per-message overhead
# small, small enough that a slow client pins little memory.
CHUNK_SIZE = 512 * 1024

# Reads that would wait for the disk; each holds at most one chunk, and the native read releases the GIL.
READ_THREADS = 4
_pool: concurrent.futures.ThreadPoolExecutor | None = None

_READS_OFF_LOOP = REGISTRY.counter(
    "outrider.fs.reads_off_loop", help="file chunks read by a thread because the page cache did not hold them"
)


def _read_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(READ_THREADS, thread_name_prefix="outrider-read")
    return _pool


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
        self._reading: concurrent.futures.Future[bytes] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._send(receive, send)
        finally:
            reading = self._reading
            if reading is not None and not reading.done():
                # A thread still reads this descriptor: close it when that read ends, never under it.
                reading.add_done_callback(lambda _read, fd=self.fd: os.close(fd))
            else:
                os.close(self.fd)

    async def _read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset`` (fewer at end of file), never waiting for the disk on the loop."""
        try:
            cached = pread_cached(self.fd, size, offset)
        except OSError as exc:
            if exc.errno != errno.EOPNOTSUPP:
                raise
            cached = b""
        if len(cached) == size:
            return cached
        _READS_OFF_LOOP.inc()
        reading = self._reading = _read_pool().submit(
            pread_full, self.fd, size - len(cached), offset + len(cached)
        )
        rest = await asyncio.wrap_future(reading)
        self._reading = None
        return cached + rest if cached else rest

    async def _send(self, receive: Receive, send: Send) -> None:
        want = min(self.length, self.chunk_size)
        first = await self._read(self.start, want) if want else b""
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
                # A send into a socket with room returns without yielding: give every other
                # connection its turn between chunks, or a fast reader holds the loop for the whole file.
                await asyncio.sleep(0)
                chunk = await self._read(self.start + sent, min(self.chunk_size, self.length - sent))
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
