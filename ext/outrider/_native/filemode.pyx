# cython: language_level=3
"""Go ``os.FileMode.String()`` for a Linux ``st_mode`` (Go ``io/fs``).

Go first maps stat's mode to its own bits (``os/stat_linux.go``) and then
prints the set type letters in the fixed order ``dalTLDpSugct?`` followed by
``rwxrwxrwx``. Only d, L, D, p, S, u, g, c and t can come from Linux stat, so
they are emitted here directly in that order. Pure twin: ``outrider.fs.filemode_py``.
"""

cdef extern from "<sys/stat.h>" nogil:
    enum:
        S_IFMT
        S_IFDIR
        S_IFLNK
        S_IFBLK
        S_IFCHR
        S_IFIFO
        S_IFSOCK
        S_ISUID
        S_ISGID
        S_ISVTX


cdef str mode_string_raw(unsigned int st_mode):
    cdef char buf[24]
    cdef int w = 0
    cdef int i
    cdef unsigned int fmt = st_mode & S_IFMT
    cdef const char* rwx = b"rwxrwxrwx"
    if fmt == S_IFDIR:
        buf[w] = b'd'
        w += 1
    elif fmt == S_IFLNK:
        buf[w] = b'L'
        w += 1
    elif fmt == S_IFBLK or fmt == S_IFCHR:
        buf[w] = b'D'
        w += 1
    elif fmt == S_IFIFO:
        buf[w] = b'p'
        w += 1
    elif fmt == S_IFSOCK:
        buf[w] = b'S'
        w += 1
    if st_mode & S_ISUID:
        buf[w] = b'u'
        w += 1
    if st_mode & S_ISGID:
        buf[w] = b'g'
        w += 1
    if fmt == S_IFCHR:
        buf[w] = b'c'
        w += 1
    if st_mode & S_ISVTX:
        buf[w] = b't'
        w += 1
    if w == 0:
        buf[w] = b'-'
        w += 1
    for i in range(9):
        buf[w] = rwx[i] if st_mode & (1 << (8 - i)) else b'-'
        w += 1
    return buf[:w].decode("ascii")


cpdef str file_mode_string(object st_mode):
    """Go ``os.FileMode.String()`` of a Linux ``st_mode`` (low 16 bits only)."""
    return mode_string_raw(<unsigned int>(st_mode & 0xFFFF))
