"""The agent-wide watcher on real files, on both event loops, with inotify and with polling."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from outrider.stream import inotify
from outrider.stream.watcher import Watcher
from tests.stream.conftest import Runner, append

WAIT = 2.0
FAST_POLL = 0.05


class Waker:
    """A subscriber: counts wake-ups and lets a test await the next one."""

    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.event.wait(), WAIT)
        self.event.clear()

    async def quiet(self, seconds: float = 0.15) -> bool:
        """True when no wake-up arrives within ``seconds``."""
        try:
            await asyncio.wait_for(self.event.wait(), seconds)
        except TimeoutError:
            return True
        return False


@contextmanager
def opened(path: Path, flags: int = os.O_RDONLY) -> Iterator[int]:
    fd = os.open(path, flags | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


@pytest.fixture(params=["inotify", "poll"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_each_change_to_a_followed_file_wakes_it(run: Runner[Any], mode: str, log: Path) -> None:
    async def main() -> None:
        w = Watcher(mode, FAST_POLL)
        waker = Waker()
        with opened(log) as fd:
            watch = w.watch(fd, waker)
            assert w.stats()["polled"] == (1 if mode == "poll" else 0)
            append(log)
            await waker.next()
            os.truncate(log, 0)
            await waker.next()
            # Replaced by a rename over its name: the old file loses its link.
            fresh = log.with_name("fresh")
            fresh.write_bytes(b"new")
            os.rename(fresh, log)
            await waker.next()
            watch.close()
        with opened(log) as fd:
            watch = w.watch(fd, waker)
            os.rename(log, log.with_name("rotated"))
            await waker.next()
            os.unlink(log.with_name("rotated"))
            await waker.next()
            watch.close()
        w.close()

    run(main)


def test_directory_watch_sees_names_not_writes(
    run: Runner[Any], mode: str, tmp_path: Path, log: Path
) -> None:
    async def main() -> None:
        w = Watcher(mode, FAST_POLL)
        waker = Waker()
        with opened(tmp_path, os.O_PATH | os.O_DIRECTORY) as dfd:
            watch = w.watch(dfd, waker, kind="dir")
            append(log)
            if mode == "inotify":
                # Polling sees the directory's own times only, so this holds for inotify alone.
                assert await waker.quiet()
            (tmp_path / "web.stdout.1").write_bytes(b"")
            await waker.next()
            watch.close()
        w.close()

    run(main)


def test_followers_of_one_file_share_one_watch(run: Runner[Any], mode: str, log: Path) -> None:
    async def main() -> None:
        w = Watcher(mode, FAST_POLL)
        a, b = Waker(), Waker()
        with opened(log) as fd1, opened(log) as fd2:
            wa = w.watch(fd1, a)
            wb = w.watch(fd2, b)
            stats = w.stats()
            assert stats["subscribers"] == 2
            assert stats["inotify_watches" if mode == "inotify" else "polled"] == 1
            append(log)
            await a.next()
            await b.next()
            wa.close()
            wa.close()  # idempotent
            assert w.stats()["subscribers"] == 1
            append(log)
            await b.next()
            assert await a.quiet()
            wb.close()
            assert w.stats() == {"mode": mode, "inotify_watches": 0, "polled": 0, "subscribers": 0}
        w.close()

    run(main)


def test_watch_limit_falls_back_to_polling(
    run: Runner[Any], log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(ifd: int, path: str, mask: int) -> int:
        # What the kernel answers once fs.inotify.max_user_watches is reached.
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    async def main() -> None:
        w = Watcher("inotify", FAST_POLL)
        waker = Waker()
        with opened(log) as fd:
            monkeypatch.setattr(inotify, "add_watch", refuse)
            watch = w.watch(fd, waker)
            monkeypatch.undo()
            assert w.mode == "inotify" and w.stats()["polled"] == 1
            append(log)
            await waker.next()
            watch.close()
        w.close()

    run(main)


def test_queue_overflow_wakes_everyone(run: Runner[Any], tmp_path: Path, log: Path) -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 20000:
        pytest.skip(f"fs.inotify.max_queued_events is {limit}; overflowing it would be slow")
    busy = tmp_path / "busy"
    busy.mkdir()

    async def main() -> None:
        w = Watcher("inotify")
        noisy, bystander = Waker(), Waker()
        with opened(busy, os.O_PATH | os.O_DIRECTORY) as dfd, opened(log) as fd:
            wn = w.watch(dfd, noisy, kind="dir")
            wb = w.watch(fd, bystander)
            # The loop is not reading while this runs, so the kernel's queue overflows.
            for i in range(limit // 2 + 10):
                name = busy / f"f{i}"
                name.write_bytes(b"")
                os.unlink(name)
            await bystander.next()
            wn.close()
            wb.close()
        w.close()

    run(main)


def test_closing_the_watcher_releases_everything(run: Runner[Any], mode: str, log: Path) -> None:
    async def main() -> None:
        w = Watcher(mode, FAST_POLL)
        waker = Waker()
        with opened(log) as fd:
            w.watch(fd, waker)
            w.close()
            w.close()
            with pytest.raises(RuntimeError):
                w.watch(fd, waker)
            append(log)
            assert await waker.quiet(0.2)

    run(main)


# -- choosing the backend ------------------------------------------------------------------------


def test_mode_and_interval_are_checked() -> None:
    assert Watcher("poll").mode == "poll"
    assert Watcher("inotify", 0.5).poll_interval == 0.5
    assert Watcher().poll_interval == 0.25
    with pytest.raises(ValueError):
        Watcher("fanotify")
    with pytest.raises(ValueError):
        Watcher(poll_interval=0)


def test_auto_falls_back_to_polling_without_inotify(
    run: Runner[Any], log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable() -> int:
        # What inotify_init1 answers once fs.inotify.max_user_instances is reached.
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(inotify, "init", unavailable)

    async def main() -> None:
        w = Watcher(poll_interval=FAST_POLL)
        waker = Waker()
        with opened(log) as fd:
            watch = w.watch(fd, waker)
            assert w.mode == "poll" and w.stats()["polled"] == 1
            append(log)
            await waker.next()
            watch.close()
        w.close()
        forced = Watcher("inotify")
        with pytest.raises(OSError):
            await forced.start()
        forced.close()

    run(main)
