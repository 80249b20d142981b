"""Task log file names ``<task>.<type>.<N>``: building, parsing (Go ``Atoi``) and listing, on both listings."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outrider.fs import listing
from outrider.fs.logfiles import (
    LOG_DIR,
    LOG_TYPES,
    LogFile,
    has_log_files,
    list_log_files,
    log_files,
    log_name,
    parse_index,
)
from tests.twins import TWINS, pick


@pytest.fixture(params=TWINS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(listing.IMPLEMENTATIONS, request.param, "listing")


def test_names_are_task_type_index() -> None:
    assert log_name("web", "stdout", 0) == "web.stdout.0"
    assert log_name("web.api", "stderr", 12) == "web.api.stderr.12"
    assert LOG_TYPES == ("stdout", "stderr")
    assert LogFile(3, "web.stdout.3", 7).rel == f"{LOG_DIR}/web.stdout.3" == "alloc/logs/web.stdout.3"


@given(
    task=st.text(st.characters(exclude_characters="/\x00"), min_size=1, max_size=20),
    index=st.integers(0, 2**63 - 1),
)
def test_a_built_name_parses_back(task: str, index: int) -> None:
    name = log_name(task, "stderr", index)
    prefix = f"{task}.stderr."
    assert name.startswith(prefix)
    assert parse_index(name[len(prefix) :]) == index


def test_index_parsing_is_go_atoi_and_strays_are_skipped(
    impl: ModuleType, tmp_path: Path, tmp_dir_fd: int
) -> None:
    assert [parse_index(s) for s in ("0", "12", "+3", "-1", "007")] == [0, 12, 3, -1, 7]
    assert [parse_index(s) for s in ("", "gz", "1.gz", "old", " 1", "1_0", "0x1", "9" * 30)] == [None] * 8
    sizes = {
        "web.stdout.1": 5,
        "web.stdout.gz": 9,
        "web.stdout.old": 9,
        "web.stdout.0": 3,
        "web.stdout.stdout.0": 9,  # a task named "web.stdout"
        "web.stderr.0": 9,
        "api.stdout.0": 9,
        "web.stdout.": 9,
    }
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    assert log_files(impl.list_dir(tmp_dir_fd), "web", "stdout") == [
        LogFile(0, "web.stdout.0", 3),
        LogFile(1, "web.stdout.1", 5),
    ]


def test_only_regular_files_are_log_files(impl: ModuleType, tmp_path: Path, tmp_dir_fd: int) -> None:
    (tmp_path / "web.stdout.0").write_bytes(b"abc")
    (tmp_path / "web.stdout.1").mkdir()
    os.symlink("web.stdout.0", tmp_path / "web.stdout.2")
    os.mkfifo(tmp_path / "web.stdout.3")
    expected = [LogFile(0, "web.stdout.0", 3)]
    assert log_files(impl.list_dir(tmp_dir_fd), "web", "stdout") == expected
    # The shared directory offset is rewound: the next listing sees the same.
    assert log_files(impl.list_dir(tmp_dir_fd), "web", "stdout") == expected
    assert list_log_files(tmp_dir_fd, "web", "stdout") == expected


def test_ordered_by_index_then_name_with_signs_and_gaps(
    impl: ModuleType, tmp_path: Path, tmp_dir_fd: int
) -> None:
    for name in ("t.stderr.13", "t.stderr.2", "t.stderr.+2", "t.stderr.02", "t.stderr.-1", "t.stderr.10"):
        (tmp_path / name).write_bytes(name.encode())
    got = log_files(impl.list_dir(tmp_dir_fd), "t", "stderr")
    assert [(f.index, f.name) for f in got] == [
        (-1, "t.stderr.-1"),
        (2, "t.stderr.+2"),
        (2, "t.stderr.02"),
        (2, "t.stderr.2"),
        (10, "t.stderr.10"),
        (13, "t.stderr.13"),
    ]
    assert [f.size for f in got] == [len(f.name) for f in got]
    assert got == list_log_files(tmp_dir_fd, "t", "stderr")


def test_any_type_counts_as_the_task_having_logs(tmp_path: Path, tmp_dir_fd: int) -> None:
    assert not has_log_files(tmp_dir_fd, "web")
    (tmp_path / "web.stdout.x").write_bytes(b"")
    (tmp_path / "api.stdout.0").write_bytes(b"")
    assert not has_log_files(tmp_dir_fd, "web")
    (tmp_path / "web.stderr.0").write_bytes(b"")
    assert has_log_files(tmp_dir_fd, "web")
    assert list_log_files(tmp_dir_fd, "web", "stdout") == []


def test_a_removed_directory_is_an_error_not_an_empty_listing(tmp_path: Path, tmp_dir_fd: int) -> None:
    (tmp_path / "web.stdout.0").write_bytes(b"a")
    assert has_log_files(tmp_dir_fd, "web")
    (tmp_path / "web.stdout.0").unlink()
    tmp_path.rmdir()
    with pytest.raises(FileNotFoundError):
        list_log_files(tmp_dir_fd, "web", "stdout")
    with pytest.raises(FileNotFoundError):
        has_log_files(tmp_dir_fd, "web")


def test_an_unreadable_descriptor_is_an_error(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        with pytest.raises(NotADirectoryError):
            list_log_files(fd, "web", "stdout")
    finally:
        os.close(fd)
