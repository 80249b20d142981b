"""Shared helpers for streaming tests: opening followers on real files and decoding frames."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outrider.stream import FileFollower, StreamService, TailReader, json_string
from outrider.stream.tail_open import open_tail


def open_reader(service: StreamService, path: Path, offset: int = 0) -> TailReader:
    # As the endpoints open files: followers of one file share its descriptors.
    parent = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        reader = open_tail(service, parent, path.name, offset)
    finally:
        os.close(parent)
    if reader is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    return reader


def make_follower(
    service: StreamService,
    path: Path,
    *,
    offset: int = 0,
    follow: bool = True,
    plain: bool = False,
    reappear_grace: float = 0.0,
) -> FileFollower:
    return FileFollower(
        open_reader(service, path, offset),
        file_json=None if plain else json_string(path.name),
        follow=follow,
        service=service,
        reopen=lambda: open_reader(service, path),
        reappear_grace=reappear_grace,
    )


def split_frames(body: bytes) -> list[dict[str, Any]]:
    """Decode back-to-back JSON objects incrementally, as Go's ``json.Decoder`` does (the Go API client)."""
    decoder = json.JSONDecoder()
    text = body.decode()
    frames, pos = [], 0
    while pos < len(text):
        obj, pos = decoder.raw_decode(text, pos)
        frames.append(obj)
    return frames


def split_like_web_ui(body: bytes) -> list[dict[str, Any]]:
    """Split on ``}{`` as the Nomad web UI does; base64 and our names never contain it."""
    text = body.decode()
    if not text:
        return []
    parts = text.replace("}{", "}\n{").split("\n")
    return [json.loads(p) for p in parts]


def frame_data(frames: list[dict[str, Any]]) -> bytes:
    return b"".join(base64.b64decode(f["Data"]) for f in frames if "Data" in f)


class Wake:
    """A follower's wake-up callback that a test can await."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.event.set()

    async def wait(self, timeout: float = 2.0) -> None:
        await asyncio.wait_for(self.event.wait(), timeout)
        self.event.clear()


async def pump(
    follower: FileFollower, wake: Wake, enough: Callable[[bytes], bool], timeout: float = 5.0
) -> bytes:
    """Produce (waiting for wake-ups in between) until ``enough(output)`` or the follower is done."""
    out = bytearray()
    async with asyncio.timeout(timeout):
        while not enough(bytes(out)):
            chunk = follower.produce()
            if chunk:
                out += chunk
            elif follower.done:
                break
            else:
                await wake.wait(timeout)
    return bytes(out)


def has_data(n: int) -> Callable[[bytes], bool]:
    """Enough once the frames carry ``n`` bytes of data."""
    return lambda body: len(frame_data(split_frames(body))) >= n


def has_event(event: str) -> Callable[[bytes], bool]:
    return lambda body: any(f.get("FileEvent") == event for f in split_frames(body))
