"""``tail_lines=100`` over a rotated log: finding where the last 100 lines start, native against pure,
side by side with GNU ``tail -n 100`` on the same bytes in one file (run as a process, as a user
would, so its time includes starting it). Both produce the same bytes.

The log grows from 8 MiB to 64 MiB in 1 MiB rotated files; the scan's cost should stay flat,
since it reads only the end of the newest files.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from bench.tools import which
from outrider.fs.logfiles import list_log_files
from outrider.stream import linescan, linescan_py, tail_lines

FILE_SIZE = 1 << 20
LINES = 100
SIZES = [8 << 20, 64 << 20]


def _write_log(root: Path, size: int) -> Path:
    """``web.stdout.<N>`` files of 1 MiB holding numbered lines, plus ``all.log`` with the same bytes."""
    log_dir = root / f"logs-{size >> 20}m"
    log_dir.mkdir()
    line_no = 0
    with open(log_dir / "all.log", "wb") as whole:
        for index in range(size // FILE_SIZE):
            chunk = bytearray()
            while len(chunk) < FILE_SIZE - 200:
                chunk += b"%09d " % line_no + b"x" * (line_no % 120) + b"\n"
                line_no += 1
            (log_dir / f"web.stdout.{index}").write_bytes(chunk)
            whole.write(chunk)
    return log_dir


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Path]]:
    root = tmp_path_factory.mktemp("linescan")
    yield {size: _write_log(root, size) for size in SIZES}


def _expected(log_dir: Path) -> bytes:
    data = (log_dir / "all.log").read_bytes()
    return b"".join(data.splitlines(keepends=True)[-LINES:])


def _tail_bytes(dir_fd: int, scan: Any) -> bytes:
    """The bytes from where the last LINES lines start: the start found with ``scan``, then read."""
    files = list_log_files(dir_fd, "web", "stdout")
    original = tail_lines.scan_back
    tail_lines.scan_back = scan
    try:
        pos, offset = tail_lines.tail_start(dir_fd, files, LINES)
    finally:
        tail_lines.scan_back = original
    out = []
    for f in files[pos:]:
        fd = os.open(f.name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            start = offset if f is files[pos] else 0
            out.append(os.pread(fd, f.size - start, start))
        finally:
            os.close(fd)
    return b"".join(out)


def _gnu_tail_median(path: Path, expected: bytes) -> float | None:
    """Seconds GNU ``tail -n 100`` takes on ``path`` (median of 7 runs), None when it is not installed."""
    tail = which("tail")
    if tail is None:
        return None
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        out = subprocess.run([tail, "-n", str(LINES), str(path)], capture_output=True, check=True).stdout
        runs.append(time.perf_counter() - started)
        assert out == expected
    return statistics.median(runs)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s >> 20}MiB")
@pytest.mark.parametrize("impl", twins(linescan.IMPLEMENTATIONS, "linescan"))
def test_tail_lines_100(benchmark: Any, impl: ModuleType, size: int, logs: dict[int, Path]) -> None:
    log_dir = logs[size]
    benchmark.group = f"tail_lines=100 of a {size >> 20} MiB rotated log"
    expected = _expected(log_dir)
    dir_fd = os.open(log_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        out = benchmark(_tail_bytes, dir_fd, impl.scan_back)
        record(benchmark, out, _tail_bytes(dir_fd, linescan_py.scan_back))
    finally:
        os.close(dir_fd)
    assert out == expected
    # GNU tail on the same bytes, measured in the same run: its time and how many times ours it is.
    gnu = _gnu_tail_median(log_dir / "all.log", expected)
    if gnu is not None and benchmark.stats is not None:
        ours = benchmark.stats.stats.median
        benchmark.extra_info["gnu_tail_n_100_median_s"] = gnu
        benchmark.extra_info["ours_over_gnu_tail"] = ours / gnu
