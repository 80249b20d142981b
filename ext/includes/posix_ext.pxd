# POSIX and Linux file-system calls used by the native core: declarations only,
# never imported at run time.

from libc.stdint cimport uint64_t


cdef extern from "<errno.h>" nogil:
    int errno
    enum:
        EINTR
        EINVAL
        ENOENT
        ENOTDIR
        ELOOP
        ENAMETOOLONG
        ENOSYS
        EXDEV
        EAGAIN
        EPERM
        E2BIG


cdef extern from "<sys/types.h>" nogil:
    ctypedef long off_t
    ctypedef unsigned long dev_t
    ctypedef unsigned long ino_t
    ctypedef unsigned int mode_t


cdef extern from "<fcntl.h>" nogil:
    enum:
        O_RDONLY
        O_NONBLOCK
        O_DIRECTORY
        O_NOFOLLOW
        O_CLOEXEC
        O_CREAT
        O_PATH
        O_TMPFILE
        AT_FDCWD
        AT_SYMLINK_NOFOLLOW
        AT_EMPTY_PATH

    int openat(int dirfd, const char *pathname, int flags, ...)


cdef extern from "<unistd.h>" nogil:
    ssize_t pread(int fd, void *buf, size_t count, off_t offset)
    ssize_t readlink(const char *pathname, char *buf, size_t bufsiz)
    ssize_t readlinkat(int dirfd, const char *pathname, char *buf, size_t bufsiz)
    int close(int fd)
    long syscall(long number, ...)


cdef extern from "<sys/stat.h>" nogil:
    ctypedef struct stat_t "struct stat":
        dev_t st_dev
        ino_t st_ino
        mode_t st_mode

    int fstat(int fd, stat_t *buf)
    int fstatat(int dirfd, const char *pathname, stat_t *buf, int flags)
    bint S_ISDIR(mode_t mode)
    bint S_ISLNK(mode_t mode)


# openat2(2) arrived in Linux 5.6 and glibc has no wrapper, so it is reached
# through syscall(2). Older headers lack the number and the struct; the values
# below are the kernel ABI (437 on every architecture with the unified table).
cdef extern from *:
    """
    #include <sys/syscall.h>
    #include <stdint.h>
    #ifndef SYS_openat2
    #define SYS_openat2 437
    #endif
    #if defined(__has_include)
    #  if __has_include(<linux/openat2.h>)
    #    include <linux/openat2.h>
    #    define OUTRIDER_HAVE_OPENAT2_H 1
    #  endif
    #endif
    #ifndef OUTRIDER_HAVE_OPENAT2_H
    struct open_how {
        uint64_t flags;
        uint64_t mode;
        uint64_t resolve;
    };
    #define RESOLVE_NO_XDEV 0x01
    #define RESOLVE_NO_MAGICLINKS 0x02
    #define RESOLVE_NO_SYMLINKS 0x04
    #define RESOLVE_BENEATH 0x08
    #define RESOLVE_IN_ROOT 0x10
    #endif
    """
    struct open_how:
        uint64_t flags
        uint64_t mode
        uint64_t resolve

    enum:
        SYS_openat2
        RESOLVE_NO_XDEV
        RESOLVE_NO_MAGICLINKS
        RESOLVE_NO_SYMLINKS
        RESOLVE_BENEATH
        RESOLVE_IN_ROOT


cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len
    # glibc >= 2.26 with _GNU_SOURCE (Python.h defines it); Linux >= 4.14 honours RWF_NOWAIT.
    ssize_t preadv2(int fd, const iovec *iov, int iovcnt, off_t offset, int flags)
    enum:
        RWF_NOWAIT
