# cython: language_level=3
"""Positional reads that never move a file offset, with the GIL released around ``pread``.

Twin of :mod:`outrider.fs.readat_py`; both must return identical bytes and raise
identical errors.
"""

import os

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals

from posix_ext cimport EAGAIN, EINTR, EINVAL, RWF_NOWAIT, errno, iovec, off_t, pread, preadv2

DEFAULT_CHUNK_SIZE = 65536


cdef inline int _check_offset(long long offset) except -1:
    # pread(2) itself says EINVAL; checking first keeps both twins identical.
    if offset < 0:
        raise OSError(EINVAL, os.strerror(EINVAL))
    return 0


cdef Py_ssize_t _pread_retry(int fd, char *buf, Py_ssize_t n, off_t offset) except -1:
    cdef Py_ssize_t got
    cdef int err = 0
    while True:
        with nogil:
            got = pread(fd, buf, <size_t>n, offset)
            if got < 0:
                err = errno
        if got >= 0:
            return got
        if err != EINTR:
            raise OSError(err, os.strerror(err))
        # PEP 475: retry, but let a signal handler's exception through first.
        PyErr_CheckSignals()


cdef Py_ssize_t _pread_full_into(int fd, char *buf, Py_ssize_t size, off_t offset) except -1:
    # Loops on short reads; fewer than size bytes only at end of file.
    cdef Py_ssize_t got = 0
    cdef Py_ssize_t n
    while got < size:
        n = _pread_retry(fd, buf + got, size - got, offset + got)
        if n == 0:
            break
        got += n
    return got


cdef Py_ssize_t _pread_cached_into(int fd, char *buf, Py_ssize_t size, off_t offset) except -1:
    # Stops where a read would wait for the disk (EAGAIN) or at end of file.
    cdef Py_ssize_t got = 0
    cdef Py_ssize_t n
    cdef int err
    cdef iovec iov
    while got < size:
        iov.iov_base = buf + got
        iov.iov_len = <size_t>(size - got)
        # RWF_NOWAIT never sleeps on the disk, so the GIL stays held.
        n = preadv2(fd, &iov, 1, offset + got, RWF_NOWAIT)
        if n < 0:
            err = errno
            if err == EINTR:
                PyErr_CheckSignals()
                continue
            if err == EAGAIN:
                break
            raise OSError(err, os.strerror(err))
        if n == 0:
            break
        got += n
    return got


cdef bytes _read_range(int fd, Py_ssize_t size, long long offset, bint cached_only):
    _check_offset(offset)
    if size < 0:
        raise ValueError("size must be >= 0")
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    cdef char *buf = PyBytes_AS_STRING(out)
    cdef Py_ssize_t got
    if cached_only:
        got = _pread_cached_into(fd, buf, size, <off_t>offset)
    else:
        got = _pread_full_into(fd, buf, size, <off_t>offset)
    if got < size:
        return out[:got]
    return out


def pread_full(int fd, Py_ssize_t size, long long offset):
    """Read ``size`` bytes at ``offset``, looping on short reads; fewer only at end of file."""
    return _read_range(fd, size, offset, False)


def pread_cached(int fd, Py_ssize_t size, long long offset):
    """What the page cache holds now of ``size`` bytes at ``offset``: a prefix, possibly empty; never waits for the disk."""
    return _read_range(fd, size, offset, True)


cdef class ChunkReader:
    """Positional reads of one descriptor into a single reused buffer."""

    def __cinit__(self, int fd, Py_ssize_t chunk_size=DEFAULT_CHUNK_SIZE):
        if chunk_size <= 0:
            raise ValueError("chunk_size must be > 0")
        self.fd = fd
        self.chunk_size = chunk_size
        self._buf = bytearray(chunk_size)
        # The permanent export pins the bytearray's storage, so _ptr stays valid
        # while the GIL is released and nobody can resize the buffer under us.
        self._view = memoryview(self._buf).toreadonly()
        self._ptr = PyByteArray_AS_STRING(self._buf)

    def read(self, long long offset, Py_ssize_t max_bytes=-1):
        """One ``pread`` of up to ``min(chunk_size, max_bytes)`` bytes; the view lives until the next read."""
        _check_offset(offset)
        cdef Py_ssize_t n = self.chunk_size
        if 0 <= max_bytes < n:
            n = max_bytes
        if n == 0:
            return self._view[:0]
        cdef Py_ssize_t got = _pread_retry(self.fd, self._ptr, n, <off_t>offset)
        return self._view[:got]

    def read_bytes(self, long long offset, Py_ssize_t size):
        """Read up to ``size`` bytes at ``offset`` into a new ``bytes`` (see :func:`pread_full`)."""
        return pread_full(self.fd, size, offset)
