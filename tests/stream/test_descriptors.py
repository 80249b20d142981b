"""Descriptors shared by every reader of the same object."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from outrider.stream.descriptors import SharedDescriptors

pytestmark = pytest.mark.usefixtures("no_fd_leak")


@pytest.fixture
def fds() -> Iterator[SharedDescriptors]:
    shared = SharedDescriptors()
    yield shared
    assert len(shared) == 0, "a test left shared descriptors behind"


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        assert exc.errno == errno.EBADF
        return False
    return True


def test_one_descriptor_per_object_closed_with_its_last_user(fds: SharedDescriptors, tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"abc")
    first = fds.share(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    spare = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    second = fds.share(spare)
    assert second == first
    assert not is_open(spare) or spare == first  # the duplicate was closed (its number may be reused)
    assert fds.stats() == {"descriptors": 1, "uses": 2}
    assert os.pread(first, 3, 0) == b"abc"
    fds.release(first)
    assert is_open(first)
    fds.release(second)
    assert not is_open(first)


def test_objects_and_open_modes_are_kept_apart(fds: SharedDescriptors, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    fa = fds.share(os.open(a, os.O_RDONLY | os.O_CLOEXEC))
    fb = fds.share(os.open(b, os.O_RDONLY | os.O_CLOEXEC))
    # The same file through O_PATH is another kind of descriptor: it cannot be read.
    fa_path = fds.share(os.open(a, os.O_PATH | os.O_CLOEXEC))
    fdir = fds.share(os.open(tmp_path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
    fdir2 = fds.share(os.open(tmp_path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
    assert len({fa, fb, fa_path, fdir}) == 4 and fdir2 == fdir
    assert fds.stats() == {"descriptors": 4, "uses": 5}
    for fd in (fa, fb, fa_path, fdir, fdir2):
        fds.release(fd)


def test_a_file_replaced_under_its_name_gets_its_own_descriptor(
    fds: SharedDescriptors, tmp_path: Path
) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"old")
    old = fds.share(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    path.unlink()
    path.write_bytes(b"new")
    new = fds.share(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    assert new != old
    assert os.pread(old, 3, 0) == b"old" and os.pread(new, 3, 0) == b"new"
    fds.release(old)
    fds.release(new)


def test_an_unshared_descriptor_is_simply_closed(fds: SharedDescriptors, tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_PATH | os.O_CLOEXEC)
    fds.release(fd)
    assert not is_open(fd)


def test_a_bad_descriptor_is_refused(fds: SharedDescriptors, tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_PATH | os.O_CLOEXEC)
    os.close(fd)
    with pytest.raises(OSError):
        fds.share(fd)
