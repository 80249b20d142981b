# Linux inotify(7): declarations only, never imported at run time.

from libc.stdint cimport int32_t, uint32_t


cdef extern from "<sys/inotify.h>" nogil:
    struct inotify_event:
        int32_t wd
        uint32_t mask
        uint32_t cookie
        uint32_t len
        char name[1]

    int inotify_init1(int flags)
    int inotify_add_watch(int fd, const char *pathname, uint32_t mask)
    int inotify_rm_watch(int fd, int wd)

    enum:
        IN_NONBLOCK
        IN_CLOEXEC
        IN_ACCESS
        IN_MODIFY
        IN_ATTRIB
        IN_CLOSE_WRITE
        IN_CLOSE_NOWRITE
        IN_OPEN
        IN_MOVED_FROM
        IN_MOVED_TO
        IN_CREATE
        IN_DELETE
        IN_DELETE_SELF
        IN_MOVE_SELF
        IN_UNMOUNT
        IN_Q_OVERFLOW
        IN_IGNORED
        IN_ONLYDIR
        IN_DONT_FOLLOW
        IN_EXCL_UNLINK
        IN_MASK_ADD
        IN_ISDIR
