"""Opening a file for tailing: by name in a held directory, regular files only, beneath the allocation."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from outrider.allocs import Allocation
from outrider.fs.allocdir import NotRegularFileError, SecretPathError
from outrider.fs.errors import PathEscapesError
from outrider.stream import StreamService, TailReader, Watcher
from outrider.stream.tail_open import MAX_FILE_OFFSET, open_alloc_tail, open_tail

ALLOC_ID = "0b1e2c3d-4e5f-6071-8293-a4b5c6d7e8f9"


@pytest.fixture
def service() -> StreamService:
    # Never started: opening needs only the shared descriptors and the read buffer.
    return StreamService(Watcher("poll"))


@pytest.fixture
def alloc(tmp_path: Path) -> Iterator[Allocation]:
    root = tmp_path / ALLOC_ID
    for sub in ("alloc/logs", "web/local", "web/secrets"):
        (root / sub).mkdir(parents=True)
    (root / "web/local/app.log").write_bytes(b"0123456789")
    (root / "web/secrets/token").write_bytes(b"s3cret")
    allocation = Allocation(id=ALLOC_ID, namespace="default", path=str(root), tasks=["web"], external=True)
    yield allocation
    allocation.retire()


def read_all(reader: TailReader) -> bytes:
    with reader:
        return bytes(reader.read())


def opened(
    service: StreamService,
    dir_fd: int,
    name: str,
    offset: int = 0,
    *,
    from_end: bool = False,
    checked: os.stat_result | None = None,
) -> TailReader:
    reader = open_tail(service, dir_fd, name, offset, from_end=from_end, checked=checked)
    assert reader is not None
    return reader


def test_reads_from_the_offset_counted_from_either_end(
    service: StreamService, tmp_path: Path, tmp_dir_fd: int
) -> None:
    (tmp_path / "f").write_bytes(b"abcdef")
    assert read_all(opened(service, tmp_dir_fd, "f")) == b"abcdef"
    assert read_all(opened(service, tmp_dir_fd, "f", 2)) == b"cdef"
    assert read_all(opened(service, tmp_dir_fd, "f", 2, from_end=True)) == b"ef"
    assert read_all(opened(service, tmp_dir_fd, "f", 0, from_end=True)) == b""
    assert read_all(opened(service, tmp_dir_fd, "f", 100, from_end=True)) == b"abcdef"
    with opened(service, tmp_dir_fd, "f", 100) as past_the_end:
        assert past_the_end.offset == 100
        assert bytes(past_the_end.read()) == b""
    assert len(service.descriptors) == 0


def test_an_offset_near_the_largest_file_offset_is_clamped(
    service: StreamService, tmp_path: Path, tmp_dir_fd: int
) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    with opened(service, tmp_dir_fd, "f", MAX_FILE_OFFSET) as reader:
        assert reader.offset == MAX_FILE_OFFSET - len(service.scratch)
        assert bytes(reader.read()) == b""


def test_no_regular_file_at_the_name_is_none(service: StreamService, tmp_path: Path, tmp_dir_fd: int) -> None:
    (tmp_path / "file").write_bytes(b"x")
    (tmp_path / "other").write_bytes(b"y")
    (tmp_path / "dir").mkdir()
    os.symlink("file", tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        for name in ("missing", "dir", "link", "fifo", "sock", "file/below"):
            assert open_tail(service, tmp_dir_fd, name, 0) is None, name
    finally:
        server.close()
    # Another file than the one the caller checked counts as none.
    assert open_tail(service, tmp_dir_fd, "file", 0, checked=os.stat(tmp_path / "other")) is None
    assert read_all(opened(service, tmp_dir_fd, "file", checked=os.stat(tmp_path / "file"))) == b"x"
    assert len(service.descriptors) == 0


def test_other_failures_raise(service: StreamService, tmp_dir_fd: int) -> None:
    with pytest.raises(OSError) as caught:
        open_tail(service, tmp_dir_fd, "n" * 300, 0)
    assert caught.value.errno == errno.ENAMETOOLONG
    assert len(service.descriptors) == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses file permissions")
def test_an_unreadable_file_raises(service: StreamService, tmp_path: Path, tmp_dir_fd: int) -> None:
    (tmp_path / "locked").write_bytes(b"x")
    os.chmod(tmp_path / "locked", 0)
    with pytest.raises(PermissionError):
        open_tail(service, tmp_dir_fd, "locked", 0)
    assert len(service.descriptors) == 0


def test_the_reader_keeps_looking_in_the_directory_it_was_opened_in(
    service: StreamService, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "f").write_bytes(b"old")
    fd = os.open(logs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        reader = opened(service, fd, "f")
    finally:
        os.close(fd)
    with reader:
        # A directory swapped in under the same path does not redirect the name checks.
        logs.rename(tmp_path / "moved")
        logs.mkdir()
        (logs / "f").write_bytes(b"new file")
        assert reader.check() == "ok"
        (tmp_path / "moved" / "f").unlink()
        assert reader.check() == "deleted"


def test_followers_of_one_file_share_its_descriptors(
    service: StreamService, tmp_path: Path, tmp_dir_fd: int
) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    readers = [opened(service, tmp_dir_fd, "f") for _ in range(5)]
    assert len(service.descriptors) == 2  # the file and its directory
    for reader in readers:
        reader.close()
    assert len(service.descriptors) == 0


def test_an_allocation_path_is_resolved_and_checked(service: StreamService, alloc: Allocation) -> None:
    root = Path(alloc.path)
    os.symlink("../../web/local/app.log", root / "alloc/logs/app")
    reader = open_alloc_tail(service, alloc, "alloc/logs/app", "alloc/logs/app", origin_end=True, offset=4)
    assert read_all(reader) == b"6789"
    reader = open_alloc_tail(
        service, alloc, "/web/local/app.log", "web/local/app.log", origin_end=False, offset=3
    )
    assert read_all(reader) == b"3456789"
    os.symlink("../secrets/token", root / "web/local/token")
    os.symlink("/etc/passwd", root / "web/local/passwd")
    os.mkfifo(root / "web/local/fifo")
    refusals: list[tuple[str, type[OSError], str]] = [
        ("web/local", NotRegularFileError, 'file "web/local" is a directory'),
        ("web/secrets/token", SecretPathError, "Reading secret file prohibited: web/secrets/token"),
        ("web/local/token", SecretPathError, "Reading secret file prohibited: web/local/token"),
        ("web/local/fifo", NotRegularFileError, 'file "web/local/fifo" is not a regular file'),
        ("web/local/passwd", PathEscapesError, "Path escapes the alloc directory"),
        ("web/local/missing", FileNotFoundError, ""),
    ]
    for rel, error, text in refusals:
        with pytest.raises(error) as caught:
            open_alloc_tail(service, alloc, rel, rel, origin_end=False, offset=0)
        if text:
            assert (caught.value.strerror or str(caught.value)) == text, rel
    assert len(service.descriptors) == 0
