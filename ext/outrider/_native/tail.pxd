# Reader of the growing end of an open file (tail.pyx); pure twin: outrider/stream/tail_py.py.

from posix.types cimport dev_t, ino_t


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

    cdef int _check_open(self) except -1
