"""Unit tests for positional reads: one body over every implementation, plus cross-checks."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outrider.fs import readat
from outrider.fs.readat import IMPLEMENTATIONS
from tests.twins import TWINS, pick

FD_DIR = "/proc/self/fd"
HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module", params=TWINS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(IMPLEMENTATIONS, request.param, "readat")


@pytest.fixture
def data_fd(tmp_path: os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    data = bytes(range(256)) * 40 + b"tail"
    path = os.path.join(tmp_path, "data")
    with open(path, "wb") as f:
        f.write(data)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    yield fd, data
    os.close(fd)


def _temp_file(data: bytes) -> int:
    fd, path = tempfile.mkstemp()
    os.unlink(path)
    os.write(fd, data)
    return fd


def _outcome(fn: Callable[..., object], *args: int) -> tuple[str, object]:
    try:
        result = fn(*args)
    except OSError as exc:
        return ("error", (type(exc), exc.errno))
    except ValueError as exc:
        return ("error", (type(exc), None))
    return ("ok", bytes(result))  # type: ignore[call-overload]


files = st.binary(max_size=3000)
offsets = st.integers(min_value=0, max_value=3500)
chunk_sizes = st.integers(min_value=1, max_value=700)
limits = st.integers(min_value=-3, max_value=800)


@HYPOTHESIS
@given(data=files, chunk_size=chunk_sizes, offset=offsets, max_bytes=limits)
def test_read_is_one_bounded_slice(
    impl: ModuleType, data: bytes, chunk_size: int, offset: int, max_bytes: int
) -> None:
    fd = _temp_file(data)
    try:
        reader = impl.ChunkReader(fd, chunk_size)
        view = reader.read(offset, max_bytes)
        limit = chunk_size if max_bytes < 0 else min(chunk_size, max_bytes)
        assert isinstance(view, memoryview)
        assert view.readonly
        assert bytes(view) == data[offset : offset + limit]
        # pread must not move the shared file offset.
        assert os.lseek(fd, 0, os.SEEK_CUR) == len(data)
    finally:
        os.close(fd)


@HYPOTHESIS
@given(data=files, offset=offsets, size=st.integers(min_value=0, max_value=4000))
def test_read_bytes_and_pread_full_return_the_whole_range(
    impl: ModuleType, data: bytes, offset: int, size: int
) -> None:
    fd = _temp_file(data)
    try:
        expected = data[offset : offset + size]
        got = impl.ChunkReader(fd, 64).read_bytes(offset, size)
        assert type(got) is bytes
        assert got == expected
        assert impl.pread_full(fd, size, offset) == expected
    finally:
        os.close(fd)


@HYPOTHESIS
@given(
    data=files,
    chunk_size=chunk_sizes,
    calls=st.lists(st.tuples(st.integers(-2, 3500), limits), min_size=1, max_size=6),
)
def test_twins_agree_on_every_call(data: bytes, chunk_size: int, calls: list[tuple[int, int]]) -> None:
    pick(IMPLEMENTATIONS, "native", "readat")
    fd = _temp_file(data)
    try:
        readers = {name: mod.ChunkReader(fd, chunk_size) for name, mod in IMPLEMENTATIONS.items()}
        for offset, limit in calls:
            seen = {
                name: (
                    _outcome(r.read, offset, limit),
                    _outcome(r.read_bytes, offset, limit),
                )
                for name, r in readers.items()
            }
            assert seen["native"] == seen["pure"]
    finally:
        os.close(fd)


def test_sequential_chunks_cover_the_file_then_eof(impl: ModuleType, data_fd: tuple[int, bytes]) -> None:
    fd, data = data_fd
    reader = impl.ChunkReader(fd, 1000)
    out = bytearray()
    offset = 0
    while True:
        view = reader.read(offset)
        if not view:
            break
        assert len(view) <= 1000
        out += view
        offset += len(view)
    assert bytes(out) == data
    assert len(reader.read(len(data) + 10)) == 0
    assert reader.read_bytes(len(data), 100) == b""


def test_negative_offset_is_einval(impl: ModuleType, data_fd: tuple[int, bytes]) -> None:
    fd, _ = data_fd
    reader = impl.ChunkReader(fd)
    calls: list[Callable[[], object]] = [
        lambda: reader.read(-1),
        lambda: reader.read_bytes(-1, 10),
        lambda: impl.pread_full(fd, 1, -5),
    ]
    for call in calls:
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EINVAL
        assert type(info.value) is OSError


def test_invalid_sizes_are_value_errors(impl: ModuleType, data_fd: tuple[int, bytes]) -> None:
    fd, _ = data_fd
    with pytest.raises(ValueError):
        impl.ChunkReader(fd, 0)
    with pytest.raises(ValueError):
        impl.ChunkReader(fd, -5)
    with pytest.raises(ValueError):
        impl.ChunkReader(fd).read_bytes(0, -1)


def test_zero_limit_returns_empty_view(impl: ModuleType, data_fd: tuple[int, bytes]) -> None:
    fd, _ = data_fd
    assert bytes(impl.ChunkReader(fd).read(5, 0)) == b""
    assert impl.pread_full(fd, 0, 5) == b""


def test_buffer_is_reused_and_the_view_is_only_valid_until_the_next_read(
    impl: ModuleType, data_fd: tuple[int, bytes]
) -> None:
    """Documents the contract: keep ``bytes(view)`` if the data must outlive the next read."""
    fd, data = data_fd
    reader = impl.ChunkReader(fd, 16)
    first = reader.read(0)
    kept = bytes(first)
    assert kept == data[:16]
    second = reader.read(100)
    assert bytes(second) == data[100:116]
    # Same storage: the first view now shows the second read's bytes.
    assert bytes(first) == data[100:116]
    assert bytes(first) != kept
    with pytest.raises(TypeError):
        first[0] = 0


def test_attributes(impl: ModuleType, data_fd: tuple[int, bytes]) -> None:
    fd, _ = data_fd
    reader = impl.ChunkReader(fd, 123)
    assert (reader.fd, reader.chunk_size) == (fd, 123)
    assert impl.ChunkReader(fd).chunk_size == readat.DEFAULT_CHUNK_SIZE == 65536
    with pytest.raises(AttributeError):
        reader.fd = 3


def test_os_errors_match_the_syscall(impl: ModuleType, tmp_path: os.PathLike[str]) -> None:
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    r, w = os.pipe()
    try:
        with pytest.raises(IsADirectoryError):
            impl.ChunkReader(dir_fd).read(0)
        with pytest.raises(OSError) as info:
            impl.ChunkReader(r).read_bytes(0, 10)
        assert info.value.errno == errno.ESPIPE
    finally:
        for fd in (dir_fd, r, w):
            os.close(fd)
    with pytest.raises(OSError) as info:
        impl.ChunkReader(dir_fd).read(0)
    assert info.value.errno == errno.EBADF


def test_selector_exports_the_active_twin() -> None:
    active = readat.ChunkReader
    assert active in {mod.ChunkReader for mod in IMPLEMENTATIONS.values()}
    assert readat.pread_full in {mod.pread_full for mod in IMPLEMENTATIONS.values()}


def _evicted(path: str) -> bool:
    """Drop ``path`` from the page cache; False when this file system keeps it (tmpfs, no RWF_NOWAIT)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        try:
            os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False
    finally:
        os.close(fd)


def test_pread_cached_reads_what_the_page_cache_holds(impl: ModuleType, data_fd: tuple[int, bytes]) -> None:
    fd, data = data_fd
    assert impl.pread_cached(fd, len(data), 0) == data  # just written: every page is cached
    assert impl.pread_cached(fd, 100, 1000) == data[1000:1100]
    assert impl.pread_cached(fd, 100, len(data) - 10) == data[-10:]
    assert impl.pread_cached(fd, 0, 5) == b""
    with pytest.raises(OSError) as excinfo:
        impl.pread_cached(fd, 1, -1)
    assert excinfo.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        impl.pread_cached(fd, -1, 0)


def test_pread_cached_stops_where_the_disk_would_be_needed(
    impl: ModuleType, tmp_path: os.PathLike[str]
) -> None:
    path = os.path.join(tmp_path, "cold")
    data = os.urandom(4 << 20)
    with open(path, "wb") as f:
        f.write(data)
    if not _evicted(path):
        pytest.skip("this file system keeps the file in memory (cannot evict it from the page cache)")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        cached = impl.pread_cached(fd, len(data), 0)
        assert len(cached) < len(data) and cached == data[: len(cached)]
        assert impl.pread_full(fd, len(data), 0) == data  # a blocking read still gets it all
    finally:
        os.close(fd)
