"""Safe open beneath an allocation dir (a nested path through a symlink), native against pure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from outrider.fs import safe_open

REL = "web/local/link/deep/er/app.log"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    base = tmp_path_factory.mktemp("alloc")
    target = base / "alloc" / "data" / "deep" / "er"
    target.mkdir(parents=True)
    (target / "app.log").write_bytes(b"log line\n")
    (base / "web" / "local").mkdir(parents=True)
    os.symlink("../../alloc/data", base / "web" / "local" / "link")
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    yield fd, os.path.realpath(base)
    os.close(fd)


@pytest.mark.parametrize("impl", twins(safe_open.IMPLEMENTATIONS, "safe_open"))
def test_open_beneath(benchmark: Any, impl: ModuleType, root: tuple[int, str]) -> None:
    benchmark.group = "safe_open: 6 components and a symlink"
    root_fd, root_real = root

    def open_close() -> str:
        fd, resolved = impl.open_beneath(root_fd, root_real, REL, os.O_RDONLY)
        os.close(fd)
        return str(resolved)

    out = benchmark(open_close)
    record(benchmark, out, "alloc/data/deep/er/app.log")


def test_reference_resolution(root: tuple[int, str]) -> None:
    fd, resolved = safe_open.IMPLEMENTATIONS["pure"].open_beneath(root[0], root[1], REL, os.O_RDONLY)
    os.close(fd)
    assert resolved == "alloc/data/deep/er/app.log"
    assert Path(root[1], resolved).read_bytes() == b"log line\n"
