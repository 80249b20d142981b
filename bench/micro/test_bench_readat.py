"""Positional reads: 256 random 4 KiB reads into a reused buffer, native against pure."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from outrider.fs import readat

SIZE = 8 * 1024 * 1024
OFFSETS = [random.Random(4).randrange(0, SIZE - 4096) for _ in range(256)]


@pytest.fixture(scope="module")
def data_fd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, bytes]]:
    data = random.Random(5).randbytes(SIZE)
    path: Path = tmp_path_factory.mktemp("readat") / "data.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    yield fd, data
    os.close(fd)


@pytest.mark.parametrize("impl", twins(readat.IMPLEMENTATIONS, "readat"))
def test_random_reads(benchmark: Any, impl: ModuleType, data_fd: tuple[int, bytes]) -> None:
    benchmark.group = "readat: 256 random 4 KiB reads"
    fd, data = data_fd
    reader = impl.ChunkReader(fd, 4096)

    def reads() -> int:
        total = 0
        for off in OFFSETS:
            total += len(reader.read(off))
        return total

    total = benchmark(reads)
    sample = [bytes(reader.read(off)) for off in OFFSETS[:16]]
    record(benchmark, (total, sample), (256 * 4096, [data[o : o + 4096] for o in OFFSETS[:16]]))
