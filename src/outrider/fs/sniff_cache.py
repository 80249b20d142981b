"""Remembered content types of files that have not changed since they were sniffed.

``fs/stat`` sniffs the first 512 bytes of a file on every request (``client/allocdir/alloc_dir.go`` ``Stat``),
and clients poll ``stat`` of the same files. A file's inode change time moves on
every write and cannot be set from user space, so ``(device, inode, ctime,
size)`` names one version of a file's bytes, with one caveat borrowed from git's
"racy clean" rule: kernels stamp files from a coarse clock, so a write landing
in the same clock tick as the sniff could keep the ctime it replaced. A result
is therefore only kept when the file's ctime was already :data:`SETTLED_NS` in
the past before its bytes were read; files still being written are sniffed on
every request.
"""

from __future__ import annotations

import os
import time

# Far above any timestamp granularity a kernel uses (a jiffy, at most 10 ms).
SETTLED_NS = 1_000_000_000
CAPACITY = 4096

_Key = tuple[int, int]
_Version = tuple[int, int]


class SniffCache:
    """A bounded map from a file version to its sniffed content type."""

    __slots__ = ("_entries", "capacity", "settle_ns")

    def __init__(self, capacity: int = CAPACITY, settle_ns: int = SETTLED_NS) -> None:
        self.capacity = capacity
        self.settle_ns = settle_ns
        self._entries: dict[_Key, tuple[_Version, str]] = {}

    def get(self, st: os.stat_result) -> str | None:
        """The content type sniffed from this very version of the file, if known."""
        entry = self._entries.get((st.st_dev, st.st_ino))
        if entry is not None and entry[0] == (st.st_ctime_ns, st.st_size):
            return entry[1]
        return None

    def settled(self, st: os.stat_result) -> bool:
        """Whether ``st`` is old enough to key a result: call before reading the bytes."""
        return time.time_ns() - st.st_ctime_ns > self.settle_ns

    def put(self, st: os.stat_result, content_type: str) -> None:
        """Remember ``content_type`` for the version ``st`` describes (only a settled one)."""
        key = (st.st_dev, st.st_ino)
        entries = self._entries
        if key not in entries and len(entries) >= self.capacity:
            # Oldest first: dicts keep insertion order.
            del entries[next(iter(entries))]
        entries[key] = ((st.st_ctime_ns, st.st_size), content_type)

    def __len__(self) -> int:
        return len(self._entries)
