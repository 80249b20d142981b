# cython: language_level=3
"""Counting newlines backwards through a file in blocks, with the GIL released around each block.

Twin of :mod:`outrider.stream.linescan_py`; both must return identical results
and raise identical errors.
"""

import os

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from posix_ext cimport EINVAL, off_t

from outrider._native.readat cimport _pread_full_into

DEFAULT_BLOCK_SIZE = 65536


def scan_back(int fd, long long end, long long count, Py_ssize_t block_size=DEFAULT_BLOCK_SIZE):
    """Find up to ``count`` newlines in ``[0, end)``, nearest to ``end`` first.

    Returns ``(found, position)``: how many were found (at most ``count``) and the
    offset of the last one found (the ``found``-th from ``end``), or -1 when none was.
    An ``end`` past the file's size means its size.
    """
    if end < 0 or count < 0:
        raise OSError(EINVAL, os.strerror(EINVAL))
    if block_size <= 0:
        raise ValueError("block_size must be > 0")
    cdef long long found = 0
    cdef long long position = -1
    cdef long long block_start, hi = min(end, os.fstat(fd).st_size)
    cdef Py_ssize_t n
    cdef bytes buf = PyBytes_FromStringAndSize(NULL, block_size)
    cdef char *ptr = PyBytes_AS_STRING(buf)
    cdef const char *hit
    while found < count and hi > 0:
        block_start = hi - block_size if hi > block_size else 0
        n = <Py_ssize_t>(hi - block_start)
        # A file that shrank under us gives fewer bytes: what was cut off is gone, scan what is left.
        n = _pread_full_into(fd, ptr, n, <off_t>block_start)
        with nogil:
            while found < count and n > 0:
                hit = <const char *>memrchr(ptr, 10, <size_t>n)
                if hit == NULL:
                    break
                n = hit - ptr
                found += 1
                position = block_start + n
        hi = block_start
    return found, position
