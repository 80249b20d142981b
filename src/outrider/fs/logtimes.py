"""Capture-time indexes of task log files: when the bytes of ``<task>.<type>.<N>`` arrived.

The log capture (:mod:`outrider.runner.logmon`) appends one 16-byte record per
write to ``<name>.times`` in the task's state directory under the agent's data
dir (``client/tasks/<alloc>/<task>/logtimes``), never in the allocation's
visible files: the file offset where the write began and the capture time in
Unix nanoseconds, both unsigned 64-bit little-endian. Offsets only grow within
one file. The index is removed with its log file when the file rotates out, and
with the state directory when the allocation is collected.

The time of a byte is the time of the last record at or before its offset: when
the capture read it from the task's pipe (read back by
:class:`outrider.stream.capture_times.CaptureTimes`). Nomad keeps no such record (its
logmon writes bytes only), so external (sidecar) allocations have no index.
"""

from __future__ import annotations

import os
import struct

from outrider.errors import NO_ROOM

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
    """Appends records to one log file's index; owned by the log capture.

    The index lives on the data dir's file system, which can fill up like any
    other. A record that finds no room is skipped (the bytes it would have timed
    take the time of the record before them) and a short write is cut back, so
    the index never holds a torn record and the log capture never stops for it.
    """

    def __init__(self, dir_fd: int, log_name: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        self._last_offset = -1
        try:
            self._fd = os.open(index_name(log_name), flags, 0o600, dir_fd=dir_fd)
            self._size = os.lseek(self._fd, 0, os.SEEK_END)
        except OSError as exc:
            if exc.errno not in NO_ROOM:
                raise
            self._fd = -1  # no index for this file: its times are unknown
            self._size = 0

    def record(self, offset: int, time_ns: int) -> None:
        """The bytes written at ``offset`` onwards arrived at ``time_ns``."""
        if offset == self._last_offset or self._fd < 0:
            return  # nothing was written since the previous record
        try:
            written = os.write(self._fd, RECORD.pack(offset, time_ns))
        except OSError as exc:
            if exc.errno not in NO_ROOM:
                raise
            return
        if written != RECORD.size:
            os.ftruncate(self._fd, self._size)
            return
        self._size += written
        self._last_offset = offset

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
