"""The rotating log writer: ``alloc/logs/<task>.<stdout|stderr>.<N>``.

Nomad's is ``client/logmon/logging/rotator.go``.

Differences from Nomad's rotator, on purpose:

- bytes reach the file as soon as they arrive (no 64 KiB buffer, no 100 ms flush timer);
- the size counter counts the bytes written (Nomad over-counts and rotates early);
- old files are purged before the next file is created, so there are never more
  than ``max_files`` files;
- on start (a new attempt of the task) the highest index is appended to only while
  it is not full; a full one is left alone and the next index is opened;
- a file ends at the last line break within its final 32 KiB; a chunk that does not
  reach the size limit is written whole, and a line that has no break within those
  32 KiB is split at the limit. Nomad looks for line breaks in every chunk that comes
  near the limit and never splits into an empty file, so with large reads and small
  files it can rotate forever; here an empty file always takes the bytes.

Away from the limit the bytes go from the task's pipe to the file with ``splice``
(no copy through user space); only the last 32 KiB before each limit are read
into memory and inspected.

Bytes that the file system refuses for want of room (``ENOSPC``, ``EDQUOT``,
``EFBIG``) are dropped and counted in :attr:`RotatingLog.dropped`, and the pipe
is drained all the same, so the task never blocks on a full disk. Every later
chunk is tried again, so writing resumes by itself once there is room.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
import time

from outrider.errors import NO_ROOM
from outrider.fs.logfiles import list_log_files, log_name
from outrider.fs.logtimes import TimeIndexWriter, remove_index

SCAN_LIMIT = 32 * 1024
"""Bytes before the size limit in which a file may end early, at a line break."""

READ_SIZE = 1024 * 1024
"""The most bytes moved by one read or splice."""

_SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)
# Errors that mean "this file system or kernel does not splice into files": use read/write.
_NO_SPLICE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV}


class RotatingLog:
    """Append a stream to ``<log_dir>/<task>.<log_type>.<N>`` files of at most ``max_size`` bytes, keeping ``max_files``.

    Files are opened relative to the log directory and never through a symlink, so a
    task that plants links in ``alloc/logs`` cannot redirect the writes.

    With ``times_dir`` (outside the allocation directory), each file gets a capture-time
    index there (:mod:`outrider.fs.logtimes`), removed when the file rotates out.
    """

    def __init__(
        self,
        log_dir: str,
        task: str,
        log_type: str,
        max_files: int,
        max_size: int,
        times_dir: str | None = None,
    ) -> None:
        if max_files < 1 or max_size < 1:
            raise ValueError("max_files and max_size must be at least 1")
        self._times_dir_fd = -1
        self._times: TimeIndexWriter | None = None
        if times_dir is not None:
            os.makedirs(times_dir, mode=0o700, exist_ok=True)
            self._times_dir_fd = os.open(times_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.task = task
        self.log_type = log_type
        self.max_files = max_files
        self.max_size = max_size
        self._dir_fd = os.open(log_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._fd = -1
        self._index = 0
        self._size = 0
        self._splice = hasattr(os, "splice")
        self.dropped = 0
        """Bytes dropped because the file system had no room for them."""
        # Only the files this writer could have written itself are appended to, counted and
        # purged: a stray name of the same index (``web.stdout.01``) is left alone.
        self._known = [
            f.index
            for f in list_log_files(self._dir_fd, task, log_type)
            if f.index >= 0 and f.name == self._name(f.index)
        ]
        index = self._known[-1] if self._known else 0
        if not self._usable(index):
            index = self._next_usable(index + 1)
        self._index = index
        self._try_open(index)

    @property
    def index(self) -> int:
        """The index of the file being written."""
        return self._index

    @property
    def size(self) -> int:
        """Bytes in the file being written."""
        return self._size

    def _name(self, index: int) -> str:
        return log_name(self.task, self.log_type, index)

    def _lstat(self, index: int) -> os.stat_result | None:
        try:
            return os.stat(self._name(index), dir_fd=self._dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _usable(self, index: int) -> bool:
        """A missing file, or a regular file with room left, can take bytes."""
        st = self._lstat(index)
        return st is None or (stat_mod.S_ISREG(st.st_mode) and st.st_size < self.max_size)

    def _next_usable(self, index: int) -> int:
        while not self._usable(index):
            index += 1
        return index

    def _open(self, index: int) -> None:
        # Purge first, so the new file never makes one too many (Nomad's rotator purges asynchronously).
        if index not in self._known:
            self._known.append(index)
            self._known.sort()
        while len(self._known) > self.max_files:
            oldest = self._known.pop(0)
            try:
                os.unlink(self._name(oldest), dir_fd=self._dir_fd)
            except FileNotFoundError:
                pass
            if self._times_dir_fd >= 0:
                remove_index(self._times_dir_fd, self._name(oldest))
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        # No O_APPEND: Linux refuses to splice into append-only files. This writer is the
        # file's only writer, so its own offset is the end of the file.
        self._fd = os.open(self._name(index), flags, 0o644, dir_fd=self._dir_fd)
        self._size = os.lseek(self._fd, 0, os.SEEK_END)
        self._index = index
        if self._times_dir_fd >= 0:
            self._times = TimeIndexWriter(self._times_dir_fd, self._name(index))

    def _try_open(self, index: int) -> bool:
        """Open file ``index``; False (and no file open) when the file system has no room for it."""
        try:
            self._open(index)
        except OSError as exc:
            if exc.errno not in NO_ROOM:
                raise
            self._fd = -1
            self._index, self._size = index, 0
            return False
        return True

    def _close_current(self) -> None:
        """Close the file being written and its time index."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._times is not None:
            self._times.close()
            self._times = None

    def _rotate(self) -> None:
        self._close_current()
        self._try_open(self._next_usable(self._index + 1))

    def _ready(self) -> bool:
        """A file open with room left, rotating or reopening as needed; False when there is no room."""
        if self._fd < 0:
            # A file could not be created earlier: try again, it may fit now.
            return self._try_open(self._next_usable(self._index))
        if self._size >= self.max_size:
            self._rotate()
        return self._fd >= 0

    def write(self, data: bytes) -> None:
        """Write all of ``data``, rotating (line-aware) whenever a file fills up."""
        pos, end = 0, len(data)
        while pos < end:
            if not self._ready():
                self.dropped += end - pos
                return
            space = self.max_size - self._size
            n = end - pos
            if n > space:
                lo = pos + max(0, space - SCAN_LIMIT)
                cut = data.rfind(b"\n", lo, pos + space)
                if cut >= 0:
                    n = cut + 1 - pos
                elif lo > pos or self._size == 0:
                    # No line break in the last 32 KiB, or an empty file: split at the limit.
                    n = space
                else:
                    self._rotate()
                    continue
            if not self._write_all(data, pos, n):
                # The rest of the chunk is dropped too: a later chunk has a better chance.
                self.dropped += end - pos - n
                return
            pos += n

    def _stamp(self, offset: int, time_ns: int) -> None:
        """The bytes written at ``offset`` of the current file arrived at ``time_ns``."""
        if self._times is not None:
            self._times.record(offset, time_ns)

    def _write_all(self, data: bytes, pos: int, n: int) -> bool:
        """Write ``data[pos:pos + n]``; False when the file system ran out of room (the rest is dropped)."""
        self._stamp(self._size, time.time_ns())
        view = memoryview(data)[pos : pos + n]
        while view:
            try:
                written = os.write(self._fd, view)
            except OSError as exc:
                if exc.errno not in NO_ROOM:
                    raise
                self.dropped += len(view)
                return False
            view = view[written:]
            self._size += written
        return True

    def pump(self, fd: int) -> bool:
        """Move what the pipe ``fd`` holds into the log; False at end of stream.

        ``fd`` must be non-blocking; :class:`BlockingIOError` means it is empty.
        """
        ready = self._ready()
        room = self.max_size - self._size - SCAN_LIMIT
        if ready and room > 0 and self._splice:
            arrived = time.time_ns()
            try:
                moved = os.splice(fd, self._fd, min(room, READ_SIZE), flags=_SPLICE_FLAGS)
            except OSError as exc:
                if exc.errno in NO_ROOM:
                    pass  # the bytes stay in the pipe: read below, and dropped there if still no room
                elif exc.errno in _NO_SPLICE:
                    self._splice = False
                else:
                    raise
            else:
                if moved > 0:
                    self._stamp(self._size, arrived)
                self._size += moved
                return moved > 0
        data = os.read(fd, READ_SIZE)
        if not data:
            return False
        self.write(data)
        return True

    def close(self) -> None:
        self._close_current()
        if self._times_dir_fd >= 0:
            os.close(self._times_dir_fd)
            self._times_dir_fd = -1
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1
