"""Where a logs request starts: Nomad's ``findClosest`` table (``client/fs_endpoint_test.go``) and the start point."""

from __future__ import annotations

import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outrider.fs.logfiles import LogFile, log_files
from outrider.stream.log_start import MAX_INDEX, find_closest, start_point

MAX_INT64 = 2**63 - 1

# TestFS_findClosest's entries: four stdout and three stderr files of 100 bytes each.
ENTRIES = [(f"foo.stdout.{i}", 100) for i in range(4)] + [(f"foo.stderr.{i}", 100) for i in range(3)]


def listed(entries: list[tuple[str, int]], log_type: str) -> list[LogFile]:
    """The task ``foo``'s files of ``log_type`` among regular files named with their sizes."""
    return log_files([(name, stat.S_IFREG | 0o644, size, 0) for name, size in entries], "foo", log_type)


def closest(entries: list[tuple[str, int]], log_type: str, idx: int, offset: int) -> tuple[str, int, int]:
    files = listed(entries, log_type)
    pos, start = find_closest(files, idx, offset)
    return files[pos].name, files[pos].index, start


@pytest.mark.parametrize(
    ("entries", "log_type", "idx", "offset", "expected"),
    [
        # beginning
        (ENTRIES, "stdout", 0, 0, ("foo.stdout.0", 0, 0)),
        (ENTRIES, "stdout", 0, -100, ("foo.stdout.0", 0, 0)),  # the offset is ignored at the edges
        (ENTRIES, "stdout", 1, -1000, ("foo.stdout.0", 0, 0)),
        (ENTRIES, "stderr", 0, 0, ("foo.stderr.0", 0, 0)),
        # middle
        (ENTRIES, "stdout", 1, 0, ("foo.stdout.1", 1, 0)),
        (ENTRIES, "stdout", 1, 10, ("foo.stdout.1", 1, 10)),
        (ENTRIES, "stdout", 1, 110, ("foo.stdout.2", 2, 10)),
        (ENTRIES, "stderr", 1, 0, ("foo.stderr.1", 1, 0)),
        # end
        (ENTRIES, "stdout", MAX_INT64, 0, ("foo.stdout.3", 3, 0)),
        (ENTRIES, "stdout", MAX_INT64, MAX_INT64, ("foo.stdout.3", 3, 100)),
        (ENTRIES, "stdout", MAX_INT64, -10, ("foo.stdout.3", 3, 90)),
        (ENTRIES, "stderr", MAX_INT64, 0, ("foo.stderr.2", 2, 0)),
    ],
)
def test_reference_find_closest_table(
    entries: list[tuple[str, int]], log_type: str, idx: int, offset: int, expected: tuple[str, int, int]
) -> None:
    assert closest(entries, log_type, idx, offset) == expected


@pytest.mark.parametrize(("entries", "log_type"), [([], "stdout"), (ENTRIES[:3], "stderr")])
def test_no_files_is_an_error(entries: list[tuple[str, int]], log_type: str) -> None:
    with pytest.raises(ValueError):
        find_closest(listed(entries, log_type), 0, 0)


def test_walks_across_several_files_both_ways() -> None:
    entries = [("foo.stdout.0", 10), ("foo.stdout.1", 0), ("foo.stdout.2", 20), ("foo.stdout.3", 5)]
    assert closest(entries, "stdout", 0, 10) == ("foo.stdout.0", 0, 10)  # <= size stays in the file
    assert closest(entries, "stdout", 0, 11) == ("foo.stdout.2", 2, 1)  # the empty file is walked over
    assert closest(entries, "stdout", 0, 36) == ("foo.stdout.3", 3, 5)  # clamped to the newest file's end
    assert closest(entries, "stdout", MAX_INDEX, -7) == ("foo.stdout.2", 2, 18)
    assert closest(entries, "stdout", MAX_INDEX, -1000) == ("foo.stdout.0", 0, 0)
    # origin=start with a negative offset: "N bytes before the end of the oldest file", or 0.
    assert closest(entries, "stdout", 0, -4) == ("foo.stdout.0", 0, 6)
    # Gaps: the first index at least the desired one.
    gappy = [("foo.stdout.2", 1), ("foo.stdout.13", 1)]
    assert closest(gappy, "stdout", 3, 0) == ("foo.stdout.13", 13, 0)
    assert closest(gappy, "stdout", 14, 0) == ("foo.stdout.13", 13, 0)


def test_start_points() -> None:
    assert start_point(False, 5) == (0, 5)
    assert start_point(False, -5) == (0, -5)
    assert start_point(True, 5) == (MAX_INDEX, -5)
    # The CLI's origin=end&offset=0 is "the whole newest file", not "nothing".
    assert start_point(True, 0) == (MAX_INDEX, 0)
    assert start_point(True, -5) == (MAX_INDEX, 5)
    assert start_point(True, -(2**63)) == (MAX_INDEX, -(2**63))  # Go's int64 negation wraps


@given(
    sizes=st.lists(st.integers(0, 50), min_size=1, max_size=8),
    offset=st.integers(-400, 400),
    origin_end=st.booleans(),
)
def test_find_closest_is_a_position_in_the_concatenation(
    sizes: list[int], offset: int, origin_end: bool
) -> None:
    """Read from the chosen point to the end, the files give a suffix of their concatenation."""
    files = [LogFile(i, f"t.stdout.{i}", size) for i, size in enumerate(sizes)]
    pos, start = find_closest(files, *start_point(origin_end, offset))
    assert 0 <= start <= files[pos].size
    suffix = files[pos].size - start + sum(f.size for f in files[pos + 1 :])
    total = sum(sizes)
    if origin_end and offset == 0:
        expected = sizes[-1]
    elif origin_end:
        expected = min(max(offset, 0), total) if offset > 0 else sizes[-1] - min(-offset, sizes[-1])
    elif offset >= 0:
        expected = total - min(offset, total)
    else:
        expected = total - sizes[0] + min(-offset, sizes[0])
    assert suffix == expected
