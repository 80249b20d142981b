# cython: language_level=3
"""Reading the growing end of an open file (compiled twin of :mod:`outrider.stream.tail_py`)."""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_SetFromErrno
from libc.errno cimport EINTR, ENOENT, errno
from libc.string cimport memcmp, memcpy, memmove
from posix.fcntl cimport AT_SYMLINK_NOFOLLOW
from posix.stat cimport fstat, fstatat, struct_stat
from posix.unistd cimport close, pread

import os

DEFAULT_CHUNK_SIZE = 65536
FINGERPRINT_SIZE = FINGERPRINT_LEN


cdef int _raise_errno() except -1:
    PyErr_SetFromErrno(OSError)
    return -1


cdef Py_ssize_t _pread_full(int fd, char *buf, Py_ssize_t want, long long offset) except -1:
    """Read up to ``want`` bytes at ``offset`` (fewer only at the end of the file), retrying EINTR."""
    cdef Py_ssize_t got = 0
    cdef ssize_t n = 0
    cdef int err = 0
    with nogil:
        while got < want:
            n = pread(fd, buf + got, <size_t>(want - got), offset + got)
            if n > 0:
                got += n
            elif n == 0:
                break
            elif errno != EINTR:
                err = errno  # before anything else can change it
                break
    if n < 0:
        raise OSError(err, os.strerror(err))
    return got


cdef class TailReader:
    """Follow one open file from ``offset``; see ``outrider.stream.tail_py.TailReader``."""

    def __init__(
        self, int fd, int parent_fd, name, long long offset, Py_ssize_t chunk_size=DEFAULT_CHUNK_SIZE,
        bytearray buffer=None, release=None,
    ):
        cdef struct_stat st
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        if buffer is None:
            if chunk_size < 1:
                raise ValueError(f"chunk size must be positive, got {chunk_size}")
            buffer = bytearray(chunk_size)
        elif not buffer:
            raise ValueError("the read buffer must not be empty")
        if fstat(fd, &st) != 0:
            _raise_errno()
        self._fd = fd
        self._parent_fd = parent_fd
        self._name = os.fsencode(name)
        self._dev = st.st_dev
        self._ino = st.st_ino
        self._last_size = st.st_size
        self._offset = offset
        self._eof = False
        self._closed = False
        self._release = release
        self._buf = buffer
        self._view = memoryview(buffer)
        self._fp_len = 0
        self._read_fingerprint(st.st_size)

    @property
    def fd(self):
        return self._fd

    @property
    def parent_fd(self):
        return self._parent_fd

    @property
    def offset(self):
        return self._offset

    @property
    def eof(self):
        return self._eof

    @property
    def identity(self):
        return (self._dev, self._ino)

    @property
    def chunk_size(self):
        return len(self._buf)

    @property
    def fingerprint(self):
        return PyBytes_FromStringAndSize(self._fp, self._fp_len)

    cdef int _check_open(self) except -1:
        if self._closed:
            raise ValueError("I/O operation on a closed TailReader")
        return 0

    cdef int _read_fingerprint(self, long long size) except -1:
        """Read the bytes just before the offset; none at 0, past ``size`` or after a short read."""
        cdef Py_ssize_t want
        self._fp_len = 0
        if self._offset == 0 or self._offset > size:
            return 0
        want = min(self._offset, <long long>FINGERPRINT_LEN)
        if _pread_full(self._fd, self._fp, want, self._offset - want) == want:
            self._fp_len = want
        return 0

    def read(self, Py_ssize_t budget=-1):
        """Read up to ``budget`` bytes into the reused buffer and advance the offset."""
        cdef Py_ssize_t cap = len(self._buf)
        cdef Py_ssize_t want = cap if budget < 0 else min(budget, cap)
        cdef char *buf = PyByteArray_AS_STRING(self._buf)
        cdef Py_ssize_t got
        cdef Py_ssize_t keep
        self._check_open()
        got = _pread_full(self._fd, buf, want, self._offset)
        self._eof = got < want
        self._offset += got
        if got >= FINGERPRINT_LEN:
            memcpy(self._fp, buf + got - FINGERPRINT_LEN, FINGERPRINT_LEN)
            self._fp_len = FINGERPRINT_LEN
        elif got > 0:
            keep = min(self._fp_len, FINGERPRINT_LEN - got)
            memmove(self._fp, self._fp + self._fp_len - keep, <size_t>keep)
            memcpy(self._fp + keep, buf, <size_t>got)
            self._fp_len = keep + got
        return self._view[:got]

    def check(self):
        """Return ``"ok"``, ``"truncated"``, ``"replaced"`` or ``"deleted"``."""
        cdef struct_stat st
        cdef struct_stat named
        cdef long long expected
        cdef char again[FINGERPRINT_LEN]
        cdef Py_ssize_t n = self._fp_len
        self._check_open()
        if fstat(self._fd, &st) != 0:
            _raise_errno()
        if fstatat(self._parent_fd, self._name, &named, AT_SYMLINK_NOFOLLOW) != 0:
            if errno == ENOENT:
                return "deleted"
            _raise_errno()
        if named.st_dev != self._dev or named.st_ino != self._ino:
            return "replaced"
        expected = min(self._offset, self._last_size)
        self._last_size = st.st_size
        if st.st_size < expected:
            return "truncated"
        if n:
            # The bytes just before the offset must still be those read there.
            if st.st_size < self._offset:
                return "truncated"
            if _pread_full(self._fd, again, n, self._offset - n) != n or memcmp(again, self._fp, n) != 0:
                return "truncated"
        return "ok"

    def skip(self, long long offset, fingerprint=None):
        """Move forward to ``offset`` without reading: another reader of this file read those bytes."""
        cdef struct_stat st
        cdef bytes given
        self._check_open()
        if offset < self._offset:
            raise ValueError(f"cannot skip backwards from {self._offset} to {offset}")
        if fingerprint is not None:
            if not isinstance(fingerprint, bytes):
                raise TypeError(f"the fingerprint must be bytes, not {type(fingerprint).__name__}")
            given = fingerprint
            if len(given) > min(offset, <long long>FINGERPRINT_LEN):
                raise ValueError(f"a fingerprint of {len(given)} bytes cannot end at offset {offset}")
        self._offset = offset
        self._last_size = max(self._last_size, offset)
        if fingerprint is None:
            if fstat(self._fd, &st) != 0:
                _raise_errno()
            self._read_fingerprint(st.st_size)
        else:
            self._fp_len = len(given)
            memcpy(self._fp, PyBytes_AS_STRING(given), <size_t>self._fp_len)

    def rewind(self, long long offset=0):
        """Continue reading from ``offset`` (0 after a truncation)."""
        cdef struct_stat st
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        self._check_open()
        if fstat(self._fd, &st) != 0:
            _raise_errno()
        self._offset = offset
        self._last_size = st.st_size
        self._eof = False
        self._read_fingerprint(st.st_size)

    def close(self):
        """Close (or release) both descriptors; later calls do nothing."""
        cdef int rc_file, rc_dir, err = 0
        if self._closed:
            return
        self._closed = True
        if self._release is not None:
            try:
                self._release(self._fd)
            finally:
                self._release(self._parent_fd)
            return
        rc_file = close(self._fd)
        if rc_file != 0:
            err = errno
        rc_dir = close(self._parent_fd)
        if rc_file != 0:
            raise OSError(err, os.strerror(err))
        if rc_dir != 0:
            _raise_errno()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
