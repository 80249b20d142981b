"""Capture times of log lines, looked up in the indexes the log capture writes (:mod:`outrider.fs.logtimes`).

One reader per logs request: each file's index is read once and then only its
new records, as the followed file grows.
"""

from __future__ import annotations

import bisect
import os

from outrider.fs.logfiles import LogFile
from outrider.fs.logtimes import MAX_INDEX_BYTES, RECORD, index_name


class _FileTimes:
    __slots__ = ("offsets", "read", "times")

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.times: list[int] = []
        self.read = 0  # bytes of the index consumed


class CaptureTimes:
    """The capture times of one task's log files, from the index directory open at ``dir_fd`` (owned)."""

    def __init__(self, dir_fd: int) -> None:
        self._dir_fd = dir_fd
        self._files: dict[str, _FileTimes] = {}

    def close(self) -> None:
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1
        self._files.clear()

    def refresh(self, file: LogFile) -> None:
        """Take in the records written since the last look: call when new bytes of ``file`` were read."""
        entry = self._files.get(file.name)
        if entry is None:
            entry = self._files[file.name] = _FileTimes()
        if self._dir_fd < 0:
            return
        try:
            fd = os.open(
                index_name(file.name), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._dir_fd
            )
        except OSError:
            return
        try:
            size = os.fstat(fd).st_size
            if size < entry.read or size > MAX_INDEX_BYTES:
                return  # rewritten or unreasonably large: what was read stays
            size -= size % RECORD.size  # a record being written is taken next time
            data = os.pread(fd, size - entry.read, entry.read) if size > entry.read else b""
        finally:
            os.close(fd)
        for offset, t in RECORD.iter_unpack(data):
            if entry.offsets and offset < entry.offsets[-1]:
                entry.offsets.clear()
                entry.times.clear()
            entry.offsets.append(offset)
            entry.times.append(t)
        entry.read += len(data)

    def time_of(self, file: LogFile, offset: int) -> int | None:
        """The capture time (Unix ns) of the byte at ``offset`` of ``file``; None when unknown."""
        entry = self._files.get(file.name)
        if entry is None:
            self.refresh(file)
            entry = self._files[file.name]
        i = bisect.bisect_right(entry.offsets, offset) - 1
        return entry.times[i] if i >= 0 else None

    def first_at_or_after(self, file: LogFile, time_ns: int) -> int | None:
        """The offset of the first write of ``file`` captured at or after ``time_ns``; None when none was."""
        self.refresh(file)
        entry = self._files[file.name]
        i = bisect.bisect_left(entry.times, time_ns)
        return entry.offsets[i] if i < len(entry.offsets) else None
