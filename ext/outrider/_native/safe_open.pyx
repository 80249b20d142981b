# cython: language_level=3
"""Open a path beneath the alloc dir with the check and the open as one step.

Twin of :mod:`outrider.fs.safe_open_py` (read its docstring for the symlink
rules). The fast path is one ``openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)``
with the GIL released. The kernel refuses every absolute symlink and every
magic link, stricter than our "inside is fine" rule, so on those refusals (and
whenever the kernel lacks ``openat2``) the component walk below decides: it
is the authority on escapes, and both twins must agree on every input.
"""

import os

from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport uint64_t
from libc.string cimport memset

from posix_ext cimport (
    AT_FDCWD, E2BIG, EAGAIN, EINTR, EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOSYS, ENOTDIR, EPERM, EXDEV,
    O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS, S_ISDIR, S_ISLNK, SYS_openat2, close, errno, fstat, open_how, openat, readlink,
    readlinkat, stat_t, syscall,
)

from outrider.fs.errors import PathEscapesError
from outrider.fs.safe_open_py import check_flags, encode_rel, oserror, root_prefix

cdef enum:
    C_PATH_MAX = 4096  # the kernel's PATH_MAX, NUL included
    C_MAX_SYMLINKS = 40  # Linux MAXSYMLINKS: the 41st link in one lookup is ELOOP

MAX_SYMLINKS = C_MAX_SYMLINKS
PATH_MAX = C_PATH_MAX

cdef int _SWAP_RETRIES = 8
cdef int _PROBE = O_PATH | O_NOFOLLOW | O_CLOEXEC
cdef int _PARENT = O_PATH | O_DIRECTORY | O_CLOEXEC
cdef uint64_t _RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS

# Kernel refusals that are ours to judge: EXDEV (absolute link or ".." at the
# root), ELOOP (a loop, a magic link or, with RESOLVE_NO_SYMLINKS, any link),
# EAGAIN (a rename raced the lookup), EINVAL/E2BIG (flags openat2 is strict
# about), EPERM (a seccomp filter), ENOSYS (no openat2 at all).
cdef frozenset _DEFER_TO_WALK = frozenset((EXDEV, ELOOP, EAGAIN, EINVAL, EPERM, E2BIG, ENOSYS))

# -1: not probed yet, 0: the kernel (or a seccomp filter) refuses openat2, 1: usable.
_openat2_state = -1


cdef int _sys_openat(int dirfd, const char *name, int flags, int *err) except -2:
    cdef int fd
    while True:
        with nogil:
            fd = openat(dirfd, name, flags, 0)
            if fd < 0:
                err[0] = errno
        if fd >= 0 or err[0] != EINTR:
            return fd
        # PEP 475: retry, but let a signal handler's exception through first.
        PyErr_CheckSignals()


cdef int _sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve, int *err) except -2:
    cdef open_how how
    cdef int fd
    memset(&how, 0, sizeof(how))
    how.flags = <uint64_t>(<unsigned int>(flags | O_CLOEXEC))
    how.resolve = resolve
    while True:
        with nogil:
            fd = <int>syscall(SYS_openat2, dirfd, path, &how, sizeof(open_how))
            if fd < 0:
                err[0] = errno
        if fd >= 0 or err[0] != EINTR:
            return fd
        PyErr_CheckSignals()


cdef int _fstat(int fd, stat_t *st, str rel) except -1:
    cdef int rc
    cdef int err = 0
    with nogil:
        rc = fstat(fd, st)
        if rc < 0:
            err = errno
    if rc < 0:
        raise oserror(err, rel)
    return 0


cdef inline void _close(int fd) noexcept nogil:
    # close(2) may report EINTR after the fd is already gone: never retry it.
    close(fd)


def openat2_available():
    """True when the kernel accepts ``openat2(2)``; probed once, then remembered."""
    global _openat2_state
    cdef int err = 0
    cdef int fd
    if _openat2_state < 0:
        fd = _sys_openat2(AT_FDCWD, b"/", O_PATH, 0, &err)
        if fd >= 0:
            _close(fd)
            _openat2_state = 1
        else:
            # ENOSYS: kernel older than 5.6; EPERM: a seccomp filter that predates it.
            _openat2_state = 0 if err in (ENOSYS, EPERM) else 1
    return _openat2_state == 1


cdef object _proc_resolved(int fd, bytes prefix):
    """The open object's path relative to the root, read back from /proc; None when unusable."""
    cdef char buf[C_PATH_MAX + 1]
    cdef bytes link = b"/proc/self/fd/%d" % fd
    cdef const char *p = link
    cdef Py_ssize_t n
    with nogil:
        n = readlink(p, buf, C_PATH_MAX + 1)
    if n < 0 or n > C_PATH_MAX - 1:
        return None
    cdef bytes target = buf[:n]
    # A name unlinked meanwhile reads back with this suffix; let the walk decide.
    if target.endswith(b" (deleted)"):
        return None
    if target == prefix:
        return ""
    if target.startswith(prefix + b"/"):
        return os.fsdecode(target[len(prefix) + 1 :])
    return None


cdef inline bint _is_plain(bytes rel_b):
    # Only names: then, with no symlink on the way, the path itself is the answer.
    cdef bytes framed = b"/" + rel_b + b"/"
    return not rel_b or (b"//" not in framed and b"/./" not in framed and b"/../" not in framed)


cdef object _via_openat2(int root_fd, bytes prefix, bytes rel_b, int flags, str rel):
    """``(fd, resolved_rel)`` from the kernel, or None when the walk must decide."""
    global _openat2_state
    cdef int err = 0
    cdef int fd
    cdef const char *path = rel_b if rel_b else b"."
    if _is_plain(rel_b):
        # Most opens name a plain file; refusing symlinks spares the /proc read-back.
        fd = _sys_openat2(root_fd, path, flags, _RESOLVE | RESOLVE_NO_SYMLINKS, &err)
        if fd >= 0:
            return fd, rel
        if err not in _DEFER_TO_WALK:
            # Resolution up to the first symlink is the same with or without them.
            raise oserror(err, rel)
    fd = _sys_openat2(root_fd, path, flags, _RESOLVE, &err)
    if fd >= 0:
        resolved = _proc_resolved(fd, prefix)
        if resolved is not None:
            return fd, resolved
        _close(fd)
        return None
    if err == ENOSYS:
        _openat2_state = 0
    elif err not in _DEFER_TO_WALK:
        # The walk would meet this error at the very same component, in the same order.
        raise oserror(err, rel)
    return None


def open_beneath(int root_fd, str root_real not None, str rel not None, int flags=O_RDONLY):
    """Open ``rel`` beneath the directory ``root_fd``; return ``(fd, resolved_rel)``."""
    cdef bytes rel_b = encode_rel(rel)
    check_flags(flags)
    cdef bytes prefix = root_prefix(root_real)
    if _openat2_state < 0:
        openat2_available()
    if _openat2_state == 1:
        result = _via_openat2(root_fd, prefix, rel_b, flags, rel)
        if result is not None:
            return result
    return _walk(root_fd, prefix, rel_b, flags, rel)


def open_beneath_walk(int root_fd, str root_real not None, str rel not None, int flags=O_RDONLY):
    """:func:`open_beneath` without ``openat2``: always the component walk."""
    cdef bytes rel_b = encode_rel(rel)
    check_flags(flags)
    return _walk(root_fd, root_prefix(root_real), rel_b, flags, rel)


cdef class _Walk:
    """State of one resolution: the directory reached so far and how we got there."""

    def __cinit__(self, int root_fd, str rel):
        self.root_fd = root_fd
        self.cur = root_fd
        self.rel = rel
        self.names = []
        self.idents = []

    cdef int release(self) except -1:
        cdef int fd
        if self.cur != self.root_fd:
            fd = self.cur
            self.cur = self.root_fd
            _close(fd)
        return 0

    cdef int to_root(self) except -1:
        self.release()
        del self.names[:]
        del self.idents[:]
        return 0

    cdef int descend(self, bytes name, int fd, stat_t *st) except -1:
        self.release()
        self.cur = fd
        self.names.append(name)
        self.idents.append((st.st_dev, st.st_ino))
        return 0

    cdef int ascend(self) except -1:
        cdef int err = 0
        cdef int parent
        cdef stat_t st
        if not self.names:
            raise PathEscapesError(self.rel)
        self.names.pop()
        self.idents.pop()
        if not self.names:
            return self.release()
        # ".." of the directory we stand in must be the one we came through;
        # otherwise it was moved meanwhile and depth counting would lie.
        parent = _sys_openat(self.cur, b"..", _PARENT, &err)
        if parent < 0:
            raise oserror(err, self.rel)
        try:
            _fstat(parent, &st, self.rel)
        except BaseException:
            _close(parent)
            raise
        if (st.st_dev, st.st_ino) != self.idents[len(self.idents) - 1]:
            _close(parent)
            raise oserror(EAGAIN, self.rel)
        self.release()
        self.cur = parent
        return 0


cdef int _expand(_Walk w, int link_fd, bytes prefix, list pending) except -1:
    cdef char buf[C_PATH_MAX + 1]
    cdef Py_ssize_t n
    cdef int err = 0
    with nogil:
        n = readlinkat(link_fd, b"", buf, C_PATH_MAX + 1)
        if n < 0:
            err = errno
    if n < 0:
        raise oserror(err, w.rel)
    if n > C_PATH_MAX - 1:
        raise oserror(ENAMETOOLONG, w.rel)
    cdef bytes target = buf[:n]
    if not target:
        raise oserror(ENOENT, w.rel)
    if target.startswith(b"/"):
        if target != prefix and not target.startswith(prefix + b"/"):
            raise PathEscapesError(w.rel)
        w.to_root()
        target = target[len(prefix) :]
    parts = target.split(b"/")
    parts.reverse()
    pending.extend(parts)
    return 0


cdef int _open_final(int cur, bytes name, int flags, stat_t *probed, str rel) except -2:
    """Open the checked final object with the caller's flags; -1 when it was swapped meanwhile."""
    cdef int err = 0
    cdef int err2 = 0
    cdef int fd
    cdef stat_t st
    fd = _sys_openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, &err)
    if fd < 0:
        # An error might only mean the name changed since the probe (say, into a
        # symlink); look again before reporting it.
        fd = _sys_openat(cur, name, _PROBE, &err2)
        if fd < 0:
            raise oserror(err, rel)
        try:
            _fstat(fd, &st, rel)
        finally:
            _close(fd)
        if st.st_ino == probed.st_ino and st.st_dev == probed.st_dev:
            raise oserror(err, rel)
        return -1
    try:
        _fstat(fd, &st, rel)
    except BaseException:
        _close(fd)
        raise
    if st.st_ino != probed.st_ino or st.st_dev != probed.st_dev:
        _close(fd)
        return -1
    return fd


cdef tuple _walk(int root_fd, bytes prefix, bytes rel_b, int flags, str rel):
    if len(rel_b) >= C_PATH_MAX:
        raise oserror(ENAMETOOLONG, rel)
    cdef list pending = rel_b.split(b"/")
    pending.reverse()
    cdef _Walk w = _Walk(root_fd, rel)
    cdef int links = 0
    cdef int swaps = 0
    cdef int fd, final_fd
    cdef int err = 0
    cdef bytes name
    cdef stat_t st
    try:
        while pending:
            name = pending.pop()
            if not name or name == b".":
                continue
            if name == b"..":
                w.ascend()
                continue
            fd = _sys_openat(w.cur, name, _PROBE, &err)
            if fd < 0:
                raise oserror(err, rel)
            try:
                _fstat(fd, &st, rel)
                if S_ISLNK(st.st_mode):
                    links += 1
                    if links > C_MAX_SYMLINKS:
                        raise oserror(ELOOP, rel)
                    _expand(w, fd, prefix, pending)
                elif pending:
                    # Anything after this name (even a trailing "/" or ".")
                    # needs it to be a directory.
                    if not S_ISDIR(st.st_mode):
                        raise oserror(ENOTDIR, rel)
                    w.descend(name, fd, &st)
                    fd = -1
                else:
                    final_fd = _open_final(w.cur, name, flags, &st, rel)
                    if final_fd < 0:
                        swaps += 1
                        if swaps > _SWAP_RETRIES:
                            raise oserror(EAGAIN, rel)
                        pending.append(name)
                        continue
                    w.names.append(name)
                    return final_fd, os.fsdecode(b"/".join(w.names))
            finally:
                if fd >= 0:
                    _close(fd)
        # The path ended on a directory we already stand in (root, "x/." or "x/..").
        final_fd = _sys_openat(w.cur, b".", flags | O_CLOEXEC, &err)
        if final_fd < 0:
            raise oserror(err, rel)
        return final_fd, os.fsdecode(b"/".join(w.names))
    finally:
        w.release()
