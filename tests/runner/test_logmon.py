"""The rotating log writer: exact bytes, line-aware cuts, purge, restart.

Nomad's is ``client/logmon/logging/rotator.go``; its bugs are fixed here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outrider.runner.logmon import SCAN_LIMIT, RotatingLog
from tests.runner.support import fill, log_indexes, tmpfs

pytestmark = pytest.mark.usefixtures("no_fd_leak")

TASK, TYPE = "web", "stdout"
BASE = f"{TASK}.{TYPE}"


def files(log_dir: Path) -> list[Path]:
    return [log_dir / f"{BASE}.{i}" for i in log_indexes(log_dir, TASK, TYPE)]


def joined(log_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in files(log_dir))


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path


chunk = st.one_of(
    st.binary(min_size=1, max_size=3000),
    st.integers(1, 80_000).map(lambda n: b"x" * n),  # a long run without a line break
    st.lists(st.integers(0, 200), min_size=1, max_size=50).map(
        lambda lens: b"".join(b"l" * n + b"\n" for n in lens)
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(chunk, min_size=1, max_size=25),
    max_size=st.sampled_from([4096, 40_000, 64 * 1024, 100_000]),
)
def test_every_byte_lands_once_in_order(chunks: list[bytes], max_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        log = RotatingLog(tmp, TASK, TYPE, 100_000, max_size)
        for data in chunks:
            log.write(data)
        log.close()
        assert joined(log_dir) == b"".join(chunks)
        paths = files(log_dir)
        sizes = [p.stat().st_size for p in paths]
        assert max(sizes) <= max_size
        assert all(sizes[:-1]), "only the newest file may be empty"
        assert log_indexes(log_dir, TASK, TYPE) == list(range(len(paths)))


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(st.integers(0, 150), min_size=1, max_size=3000),
    cuts=st.lists(st.integers(1, 400), min_size=1, max_size=50),
)
def test_files_end_at_line_breaks(lines: list[int], cuts: list[int]) -> None:
    """Written in whole lines of at most 151 bytes, every full file ends with a line break."""
    encoded = [b"%d" % n + b"-" * n + b"\n" for n in lines]
    with tempfile.TemporaryDirectory() as tmp:
        log = RotatingLog(tmp, TASK, TYPE, 100_000, 40_000)
        pos = 0
        for cut in cuts * (len(encoded) // len(cuts) + 1):
            if pos >= len(encoded):
                break
            log.write(b"".join(encoded[pos : pos + cut]))
            pos += cut
        log.close()
        paths = files(Path(tmp))
        assert b"".join(p.read_bytes() for p in paths) == b"".join(encoded)
        for p in paths[:-1]:
            data = p.read_bytes()
            assert data.endswith(b"\n")
            # A file is cut early only within the last 32 KiB before its limit.
            assert len(data) > 40_000 - SCAN_LIMIT - 160


@pytest.mark.parametrize("max_size", [1, 7, 100])
def test_tiny_files(log_dir: Path, max_size: int) -> None:
    data = b"ab\ncdefgh\n" * 40 + b"no line break at the end"
    log = RotatingLog(str(log_dir), TASK, TYPE, 100_000, max_size)
    for i in range(0, len(data), 37):
        log.write(data[i : i + 37])
    log.close()
    assert joined(log_dir) == data
    assert all(0 < p.stat().st_size <= max_size for p in files(log_dir))


def test_long_line_is_split_at_the_limit(log_dir: Path) -> None:
    log = RotatingLog(str(log_dir), TASK, TYPE, 10, 64 * 1024)
    log.write(b"head\n" + b"x" * 200_000 + b"\n")
    log.close()
    sizes = [p.stat().st_size for p in files(log_dir)]
    assert sizes == [64 * 1024, 64 * 1024, 64 * 1024, 200_006 - 3 * 64 * 1024]


def test_big_chunk_without_line_break_into_empty_files(log_dir: Path) -> None:
    # Nomad's rule (rotate when the rest fits the next file) loops forever here; an empty file takes the bytes.
    log = RotatingLog(str(log_dir), TASK, TYPE, 10, 64 * 1024)
    log.write(b"y" * 40_000)
    log.write(b"z" * 40_000)
    log.close()
    assert [p.read_bytes() for p in files(log_dir)] == [b"y" * 40_000, b"z" * 40_000]


def test_at_most_max_files_after_every_write(log_dir: Path) -> None:
    log = RotatingLog(str(log_dir), TASK, TYPE, 3, 1000)
    everything = b""
    for i in range(200):
        data = b"%05d " % i + b"." * (i % 90) + b"\n"
        everything += data
        log.write(data)
        assert len(files(log_dir)) <= 3
    log.close()
    paths = files(log_dir)
    assert len(paths) == 3
    indexes = log_indexes(log_dir, TASK, TYPE)
    assert indexes == list(range(indexes[0], indexes[0] + 3))
    assert everything.endswith(b"".join(p.read_bytes() for p in paths))


def test_restart_appends_to_the_newest_file_unless_full(log_dir: Path) -> None:
    (log_dir / f"{BASE}.0").write_bytes(b"a" * 100)
    (log_dir / f"{BASE}.1").write_bytes(b"b" * 10)
    log = RotatingLog(str(log_dir), TASK, TYPE, 10, 100)
    log.write(b"c\n")
    log.close()
    assert (log_dir / f"{BASE}.1").read_bytes() == b"b" * 10 + b"c\n"
    (log_dir / f"{BASE}.1").write_bytes(b"b" * 100)
    log = RotatingLog(str(log_dir), TASK, TYPE, 10, 100)
    assert log.index == 2
    log.write(b"d\n")
    log.close()
    assert (log_dir / f"{BASE}.1").read_bytes() == b"b" * 100
    assert (log_dir / f"{BASE}.2").read_bytes() == b"d\n"


def test_skips_directories_and_never_follows_links(log_dir: Path) -> None:
    target = log_dir / "elsewhere"
    target.write_bytes(b"keep")
    (log_dir / f"{BASE}.0").write_bytes(b"a" * 10)
    (log_dir / f"{BASE}.1").mkdir()
    os.symlink(target, log_dir / f"{BASE}.2")
    (log_dir / f"{BASE}.x").write_bytes(b"not an index")
    log = RotatingLog(str(log_dir), TASK, TYPE, 10, 10)
    log.write(b"new\n")
    log.close()
    assert target.read_bytes() == b"keep"
    assert (log_dir / f"{BASE}.3").read_bytes() == b"new\n"
    assert (log_dir / f"{BASE}.x").read_bytes() == b"not an index"


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "read-write"])
def test_pump_moves_pipe_contents_exactly(log_dir: Path, splice: bool) -> None:
    """Lines written whole (as a line-buffered task writes them) end up whole in each file."""
    lines = [b"%06d " % i + b"p" * (i % 70) + b"\n" for i in range(6000)]
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    log = RotatingLog(str(log_dir), TASK, TYPE, 1000, 64 * 1024)
    log._splice = splice  # both paths must produce the same files
    try:
        pending = b""
        pos = 0
        while pos < len(lines) or pending:
            if not pending:
                pending = b"".join(lines[pos : pos + 1 + pos % 97])
                pos += 1 + pos % 97
            try:
                pending = pending[os.write(w, pending) :]
            except BlockingIOError:
                pass
            try:
                log.pump(r)
            except BlockingIOError:
                pass
        os.close(w)
        w = -1
        while True:
            try:
                if not log.pump(r):
                    break
            except BlockingIOError:
                pass
    finally:
        log.close()
        os.close(r)
        if w >= 0:
            os.close(w)
    if splice and not log._splice:
        pytest.skip("this file system refuses splice into regular files")
    assert joined(log_dir) == b"".join(lines)
    assert all(p.read_bytes().endswith(b"\n") for p in files(log_dir))


def test_names_it_would_not_write_are_left_alone(log_dir: Path) -> None:
    """Go ``Atoi`` reads ``+1``, ``01`` and ``-1`` as indexes; the writer neither appends to nor purges them."""
    strays = {f"{BASE}.+1": b"plus", f"{BASE}.01": b"zero-one", f"{BASE}.-1": b"minus"}
    for name, data in strays.items():
        (log_dir / name).write_bytes(data)
    log = RotatingLog(str(log_dir), TASK, TYPE, 1, 10)
    assert log.index == 0
    log.write(b"0123456789")
    log.write(b"abc\n")
    log.close()
    assert {name: (log_dir / name).read_bytes() for name in strays} == strays
    assert not (log_dir / f"{BASE}.0").exists()
    assert (log_dir / f"{BASE}.1").read_bytes() == b"abc\n"


def test_bytes_without_room_are_dropped_and_counted_and_writing_resumes(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        log = RotatingLog(str(disk), TASK, TYPE, max_files=3, max_size=10 * 1024 * 1024)
        try:
            log.write(b"first\n")
            filler = fill(disk)
            chunk = b"y" * 8192
            for _ in range(4):
                log.write(chunk)  # no exception: dropped
            assert log.dropped > 0
            assert log.dropped + (log.size - len(b"first\n")) == 4 * len(chunk)
            # Through the pipe as the supervisor drains it, splice included.
            r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                os.write(w, chunk)
                before = log.dropped
                assert log.pump(r)
                assert log.dropped == before + len(chunk)
                with pytest.raises(BlockingIOError):
                    os.read(r, 1)  # the pipe was drained all the same
                filler.unlink()
                kept = log.size
                os.write(w, b"back\n")
                assert log.pump(r)
                log.write(b"again\n")
            finally:
                os.close(r)
                os.close(w)
            assert log.size == kept + len(b"back\nagain\n")
            assert joined(disk).startswith(b"first\n")
            assert joined(disk).endswith(b"back\nagain\n")
        finally:
            log.close()


def test_a_file_that_cannot_be_created_is_tried_again_at_the_next_write(tmp_path: Path) -> None:
    # Three inodes: the root, file 0 and the filler; file 1 cannot be created until one is freed.
    with tmpfs(tmp_path / "disk", "1m", inodes=3) as disk:
        log = RotatingLog(str(disk), TASK, TYPE, max_files=5, max_size=4096)
        try:
            log.write(b"a" * 4096)  # file 0 is full: the next write opens file 1
            filler = disk / "filler"
            filler.write_bytes(b"f")
            log.write(b"b" * 100)
            assert log.dropped == 100
            assert log_indexes(disk, TASK, TYPE) == [0]
            filler.unlink()
            log.write(b"c\n")
            assert log.dropped == 100
            assert log_indexes(disk, TASK, TYPE) == [0, 1]
            assert (disk / f"{BASE}.1").read_bytes() == b"c\n"
        finally:
            log.close()


# -- capture-time indexes --------------------------------------------------------------------------


def test_time_index_follows_every_write_and_rotates_out(tmp_path: Path) -> None:
    from outrider.fs.logfiles import LogFile
    from outrider.stream.capture_times import CaptureTimes

    log_dir, times_dir = tmp_path / "logs", tmp_path / "state" / "logtimes"
    log_dir.mkdir()
    log = RotatingLog(str(log_dir), TASK, TYPE, 3, 1024, times_dir=str(times_dir))
    written: list[tuple[int, int, bytes]] = []  # (file index, offset, bytes) of each write
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        for i in range(40):
            line = b"%04d " % i + b"y" * (i * 13 % 300) + b"\n"
            before = (log.index, log.size)
            if i % 2:
                log.write(line)
            else:
                os.write(w, line)
                assert log.pump(r)
            if log.index != before[0]:
                before = (log.index, 0)
            written.append((*before, line))
    finally:
        os.close(r)
        os.close(w)
        log.close()
    live = [p.name for p in files(log_dir)]
    assert len(live) == 3
    # One index per live file, none in the log directory, none left of purged files.
    assert sorted(os.listdir(times_dir)) == sorted(name + ".times" for name in live)
    assert all(not name.endswith(".times") for name in os.listdir(log_dir))
    times = CaptureTimes(os.open(times_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    try:
        for name in live:
            file = LogFile(int(name.rsplit(".", 1)[1]), name, 0)
            want = [offset for index, offset, _ in written if index == file.index]
            got = [times.time_of(file, offset) for offset in want]
            assert all(t is not None and t > 0 for t in got)
            assert got == sorted(got)  # type: ignore[type-var]
            # A byte inside a write has that write's time; none before the first.
            assert times.time_of(file, want[-1] + 1) == got[-1]
            assert times.time_of(file, want[0] - 1) is None
            assert times.first_at_or_after(file, got[1]) == want[1]  # type: ignore[arg-type]
    finally:
        times.close()


def test_a_full_disk_skips_time_records_and_never_tears_one(tmp_path: Path) -> None:
    from outrider.fs.logtimes import RECORD

    with tmpfs(tmp_path / "disk", "1m") as disk:
        log_dir, times_dir = disk / "logs", disk / "logtimes"
        log_dir.mkdir()
        log = RotatingLog(str(log_dir), TASK, TYPE, 3, 10 * 1024 * 1024, times_dir=str(times_dir))
        try:
            log.write(b"before\n")
            filler = fill(disk)
            for _ in range(50):
                log.write(b"lost\n")  # neither the bytes nor their times fit: no exception
            filler.unlink()
            log.write(b"after\n")
        finally:
            log.close()
        index = (times_dir / f"{BASE}.0.times").read_bytes()
        assert len(index) % RECORD.size == 0
        offsets = [offset for offset, _ in RECORD.iter_unpack(index)]
        assert offsets[0] == 0 and offsets == sorted(offsets)
        assert joined(log_dir).startswith(b"before\n") and joined(log_dir).endswith(b"after\n")
