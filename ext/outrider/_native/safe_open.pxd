# Safe open beneath the alloc dir (see safe_open.pyx; pure twin: outrider/fs/safe_open_py.py).

from libc.stdint cimport uint64_t

from posix_ext cimport stat_t


cdef int _openat2_state

cdef int _sys_openat(int dirfd, const char *name, int flags, int *err) except -2
cdef int _sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve, int *err) except -2
cdef object _via_openat2(int root_fd, bytes prefix, bytes rel_b, int flags, str rel)
cdef int _fstat(int fd, stat_t *st, str rel) except -1
cdef object _proc_resolved(int fd, bytes prefix)
cdef tuple _walk(int root_fd, bytes prefix, bytes rel_b, int flags, str rel)


cdef class _Walk:
    cdef int root_fd
    cdef int cur
    cdef str rel
    cdef list names
    cdef list idents

    cdef int release(self) except -1
    cdef int to_root(self) except -1
    cdef int descend(self, bytes name, int fd, stat_t *st) except -1
    cdef int ascend(self) except -1
