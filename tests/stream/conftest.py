"""Fixtures and helpers of the streaming tests: both event loops, a followed log file, followers driven by hand, leak checks."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvloop

from outrider.stream import FileFollower, Source, StreamService, TailReader, Watcher, json_string
from outrider.stream.tail_open import open_tail
from tests.frames import frame_data, split_frames

T = TypeVar("T")
Runner = Callable[[Callable[[], Awaitable[T]]], T]

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}

# libuv opens a process-wide pipe with the first loop; open it now so the fd check
# of the first uvloop test does not count it as a leak.
uvloop.new_event_loop().close()


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def run(request: pytest.FixtureRequest) -> Iterator[Runner[Any]]:
    """Run a coroutine function on a fresh event loop; the test body runs once per loop kind.

    The loop must end with no other task left and no call to its exception handler.
    """
    errors: list[dict[str, Any]] = []

    def runner(main: Callable[[], Awaitable[T]]) -> T:
        async def checked() -> T:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(lambda _loop, context: errors.append(context))
            async with asyncio.timeout(20):
                result = await main()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert not others, f"tasks left running: {others}"
            return result

        with asyncio.Runner(loop_factory=LOOP_FACTORIES[request.param]) as r:
            value = r.run(checked())
        assert not errors, f"event loop exception handler called: {errors}"
        return value

    yield runner


@pytest.fixture(autouse=True)
def fds_unchanged(no_fd_leak: None) -> None:
    """Every test must close whatever it opens (files, watches, inotify instances)."""


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """An empty log file named as a task's first stdout file."""
    path = tmp_path / "web.stdout.0"
    path.write_bytes(b"")
    return path


def append(path: Path, data: bytes = b"x") -> None:
    """Append ``data`` as a task's writer would (a separate open file, closed after)."""
    with open(path, "ab") as f:
        f.write(data)


async def started(mode: str = "inotify", poll_interval: float = 0.05) -> StreamService:
    """A running stream service on a watcher of ``mode``."""
    service = StreamService(Watcher(mode, poll_interval))
    await service.start()
    return service


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
    source: Source, wake: Wake, enough: Callable[[bytes], bool] = lambda _: False, timeout: float = 5.0
) -> bytes:
    """Produce (waiting for wake-ups in between) until ``enough(this call's output)`` or the source is done."""
    out = bytearray()
    async with asyncio.timeout(timeout):
        while not enough(bytes(out)):
            chunk = source.produce()
            if chunk:
                out += chunk
            elif source.done:
                break
            else:
                await wake.wait(timeout)
    return bytes(out)


def has_data(n: int) -> Callable[[bytes], bool]:
    """Enough once the frames carry ``n`` bytes of data."""
    return lambda body: len(frame_data(split_frames(body))) >= n


def has_event(event: str) -> Callable[[bytes], bool]:
    return lambda body: any(f.get("FileEvent") == event for f in split_frames(body))
