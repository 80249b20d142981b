# cython: language_level=3
"""Linux inotify (compiled twin of :mod:`outrider.stream.inotify_py`)."""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_SetFromErrno
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.errno cimport EAGAIN, EINTR, errno
from libc.stdint cimport int32_t, uint32_t
from libc.string cimport memcpy, memchr
from posix.unistd cimport read

cimport inotify as ino

import os

IN_MODIFY = ino.IN_MODIFY
IN_ATTRIB = ino.IN_ATTRIB
IN_CLOSE_WRITE = ino.IN_CLOSE_WRITE
IN_MOVED_FROM = ino.IN_MOVED_FROM
IN_MOVED_TO = ino.IN_MOVED_TO
IN_CREATE = ino.IN_CREATE
IN_DELETE = ino.IN_DELETE
IN_DELETE_SELF = ino.IN_DELETE_SELF
IN_MOVE_SELF = ino.IN_MOVE_SELF
IN_UNMOUNT = ino.IN_UNMOUNT
IN_Q_OVERFLOW = ino.IN_Q_OVERFLOW
IN_IGNORED = ino.IN_IGNORED
IN_ONLYDIR = ino.IN_ONLYDIR
IN_DONT_FOLLOW = ino.IN_DONT_FOLLOW
IN_EXCL_UNLINK = ino.IN_EXCL_UNLINK
IN_MASK_ADD = ino.IN_MASK_ADD
IN_ISDIR = ino.IN_ISDIR
IN_NONBLOCK = ino.IN_NONBLOCK
IN_CLOEXEC = ino.IN_CLOEXEC

cdef enum:
    _READ_SIZE = 65536  # room for hundreds of events per read
    _HEADER_SIZE = 16  # int32 wd, uint32 mask, uint32 cookie, uint32 len

READ_SIZE = _READ_SIZE


cdef int _raise_errno() except -1:
    PyErr_SetFromErrno(OSError)
    return -1


def init():
    """Create a non-blocking, close-on-exec inotify instance and return its descriptor."""
    cdef int fd = ino.inotify_init1(ino.IN_NONBLOCK | ino.IN_CLOEXEC)
    if fd < 0:
        _raise_errno()
    return fd


def add_watch(int ifd, path, uint32_t mask):
    """Watch ``path`` for the events in ``mask``; return the watch descriptor."""
    cdef bytes raw = os.fsencode(path)
    cdef int wd = ino.inotify_add_watch(ifd, raw, mask)
    if wd < 0:
        _raise_errno()
    return wd


def rm_watch(int ifd, int wd):
    """Remove a watch; the kernel then queues an ``IN_IGNORED`` event for it."""
    if ino.inotify_rm_watch(ifd, wd) != 0:
        _raise_errno()


cdef list _parse(const unsigned char *data, Py_ssize_t size):
    cdef list events = []
    cdef Py_ssize_t pos = 0
    cdef int32_t wd
    cdef uint32_t mask, name_len
    cdef const void *nul
    cdef Py_ssize_t used
    while pos < size:
        if size - pos < _HEADER_SIZE:
            raise ValueError("truncated inotify event header")
        # The records are only 4-byte aligned in a caller's buffer: copy, never cast.
        memcpy(&wd, data + pos, 4)
        memcpy(&mask, data + pos + 4, 4)
        memcpy(&name_len, data + pos + 12, 4)
        pos += _HEADER_SIZE
        if <Py_ssize_t>name_len > size - pos:
            raise ValueError("truncated inotify event name")
        nul = memchr(data + pos, 0, name_len)
        used = name_len if nul == NULL else <const unsigned char *>nul - (data + pos)
        events.append((wd, mask, PyBytes_FromStringAndSize(<const char *>data + pos, used)))
        pos += name_len
    return events


def parse_events(data):
    """Split raw ``struct inotify_event`` records into ``(wd, mask, name)`` tuples."""
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return _parse(<const unsigned char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def read_events(int ifd):
    """Read and parse every pending event; an empty list when none are queued."""
    cdef unsigned char *buf = <unsigned char *>PyMem_Malloc(_READ_SIZE)
    cdef ssize_t n
    if buf == NULL:
        raise MemoryError()
    try:
        while True:
            with nogil:
                n = read(ifd, buf, _READ_SIZE)
            if n >= 0:
                return _parse(buf, n)
            if errno == EAGAIN:  # == EWOULDBLOCK on Linux
                return []
            if errno != EINTR:
                _raise_errno()
    finally:
        PyMem_Free(buf)
