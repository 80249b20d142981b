"""Backward newline scanning: one body over both twins, and a cross-check that they agree on every input."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outrider.stream.linescan import IMPLEMENTATIONS
from tests.twins import TWINS, both, pick

HYPOTHESIS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module", params=TWINS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(IMPLEMENTATIONS, request.param, "linescan")


@pytest.fixture
def open_file(tmp_path: Path) -> Iterator[object]:
    fds: list[int] = []

    def opener(data: bytes) -> int:
        path = tmp_path / f"f{len(fds)}"
        path.write_bytes(data)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        fds.append(fd)
        return fd

    yield opener
    for fd in fds:
        os.close(fd)


def expected(data: bytes, end: int, count: int) -> tuple[int, int]:
    """The answer by brute force: newline offsets below ``end``, nearest first."""
    hits = [i for i in range(min(end, len(data)) - 1, -1, -1) if data[i] == 10][:count]
    return len(hits), hits[-1] if hits else -1


def test_counts_back_from_the_end(impl: ModuleType, open_file) -> None:  # type: ignore[no-untyped-def]
    data = b"one\ntwo\nthree\nfour"
    fd = open_file(data)
    assert impl.scan_back(fd, len(data), 1) == (1, 13)
    assert impl.scan_back(fd, len(data), 2) == (2, 7)
    assert impl.scan_back(fd, len(data), 9) == (3, 3)
    assert impl.scan_back(fd, 13, 1) == (1, 7)
    assert impl.scan_back(fd, len(data), 0) == (0, -1)
    assert impl.scan_back(fd, 0, 5) == (0, -1)


def test_blocks_smaller_than_the_lines(impl: ModuleType, open_file) -> None:  # type: ignore[no-untyped-def]
    data = b"".join(b"%d" % i * (i % 11) + b"\n" for i in range(500))
    fd = open_file(data)
    for block in (1, 2, 3, 7, 64, 4096, 65536):
        for count in (1, 10, 499, 500, 501):
            assert impl.scan_back(fd, len(data), count, block) == expected(data, len(data), count)


def test_an_end_past_the_file_scans_what_is_there(impl: ModuleType, open_file) -> None:  # type: ignore[no-untyped-def]
    fd = open_file(b"a\nb\n")
    assert impl.scan_back(fd, 1000, 5, 3) == (2, 1)


def test_bad_arguments(impl: ModuleType, open_file) -> None:  # type: ignore[no-untyped-def]
    fd = open_file(b"x\n")
    for end, count in ((-1, 1), (1, -1)):
        with pytest.raises(OSError) as info:
            impl.scan_back(fd, end, count)
        assert info.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        impl.scan_back(fd, 2, 1, 0)
    with pytest.raises(OSError) as info:
        impl.scan_back(-1, 2, 1)
    assert info.value.errno == errno.EBADF


@HYPOTHESIS
@given(
    data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")),
    end=st.integers(0, 450),
    count=st.integers(0, 60),
    block=st.integers(1, 70),
)
def test_twins_agree_with_brute_force(open_file, data: bytes, end: int, count: int, block: int) -> None:  # type: ignore[no-untyped-def]
    native, pure = both(IMPLEMENTATIONS, "linescan")
    fd = open_file(data)
    want = expected(data, end, count)
    assert native.scan_back(fd, end, count, block) == want
    assert pure.scan_back(fd, end, count, block) == want
