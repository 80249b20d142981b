"""Pure-Python twin of ``outrider._native.readat``: positional reads that never move a file offset.

``pread`` leaves the shared file position alone, so one descriptor can serve
several readers, and a reader never has to ``lseek``.
"""

from __future__ import annotations

import errno
import operator
import os

DEFAULT_CHUNK_SIZE = 65536


def _check_offset(offset: int) -> None:
    # A negative offset is EINVAL for pread(2) itself; raising it before the
    # call keeps both twins identical whatever the C library does with it.
    if offset < 0:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))


def _range_args(fd: int, size: int, offset: int) -> tuple[int, int, int]:
    """The arguments of a positional read as ints, checked as the native twin checks them."""
    fd = operator.index(fd)
    size = operator.index(size)
    offset = operator.index(offset)
    _check_offset(offset)
    if size < 0:
        raise ValueError("size must be >= 0")
    return fd, size, offset


def pread_full(fd: int, size: int, offset: int) -> bytes:
    """Read ``size`` bytes at ``offset``, looping on short reads; fewer only at end of file.

    Returns a new ``bytes`` object. Negative ``offset`` raises ``OSError(EINVAL)``;
    negative ``size`` raises ``ValueError``.
    """
    fd, size, offset = _range_args(fd, size, offset)
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = os.pread(fd, size - got, offset + got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    if len(parts) == 1:
        return parts[0]
    return b"".join(parts)


def pread_cached(fd: int, size: int, offset: int) -> bytes:
    """What the page cache holds now of ``size`` bytes at ``offset``: a prefix, possibly empty.

    ``preadv2`` with ``RWF_NOWAIT`` stops where a read would wait for the disk, so
    the event loop can read what is cached and leave the rest to a thread.
    Raises ``OSError(EOPNOTSUPP)`` where the file system cannot tell.
    """
    fd, size, offset = _range_args(fd, size, offset)
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        try:
            n = os.preadv(fd, [view[got:]], offset + got, os.RWF_NOWAIT)
        except BlockingIOError:
            break
        if n == 0:
            break
        got += n
    view.release()
    return bytes(buf) if got == size else bytes(buf[:got])


class ChunkReader:
    """Positional reads of one descriptor into a single reused buffer.

    :meth:`read` returns a read-only view of the internal buffer: it stays valid
    only until the next :meth:`read`, which overwrites it. Copy it (``bytes(view)``)
    to keep it. Not thread-safe: use one reader per stream. The reader does not
    own ``fd`` and never closes it.
    """

    __slots__ = ("_buf", "_chunk_size", "_fd", "_view", "_wview")

    def __init__(self, fd: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        fd = operator.index(fd)
        chunk_size = operator.index(chunk_size)
        if chunk_size <= 0:
            raise ValueError("chunk_size must be > 0")
        self._fd = fd
        self._chunk_size = chunk_size
        self._buf = bytearray(chunk_size)
        self._wview = memoryview(self._buf)
        self._view = self._wview.toreadonly()

    @property
    def fd(self) -> int:
        """The descriptor read from (not owned)."""
        return self._fd

    @property
    def chunk_size(self) -> int:
        """Size of the internal buffer: the most one :meth:`read` returns."""
        return self._chunk_size

    def read(self, offset: int, max_bytes: int = -1) -> memoryview:
        """One ``pread`` of up to ``min(chunk_size, max_bytes)`` bytes at ``offset``.

        ``max_bytes < 0`` means ``chunk_size``. Returns an empty view at end of
        file; the view is overwritten by the next call. ``EINTR`` is retried.
        """
        offset = operator.index(offset)
        max_bytes = operator.index(max_bytes)
        _check_offset(offset)
        n = self._chunk_size if max_bytes < 0 else min(self._chunk_size, max_bytes)
        if n == 0:
            return self._view[:0]
        got = os.preadv(self._fd, [self._wview[:n]], offset)
        return self._view[:got]

    def read_bytes(self, offset: int, size: int) -> bytes:
        """Read up to ``size`` bytes at ``offset`` into a new ``bytes`` (see :func:`pread_full`)."""
        return pread_full(self._fd, size, offset)
