"""FileMode strings (Go's os.FileMode.String), native against pure."""

from __future__ import annotations

import stat
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from outrider.fs import filemode, filemode_py

KINDS = (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK, stat.S_IFIFO, stat.S_IFSOCK, stat.S_IFCHR, stat.S_IFBLK)
MODES = [kind | perm for kind in KINDS for perm in (0o644, 0o755, 0o600, 0o1777, 0o4755, 0o2750, 0o777, 0)]


@pytest.mark.parametrize("impl", twins(filemode.IMPLEMENTATIONS, "filemode"))
def test_file_mode_string(benchmark: Any, impl: ModuleType) -> None:
    benchmark.group = f"filemode: {len(MODES)} modes"
    render = impl.file_mode_string

    def all_modes() -> list[str]:
        return [render(m) for m in MODES]

    out = benchmark(all_modes)
    record(benchmark, out, [filemode_py.file_mode_string(m) for m in MODES])
