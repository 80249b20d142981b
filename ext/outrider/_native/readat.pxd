# Positional reads (see readat.pyx; pure twin: outrider/fs/readat_py.py).

from posix_ext cimport off_t


cdef Py_ssize_t _pread_retry(int fd, char *buf, Py_ssize_t n, off_t offset) except -1
cdef Py_ssize_t _pread_full_into(int fd, char *buf, Py_ssize_t size, off_t offset) except -1


cdef class ChunkReader:
    cdef readonly int fd
    cdef readonly Py_ssize_t chunk_size
    cdef bytearray _buf
    cdef object _view
    cdef char *_ptr
