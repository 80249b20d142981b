"""Tail reads: a 16 MiB file read to its end in 64 KiB pieces, native against pure."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from outrider.stream import tail

SIZE = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tail") / "app.log"
    block = random.Random(2).randbytes(1 << 20)
    path.write_bytes(block * (SIZE // len(block)))
    return path


@pytest.fixture
def reader(impl: ModuleType, big_file: Path) -> Iterator[Any]:
    fd = os.open(big_file, os.O_RDONLY | os.O_CLOEXEC)
    parent = os.open(big_file.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    r = impl.TailReader(fd, parent, big_file.name, 0)
    yield r
    r.close()


def _read_all(r: Any) -> int:
    r.rewind(0)
    total = 0
    while True:
        n = len(r.read())
        total += n
        if r.eof:
            return total


@pytest.mark.parametrize("impl", twins(tail.IMPLEMENTATIONS, "tail"))
def test_tail_read_to_end(benchmark: Any, reader: Any, big_file: Path) -> None:
    benchmark.group = "tail: read 16 MiB in 64 KiB reads"
    total = benchmark(_read_all, reader)
    reader.rewind(0)
    digest = hashlib.sha256()
    while not reader.eof:
        digest.update(reader.read())
    result = (total, digest.hexdigest())
    reference = (SIZE, hashlib.sha256(big_file.read_bytes()).hexdigest())
    record(benchmark, result, reference)


WAKEUPS = 1000
APPEND = 256


def _wake_ups(r: Any) -> int:
    # What a follower does per wake-up for a small append: check the file, then read what came.
    r.rewind(0)
    total = 0
    for _ in range(WAKEUPS):
        if r.check() != "ok":
            raise AssertionError("the benchmark file changed")
        total += len(r.read(APPEND))
    return total


@pytest.mark.parametrize("impl", twins(tail.IMPLEMENTATIONS, "tail"))
def test_tail_wake_ups(benchmark: Any, reader: Any, big_file: Path) -> None:
    benchmark.group = f"tail: {WAKEUPS:,} wake-ups (check, then read {APPEND} B)"
    total = benchmark(_wake_ups, reader)
    record(benchmark, (total, reader.offset), (WAKEUPS * APPEND, WAKEUPS * APPEND))
