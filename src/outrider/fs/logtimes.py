"""Capture-time indexes of task log files: when the bytes of ``<task>.<type>.<N>`` arrived.

The log capture (:mod:`outrider.runner.logmon`) appends one 16-byte record per
write to ``<name>.times`` in the task's state directory under the agent's data
dir (``client/tasks/<alloc>/<task>/logtimes``), never in the allocation's
visible files: the file offset where the write began and the capture time in
Unix nanoseconds, both unsigned 64-bit little-endian. Offsets only grow within
one file. The index is removed with its log file when the file rotates out, and
with the state directory when the allocation is collected.

The time of a byte is the time of the last record at or before its offset: when
the capture read it from the task's pipe. Nomad keeps no such record (its
logmon writes bytes only), so external (sidecar) allocations have no index.
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass

TIMES_DIR = "logtimes"
"""The directory of the indexes inside a task's state directory."""

SUFFIX = ".times"
RECORD = struct.Struct("<QQ")
"""One record: (file offset where a write began, capture time in Unix nanoseconds)."""

MAX_INDEX_BYTES = 64 * 1024 * 1024
"""An index larger than this is not read (4 million writes): times are then unknown."""


def index_name(log_name: str) -> str:
    """The index file of log file ``log_name``."""
    return log_name + SUFFIX


class TimeIndexWriter:
    """Appends records to one log file's index; owned by the log capture."""

    def __init__(self, dir_fd: int, log_name: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(index_name(log_name), flags, 0o600, dir_fd=dir_fd)
        self._last_offset = -1

    def record(self, offset: int, time_ns: int) -> None:
        """The bytes written at ``offset`` onwards arrived at ``time_ns``."""
        if offset == self._last_offset:
            return  # nothing was written since the previous record
        self._last_offset = offset
        os.write(self._fd, RECORD.pack(offset, time_ns))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def remove_index(dir_fd: int, log_name: str) -> None:
    """Remove the index of a log file that rotated out (missing already: nothing to do)."""
    try:
        os.unlink(index_name(log_name), dir_fd=dir_fd)
    except FileNotFoundError:
        pass


@dataclass(frozen=True)
class TimeIndex:
    """One log file's index as read: offsets ascending, each with its capture time."""

    offsets: list[int]
    times: list[int]

    def time_at(self, offset: int) -> int | None:
        """The capture time of the byte at ``offset`` (Unix ns), None when unknown."""
        i = bisect.bisect_right(self.offsets, offset) - 1
        return self.times[i] if i >= 0 else None

    def first_offset_at_or_after(self, time_ns: int) -> int | None:
        """The offset of the first write captured at or after ``time_ns``; None when none was."""
        for offset, t in zip(self.offsets, self.times, strict=True):
            if t >= time_ns:
                return offset
        return None


EMPTY = TimeIndex([], [])


def read_index(dir_fd: int, log_name: str) -> TimeIndex:
    """The index of log file ``log_name`` in the directory open at ``dir_fd``; EMPTY when there is none.

    A torn last record (the capture is writing it) is ignored; records whose offsets
    go backwards (the file was truncated and rewritten) start the index afresh.
    """
    try:
        fd = os.open(index_name(log_name), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return EMPTY
    try:
        size = os.fstat(fd).st_size
        if size > MAX_INDEX_BYTES:
            return EMPTY
        data = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    usable = len(data) - len(data) % RECORD.size
    offsets: list[int] = []
    times: list[int] = []
    for offset, t in RECORD.iter_unpack(data[:usable]):
        if offsets and offset < offsets[-1]:
            offsets, times = [], []
        offsets.append(offset)
        times.append(t)
    return TimeIndex(offsets, times)
