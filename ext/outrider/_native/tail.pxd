# Reader of the growing end of an open file (tail.pyx); pure twin: outrider/stream/tail_py.py.

from posix.types cimport dev_t, ino_t


cdef enum:
    FINGERPRINT_LEN = 32  # FINGERPRINT_SIZE of the pure twin


cdef class TailReader:
    cdef int _fd
    cdef int _parent_fd
    cdef bytes _name
    cdef dev_t _dev
    cdef ino_t _ino
    cdef long long _last_size
    cdef long long _offset
    cdef bint _eof
    cdef bint _closed
    cdef object _release
    cdef bytearray _buf
    cdef object _view
    # Always the _fp_len bytes just before _offset; none when unknown.
    cdef char _fp[FINGERPRINT_LEN]
    cdef Py_ssize_t _fp_len

    cdef int _check_open(self) except -1
    cdef int _read_fingerprint(self, long long size) except -1
