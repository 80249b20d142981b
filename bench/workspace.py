"""The temporary tree every scenario works in: an allocation with real files, removed afterwards.

All agents and nginx serve the same allocation directory, so both sides of a
comparison read the very same inode from the same (warmed) page cache.
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import shutil
import tempfile
import uuid
from pathlib import Path

from outrider.fs.allocdir import build_alloc_dir

BIG_NAME = "alloc/data/big.bin"
PROBE_NAME = "alloc/data/probe.txt"
# The same bytes, kept changing while it is measured (stat cannot reuse its sniff).
CHANGING_NAME = "alloc/data/changing.txt"
LISTING_DIR = "alloc/data/listing"
TASK = "web"
_BLOCK = 8 * 1024 * 1024
FD_LIMIT = 65536
"""Descriptors wanted for 10,000 followers: a socket and two file descriptors each in the agent."""


class Workspace:
    """A temp dir holding agent data dirs, the shared alloc dir and one allocation with test files."""

    def __init__(self, big_file: int, root: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="outrider-bench-", dir=root))
        self.alloc_dir = self.root / "alloc"
        self.alloc_dir.mkdir()
        self.alloc_id = str(uuid.uuid4())
        self.alloc_path = Path(build_alloc_dir(str(self.alloc_dir), self.alloc_id, [TASK]))
        self.big_size = big_file
        self._write_files()
        self._counter = 0

    def _write_files(self) -> None:
        # Real bytes: a sparse or all-zero file would let the kernel skip work that a
        # real log or artifact needs. An 8 MiB pseudo-random block repeated is enough
        # to defeat that without spending seconds in os.urandom.
        block = random.Random(0x0B7).randbytes(min(_BLOCK, self.big_size))
        with open(self.path(BIG_NAME), "wb") as out:
            left = self.big_size
            while left:
                n = min(left, len(block))
                out.write(block[:n])
                left -= n
            # Written back now, not during the first scenario's measurements.
            out.flush()
            os.fsync(out.fileno())
        self.path(PROBE_NAME).write_bytes(b"hello from the benchmark\n" * 40)
        self.path(CHANGING_NAME).write_bytes(b"hello from the benchmark\n" * 40)
        listing = self.path(LISTING_DIR)
        listing.mkdir()
        for i in range(16):
            (listing / f"file-{i:02d}.log").write_bytes(b"x" * (i * 100))

    def path(self, rel: str) -> Path:
        """The host path of ``rel`` inside the allocation."""
        return self.alloc_path / rel

    def nginx_path(self, rel: str) -> str:
        """The URL path under which nginx (rooted at the alloc dir) serves ``rel``."""
        return f"/{self.alloc_id}/{rel}"

    def fresh_dir(self, prefix: str) -> Path:
        """A new empty directory in the workspace (agent data dirs, scratch files)."""
        self._counter += 1
        path = self.root / f"{prefix}-{self._counter}"
        path.mkdir()
        return path

    def warm(self, rel: str) -> None:
        """Read ``rel`` once so every contender starts from the same warm page cache."""
        with open(self.path(rel), "rb", buffering=0) as f:
            while f.read(_BLOCK):
                pass

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def raise_fd_limit(wanted: int = FD_LIMIT) -> int:
    """Raise this process's descriptor limit (children inherit it); return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target_hard = max(hard, wanted) if os.geteuid() == 0 else hard
    target_soft = min(wanted, target_hard) if target_hard != resource.RLIM_INFINITY else wanted
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target_soft), target_hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
