# cython: language_level=3
"""Directory listing with each entry's ``lstat`` (compiled twin of :mod:`outrider.fs.listing_py`)."""

cimport libc.errno as cerrno
from cpython.bytes cimport PyBytes_FromString
from libc.errno cimport ENOENT, ENOMEM
from libc.stdlib cimport free, realloc
from libc.string cimport strncpy
from posix.fcntl cimport AT_SYMLINK_NOFOLLOW
from posix.stat cimport fstatat, struct_stat
from posix.unistd cimport close, dup

import os


cdef extern from "Python.h":
    object PyUnicode_DecodeFSDefault(const char *s)


cdef extern from "<dirent.h>" nogil:
    ctypedef struct DIR
    struct dirent:
        char d_name[256]
    DIR *fdopendir(int fd)
    dirent *readdir(DIR *dirp)
    void rewinddir(DIR *dirp)
    int closedir(DIR *dirp)


cdef extern from "<sys/stat.h>" nogil:
    # struct_stat from Cython's posix.stat has no nanosecond fields; these are glibc's.
    struct timespec:
        long tv_sec
        long tv_nsec
    ctypedef struct stat_ns "struct stat":
        unsigned int st_mode
        long st_size
        timespec st_mtim


cdef struct _Item:
    char name[256]
    unsigned int mode
    long size
    long long mtime_ns


cdef object _oserror(int err):
    return OSError(err, os.strerror(err))


cdef int _scan(int dir_fd, DIR *d, _Item **items, Py_ssize_t *count, Py_ssize_t *cap) noexcept nogil:
    """Read every entry and its lstat into ``items`` (grown as needed); 0, or the errno that stopped it."""
    cdef dirent *ent
    cdef stat_ns st
    cdef _Item *grown
    cdef _Item *item
    cdef const char *name
    while True:
        # readdir reports the end and an error alike; only errno tells them apart.
        cerrno.errno = 0
        ent = readdir(d)
        if ent == NULL:
            return cerrno.errno
        name = ent.d_name
        if name[0] == b"." and (name[1] == 0 or (name[1] == b"." and name[2] == 0)):
            continue
        if fstatat(dir_fd, name, <struct_stat *>&st, AT_SYMLINK_NOFOLLOW) != 0:
            if cerrno.errno == ENOENT:
                # Vanished between the listing and the stat: skipped (Nomad's List fails whole).
                continue
            return cerrno.errno
        if count[0] == cap[0]:
            grown = <_Item *>realloc(items[0], <size_t>(cap[0] * 2 + 16) * sizeof(_Item))
            if grown == NULL:
                return ENOMEM
            items[0] = grown
            cap[0] = cap[0] * 2 + 16
        item = &items[0][count[0]]
        strncpy(item.name, name, 255)
        item.name[255] = 0
        item.mode = st.st_mode
        item.size = st.st_size
        item.mtime_ns = <long long>st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec
        count[0] += 1


cpdef list list_dir(int dir_fd):
    """See :func:`outrider.fs.listing_py.list_dir`."""
    cdef int fd, err
    cdef DIR *d
    cdef _Item *items = NULL
    cdef Py_ssize_t count = 0, cap = 0, i
    cdef list found = []
    fd = dup(dir_fd)
    if fd < 0:
        raise _oserror(cerrno.errno)
    d = fdopendir(fd)
    if d == NULL:
        err = cerrno.errno
        close(fd)
        raise _oserror(err)
    try:
        with nogil:
            # A dup shares the directory offset with dir_fd: start from the top whatever it was,
            # and leave it at the top again, as os.scandir does.
            rewinddir(d)
            err = _scan(dir_fd, d, &items, &count, &cap)
            rewinddir(d)
            closedir(d)
        if err != 0:
            raise _oserror(err)
        for i in range(count):
            found.append(
                (PyBytes_FromString(items[i].name), PyUnicode_DecodeFSDefault(items[i].name),
                 items[i].mode, items[i].size, items[i].mtime_ns)
            )
    finally:
        free(items)
    found.sort()
    return [(t[1], t[2], t[3], t[4]) for t in found]
