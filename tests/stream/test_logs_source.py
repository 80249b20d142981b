"""Streaming a task's log across rotated files, on real directories, on both event loops.

Follow tests run with the inotify watcher and with polling; the rotation tests use
the task runner's own rotating writer.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outrider.runner.logmon import RotatingLog
from outrider.stream import StreamService, Watcher
from outrider.stream.logs import LogNotFoundError, LogsSource, LogStreamError
from tests.frames import frame_data, split_frames
from tests.stream.conftest import Runner, Wake, has_data, pump, started

MODES = ["inotify", "poll"]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "alloc" / "logs"
    path.mkdir(parents=True)
    return path


def write(log_dir: Path, name: str, data: bytes, mode: str = "wb") -> None:
    with open(log_dir / name, mode) as f:
        f.write(data)


def make_source(
    service: StreamService,
    log_dir: Path,
    *,
    follow: bool,
    plain: bool = False,
    origin_end: bool = False,
    offset: int = 0,
    finished: asyncio.Event | None = None,
    log_type: str = "stdout",
) -> LogsSource:
    fd = os.open(log_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return LogsSource(
        fd,
        "web",
        log_type,
        origin_end=origin_end,
        offset=offset,
        follow=follow,
        plain=plain,
        service=service,
        finished=finished,
    )


async def catch_up(source: LogsSource, wake: Wake, got: bytearray, total: int, *, framed: bool) -> None:
    """Produce into ``got`` until it carries ``total`` bytes of data."""

    def data_size() -> int:
        return len(frame_data(split_frames(bytes(got)))) if framed else len(got)

    async with asyncio.timeout(5.0):
        while data_size() < total:
            chunk = source.produce()
            if chunk:
                got += chunk
            else:
                await wake.wait()


def drain(source: LogsSource) -> bytes:
    """Everything a non-following source produces (it never waits)."""
    out = bytearray()
    while not source.done:
        out += source.produce()
    return bytes(out)


def has_plain(n: int) -> Callable[[bytes], bool]:
    return lambda body: len(body) >= n


async def stopped(service: StreamService, *sources: LogsSource) -> None:
    for source in sources:
        source.close()
    await asyncio.sleep(0)  # let a cancelled wait for the task's end finish
    assert service.stats()["subscribers"] == 0 and service.stats()["hubs"] == 0
    await service.stop()


# -- follow=false: a snapshot ---------------------------------------------------------------------


def test_snapshot_frames_name_each_file_with_its_own_offsets(run: Runner[Any], logs: Path) -> None:
    async def main() -> None:
        service = await started()
        for i, data in enumerate([b"zero\n", b"one\n", b"two\n"]):
            write(logs, f"web.stdout.{i}", data)
        write(logs, "web.stderr.0", b"not this")
        source, wake = make_source(service, logs, follow=False, offset=2), Wake()
        source.bind(wake)
        body = await pump(source, wake)
        assert source.done
        assert split_frames(body) == [
            {"Data": "cm8K", "File": "alloc/logs/web.stdout.0", "Offset": 5},
            {"Data": "b25lCg==", "File": "alloc/logs/web.stdout.1", "Offset": 4},
            {"Data": "dHdvCg==", "File": "alloc/logs/web.stdout.2", "Offset": 4},
        ]
        await stopped(service, source)

    run(main)


def test_snapshot_leaves_out_files_created_after_the_request(run: Runner[Any], logs: Path) -> None:
    async def main() -> None:
        service = await started()
        write(logs, "web.stdout.0", b"a" * 10)
        write(logs, "web.stdout.1", b"b" * 10)
        source, wake = make_source(service, logs, follow=False, plain=True), Wake()
        source.bind(wake)
        # A busy task rotates while the request runs: Nomad's ``logsImpl`` would keep going.
        write(logs, "web.stdout.2", b"c" * 10)
        write(logs, "web.stdout.3", b"d" * 10)
        assert await pump(source, wake) == b"a" * 10 + b"b" * 10
        assert source.done
        await stopped(service, source)

    run(main)


def test_stray_names_and_non_files_are_ignored(run: Runner[Any], logs: Path) -> None:
    async def main() -> None:
        service = await started()
        write(logs, "web.stdout.0", b"first ")
        write(logs, "web.stdout.1", b"second")
        write(logs, "web.stdout.gz", b"GZ")
        write(logs, "web.stdout.old", b"OLD")
        write(logs, "web.stdout.1.gz", b"GZ")
        (logs / "web.stdout.2").mkdir()
        os.symlink("web.stdout.0", logs / "web.stdout.3")
        os.mkfifo(logs / "web.stdout.4")
        source, wake = make_source(service, logs, follow=False, plain=True), Wake()
        source.bind(wake)
        assert await pump(source, wake) == b"first second"
        end = make_source(service, logs, follow=False, plain=True, origin_end=True)
        assert drain(end) == b"second"  # the newest log file, not the directory or the link
        await stopped(service, source, end)

    run(main)


def test_no_log_file_is_not_found_and_closes_the_directory(logs: Path) -> None:
    service = StreamService(Watcher("poll"))
    write(logs, "web.stdout.gz", b"x")
    write(logs, "web.stderr.0", b"x")
    with pytest.raises(LogNotFoundError) as err:
        make_source(service, logs, follow=False)
    assert str(err.value) == 'log entry for task "web" and log type "stdout" not found'
    # The fds_unchanged fixture checks that the directory descriptor was closed.


def test_unreadable_directory_is_a_listing_error(logs: Path) -> None:
    service = StreamService(Watcher("poll"))
    fd = os.open(logs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    shutil.rmtree(logs)
    with pytest.raises(LogStreamError) as err:
        LogsSource(
            fd, "web", "stdout", origin_end=False, offset=0, follow=False, plain=False, service=service,
            finished=None,
        )  # fmt: skip
    assert str(err.value) == "failed to list entries: open alloc/logs: no such file or directory"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=6),
    offset=st.integers(-2000, 2000),
    origin_end=st.booleans(),
    plain=st.booleans(),
)
def test_snapshot_is_the_suffix_of_the_concatenation(
    sizes: list[int], offset: int, origin_end: bool, plain: bool
) -> None:
    service = StreamService(Watcher("poll"))
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        contents = [os.urandom(size) for size in sizes]
        for i, data in enumerate(contents):
            write(log_dir, f"web.stdout.{i}", data)
        whole = b"".join(contents)
        source = make_source(
            service, log_dir, follow=False, plain=plain, origin_end=origin_end, offset=offset
        )
        body = drain(source)
        source.close()
    got = body if plain else frame_data(split_frames(body))
    if origin_end and offset == 0:
        assert got == contents[-1]  # the CLI's form: the whole newest file
    elif origin_end and offset > 0:
        assert got == whole[max(len(whole) - offset, 0) :]
    elif origin_end:
        assert got == contents[-1][min(-offset, sizes[-1]) :]
    elif offset >= 0:
        assert got == whole[offset:]
    else:
        assert got == whole[sizes[0] - min(-offset, sizes[0]) :]  # N bytes before the oldest file's end


# -- follow=true ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_follow_picks_up_the_next_index_even_after_a_gap(run: Runner[Any], logs: Path, mode: str) -> None:
    """Nomad's TestFS_logsImpl_Follow: write index 2, then 13, and expect a seamless continuation."""

    async def main() -> None:
        service = await started(mode)
        for i in range(3):
            write(logs, f"web.stdout.{i}", b"%d" % i)
        source, wake = make_source(service, logs, follow=True), Wake()
        source.bind(wake)
        body = await pump(source, wake, has_data(3))
        write(logs, "web.stdout.2", b"3", "ab")
        write(logs, "web.stdout.13", b"45")
        body += await pump(source, wake, has_data(3))
        frames = split_frames(body)
        assert frame_data(frames) == b"012345"
        assert [(f["File"].rsplit(".", 1)[1], f["Offset"]) for f in frames] == [
            ("0", 1), ("1", 1), ("2", 1), ("2", 2), ("13", 2),
        ]  # fmt: skip
        assert not source.done
        await stopped(service, source)

    run(main)


@pytest.mark.parametrize("mode", MODES)
def test_follow_ends_once_the_task_is_dead_and_every_file_is_drained(
    run: Runner[Any], logs: Path, mode: str
) -> None:
    async def main() -> None:
        service = await started(mode)
        finished = asyncio.Event()
        write(logs, "web.stdout.0", b"a")
        source, wake = make_source(service, logs, follow=True, plain=True, finished=finished), Wake()
        source.bind(wake)
        assert await pump(source, wake, has_plain(1)) == b"a"
        # The last words of the task, then it is dead for good: the stream drains and ends.
        write(logs, "web.stdout.0", b"b", "ab")
        write(logs, "web.stdout.1", b"cd")
        finished.set()
        assert await pump(source, wake) == b"bcd"
        assert source.done
        await stopped(service, source)

    run(main)


def test_follow_of_a_dead_task_reads_everything_and_ends(run: Runner[Any], logs: Path) -> None:
    async def main() -> None:
        service = await started()
        finished = asyncio.Event()
        finished.set()
        write(logs, "web.stdout.0", b"x" * 100)
        write(logs, "web.stdout.1", b"y" * 100)
        source = make_source(service, logs, follow=True, origin_end=True, offset=150, finished=finished)
        wake = Wake()
        source.bind(wake)
        body = await pump(source, wake)
        assert source.done
        assert frame_data(split_frames(body)) == b"x" * 50 + b"y" * 100
        await stopped(service, source)

    run(main)


def test_follow_without_an_end_signal_stays_open(run: Runner[Any], logs: Path) -> None:
    async def main() -> None:
        service = await started()
        write(logs, "web.stdout.0", b"external")
        source, wake = make_source(service, logs, follow=True, plain=True), Wake()
        source.bind(wake)
        assert await pump(source, wake, has_plain(8)) == b"external"
        with pytest.raises(TimeoutError):
            await pump(source, wake, timeout=0.3)
        assert not source.done
        await stopped(service, source)

    run(main)


@pytest.mark.parametrize("mode", MODES)
def test_a_purged_file_is_reported_once_and_the_next_index_follows(
    run: Runner[Any], logs: Path, mode: str
) -> None:
    async def main() -> None:
        service = await started(mode)
        write(logs, "web.stdout.4", b"old")
        source, wake = make_source(service, logs, follow=True), Wake()
        source.bind(wake)
        body = await pump(source, wake, has_data(3))
        os.unlink(logs / "web.stdout.4")
        body += await pump(source, wake, lambda b: b"file deleted" in b)
        write(logs, "web.stdout.5", b"new")
        body += await pump(source, wake, has_data(3))
        assert split_frames(body) == [
            {"Data": "b2xk", "File": "alloc/logs/web.stdout.4", "Offset": 3},
            {"File": "alloc/logs/web.stdout.4", "FileEvent": "file deleted", "Offset": 3},
            {"Data": "bmV3", "File": "alloc/logs/web.stdout.5", "Offset": 3},
        ]
        await stopped(service, source)

    run(main)


def test_a_purge_while_waiting_and_the_task_dying_ends_the_stream(run: Runner[Any], logs: Path) -> None:
    async def main() -> None:
        service = await started()
        finished = asyncio.Event()
        write(logs, "web.stdout.0", b"abc")
        source, wake = make_source(service, logs, follow=True, plain=True, finished=finished), Wake()
        source.bind(wake)
        os.unlink(logs / "web.stdout.0")
        assert await pump(source, wake, has_plain(3)) == b"abc"  # drained from the open file
        with pytest.raises(TimeoutError):
            await pump(source, wake, timeout=0.2)  # waiting for the next index
        finished.set()
        assert await pump(source, wake) == b""
        assert source.done
        await stopped(service, source)

    run(main)


@pytest.mark.parametrize("mode", MODES)
def test_a_removed_log_directory_ends_the_follow_with_the_listing_error(
    run: Runner[Any], logs: Path, mode: str
) -> None:
    """Removal is seen at once, not at the next append: a held directory reports nothing about itself."""

    async def main() -> None:
        service = await started(mode)
        write(logs, "web.stdout.0", b"abc")
        source, wake = make_source(service, logs, follow=True, plain=True), Wake()
        source.bind(wake)
        assert await pump(source, wake, has_plain(3)) == b"abc"
        # Garbage collection: the files go, the source waits for the next index, then the directory goes.
        os.unlink(logs / "web.stdout.0")
        with pytest.raises(TimeoutError):
            await pump(source, wake, timeout=0.2)
        os.rmdir(logs)
        with pytest.raises(LogStreamError) as err:
            await pump(source, wake, timeout=2.0)
        assert str(err.value) == "failed to list entries: open alloc/logs: no such file or directory"
        await stopped(service, source)

    run(main)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("max_files", [1, 1000])
def test_rotation_by_the_real_writer_loses_and_repeats_nothing(
    run: Runner[Any], logs: Path, mode: str, max_files: int
) -> None:
    """A follower that keeps up gets every byte once, even when each rotation purges the old file."""

    async def main() -> None:
        service = await started(mode, poll_interval=0.01)
        writer = RotatingLog(str(logs), "web", "stdout", max_files, 1000)
        finished = asyncio.Event()
        plain = make_source(service, logs, follow=True, plain=True, finished=finished)
        framed = make_source(service, logs, follow=True, finished=finished)
        wakes = Wake(), Wake()
        plain.bind(wakes[0])
        framed.bind(wakes[1])
        written = bytearray()
        got_plain, got_framed = bytearray(), bytearray()
        for step in range(40):
            # Several lines per write, as a pipe delivers them; a line may straddle a rotation.
            lines = b"".join(
                b"line %04d " % i + b"r" * (i * 7 % 90) + b"\n" for i in range(step * 3, step * 3 + 3)
            )
            writer.write(lines)
            written += lines
            await catch_up(plain, wakes[0], got_plain, len(written), framed=False)
            await catch_up(framed, wakes[1], got_framed, len(written), framed=True)
        writer.close()
        finished.set()
        got_plain += await pump(plain, wakes[0])
        got_framed += await pump(framed, wakes[1])
        assert plain.done and framed.done
        assert bytes(got_plain) == bytes(written)
        frames = split_frames(bytes(got_framed))
        assert frame_data(frames) == bytes(written)
        assert {f.get("FileEvent", "file deleted") for f in frames} == {"file deleted"}
        names = [int(f["File"].rsplit(".", 1)[1]) for f in frames]
        assert names == sorted(names) and names[-1] == writer.index
        await stopped(service, plain, framed)

    run(main)
