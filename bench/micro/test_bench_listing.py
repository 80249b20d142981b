"""Directory listings with each entry's lstat (fs/ls), native against pure."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from outrider.fs import listing, listing_py

ENTRIES = 16


@pytest.mark.parametrize("impl", twins(listing.IMPLEMENTATIONS, "listing"))
def test_list_dir(benchmark: Any, impl: ModuleType, tmp_path: Path) -> None:
    benchmark.group = f"listing: {ENTRIES} entries"
    for i in range(ENTRIES):
        (tmp_path / f"web.stdout.{i}").write_bytes(b"x" * (i * 100))
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        out = benchmark(impl.list_dir, fd)
        record(benchmark, out, listing_py.list_dir(fd))
    finally:
        os.close(fd)
