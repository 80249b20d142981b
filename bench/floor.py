"""The floor for the streaming scenarios: the least a Python process on uvloop can do per follower.

``python -m bench.floor --root ALLOC_DIR`` answers ``GET /...?path=REL&...`` (any
``stream?follow=true&origin=end`` URL) by following ``ALLOC_DIR/REL`` from its end,
with the same bytes on the wire as the agent: the active framer's frames
(:func:`outrider.stream.framer.encode_frames`, ``File`` included), each write one
HTTP/1.1 chunk, ``{}`` after a second without a frame. Everything the agent does
beyond that is left out: no ASGI server, no routing, no checks, no ACLs, no
per-follower state but a transport. On an inotify ``IN_MODIFY`` the new bytes
are read once, framed once, chunked once, and the same bytes object is written
to every transport of that file; one timer pass per second writes one pre-built
heartbeat chunk to every transport that got nothing for a second.

It serves the benchmark only, never the product. It prints ``FLOOR at URL``
once its socket listens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import uvloop

from outrider.stream import inotify
from outrider.stream.framer import HEARTBEAT, encode_frames, json_string

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
MAX_READ = 1 << 20


def chunk(body: bytes) -> bytes:
    """One HTTP/1.1 chunk carrying ``body``."""
    return b"%x\r\n%b\r\n" % (len(body), body)


HEARTBEAT_CHUNK = chunk(HEARTBEAT)


class Followed:
    """One file and the transports following it."""

    __slots__ = ("fd", "file_json", "offset", "transports")

    def __init__(self, path: str, rel: str) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.offset = os.fstat(self.fd).st_size
        self.file_json = json_string(rel)
        self.transports: dict[asyncio.Transport, float] = {}

    def on_modify(self, now: float) -> None:
        data = os.pread(self.fd, MAX_READ, self.offset)
        if not data:
            return
        self.offset += len(data)
        out = chunk(encode_frames(data, self.file_json, "", self.offset))
        for transport in self.transports:
            transport.write(out)
            self.transports[transport] = now


class Floor:
    """Every followed file, keyed by inotify watch descriptor and by path."""

    def __init__(self, root: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.root = root
        self.loop = loop
        self.ifd = inotify.init()
        self.by_wd: dict[int, Followed] = {}
        self.by_path: dict[str, Followed] = {}
        loop.add_reader(self.ifd, self._on_events)
        loop.call_later(1.0, self._heartbeats)

    def follow(self, rel: str, transport: asyncio.Transport) -> Followed:
        path = str(self.root / rel)
        followed = self.by_path.get(path)
        if followed is None:
            followed = self.by_path[path] = Followed(path, rel)
            self.by_wd[inotify.add_watch(self.ifd, path, inotify.IN_MODIFY)] = followed
        followed.transports[transport] = self.loop.time()
        return followed

    def _on_events(self) -> None:
        now = self.loop.time()
        for wd, _mask, _name in inotify.read_events(self.ifd):
            followed = self.by_wd.get(wd)
            if followed is not None:
                followed.on_modify(now)

    def _heartbeats(self) -> None:
        now = self.loop.time()
        for followed in self.by_path.values():
            for transport, last in followed.transports.items():
                if now - last >= 1.0:
                    transport.write(HEARTBEAT_CHUNK)
                    followed.transports[transport] = now
        self.loop.call_later(1.0, self._heartbeats)


class FollowerConnection(asyncio.Protocol):
    """Reads one request head, answers the chunked head, then only receives the file's frames."""

    __slots__ = ("buffer", "floor", "followed", "transport")

    def __init__(self, floor: Floor) -> None:
        self.floor = floor
        self.buffer = b""
        self.followed: Followed | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport

    def data_received(self, data: bytes) -> None:
        if self.followed is not None or self.transport is None:
            return
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        target = self.buffer.split(b" ", 2)[1].decode("latin-1")
        rel = parse_qs(urlsplit(target).query).get("path", [""])[0]
        self.transport.write(HEAD)
        self.followed = self.floor.follow(rel, self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.followed is not None and self.transport is not None:
            self.followed.transports.pop(self.transport, None)


async def main(root: Path) -> None:
    loop = asyncio.get_running_loop()
    floor = Floor(root, loop)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    server = await loop.create_server(lambda: FollowerConnection(floor), sock=sock)
    print(f"FLOOR at http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, required=True, help="the alloc dir the followed paths are under")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvloop.run(main(args.root))
    except KeyboardInterrupt:
        sys.exit(0)
