"""inotify bindings: one body over both implementations; record parsing is parity-tested with hypothesis."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outrider.stream import inotify_py
from outrider.stream.inotify import IMPLEMENTATIONS
from tests.twins import pick


@pytest.fixture(params=["native", "pure"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(IMPLEMENTATIONS, request.param, "inotify")


@pytest.fixture
def ifd(impl: ModuleType) -> Iterator[int]:
    fd = impl.init()
    yield fd
    os.close(fd)


def record(wd: int, mask: int, name: bytes = b"", pad: int = 0) -> bytes:
    raw = name + b"\0" * pad
    return struct.pack("=iIII", wd, mask, 0, len(raw)) + raw


def test_constants_match_the_kernel_headers(impl: ModuleType) -> None:
    for name in dir(inotify_py):
        if name.startswith("IN_"):
            assert getattr(impl, name) == getattr(inotify_py, name), name


def test_instance_is_nonblocking_and_close_on_exec(impl: ModuleType, ifd: int) -> None:
    assert not os.get_inheritable(ifd)
    assert os.get_blocking(ifd) is False
    assert impl.read_events(ifd) == []


def test_directory_events_carry_names(impl: ModuleType, ifd: int, tmp_path: Path) -> None:
    wd = impl.add_watch(ifd, str(tmp_path), inotify_py.IN_CREATE | inotify_py.IN_DELETE)
    (tmp_path / "web.stdout.1").write_bytes(b"")
    os.unlink(tmp_path / "web.stdout.1")
    assert impl.read_events(ifd) == [
        (wd, inotify_py.IN_CREATE, b"web.stdout.1"),
        (wd, inotify_py.IN_DELETE, b"web.stdout.1"),
    ]


def test_watch_through_an_open_descriptor(impl: ModuleType, ifd: int, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        wd = impl.add_watch(ifd, f"/proc/self/fd/{fd}", inotify_py.IN_MODIFY)
        # The same inode, reached another way, is the same watch.
        assert impl.add_watch(ifd, str(path), inotify_py.IN_MODIFY) == wd
        os.rename(path, tmp_path / "g")
        with open(tmp_path / "g", "ab") as f:
            f.write(b"x")
        assert impl.read_events(ifd) == [(wd, inotify_py.IN_MODIFY, b"")]
        impl.rm_watch(ifd, wd)
        assert impl.read_events(ifd) == [(wd, inotify_py.IN_IGNORED, b"")]
    finally:
        os.close(fd)


def test_errors_are_oserrors(impl: ModuleType, ifd: int, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        impl.add_watch(ifd, str(tmp_path / "missing"), inotify_py.IN_MODIFY)
    with pytest.raises(OSError):
        impl.rm_watch(ifd, 12345)


def test_parse_strips_name_padding(impl: ModuleType) -> None:
    data = record(3, 0x100, b"a.log", pad=11) + record(-1, inotify_py.IN_Q_OVERFLOW)
    assert impl.parse_events(data) == [(3, 0x100, b"a.log"), (-1, inotify_py.IN_Q_OVERFLOW, b"")]


@pytest.mark.parametrize("data", [b"\1\0\0", record(1, 2, b"abc")[:-1], record(1, 2) + b"\0" * 15])
def test_parse_refuses_cut_records(impl: ModuleType, data: bytes) -> None:
    with pytest.raises(ValueError):
        impl.parse_events(data)


EVENTS = st.lists(
    st.tuples(
        st.integers(-(2**31), 2**31 - 1),
        st.integers(0, 2**32 - 1),
        st.binary(max_size=40).map(lambda b: b.replace(b"\0", b"")),
        st.integers(0, 16),
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(events=EVENTS, garbage=st.binary(max_size=24), offset=st.integers(0, 3))
def test_native_and_pure_parse_identically(
    events: list[tuple[int, int, bytes, int]], garbage: bytes, offset: int
) -> None:
    if "native" not in IMPLEMENTATIONS:
        pytest.skip("native outrider._native.inotify is not built (python setup.py build_ext --inplace)")
    raw = b"".join(record(wd, mask, name, pad) for wd, mask, name, pad in events)
    # An unaligned view, and sometimes trailing bytes that do not form a record.
    view = memoryview(b"\xaa" * offset + raw + garbage)[offset:]
    results = []
    for name in ("native", "pure"):
        try:
            results.append(IMPLEMENTATIONS[name].parse_events(view))
        except ValueError as exc:
            results.append(type(exc))
    assert results[0] == results[1]
    if not garbage:
        assert results[0] == [(wd, mask, name) for wd, mask, name, _ in events]
