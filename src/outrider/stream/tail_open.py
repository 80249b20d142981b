"""Opening a file for tailing: the one way every stream gets its :class:`~outrider.stream.tail.TailReader`.

``/v1/client/fs/stream`` names a path beneath the allocation, ``/v1/client/fs/logs``
names rotated files in ``alloc/logs``; both end in :func:`open_tail`, so every
followed file is opened the same way: by its name in a directory already held
open, never through a symlink, regular files only, with the reader holding its
own descriptor of that directory. Later checks of the name (truncation,
replacement, deletion) therefore look in that very directory, wherever a task
moves symlinks meanwhile.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from typing import TYPE_CHECKING

from outrider.allocs import Allocation
from outrider.fs.allocdir import open_in_alloc, open_regular
from outrider.stream.tail import TailReader

if TYPE_CHECKING:
    from outrider.stream.service import StreamService

MAX_FILE_OFFSET = (1 << 63) - 1
"""The largest file offset (Go's ``math.MaxInt64``)."""

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
# Not a regular file at the name now: a symlink (O_NOFOLLOW), a socket, or a missing
# directory component.
_NOT_A_FILE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENXIO})


def open_tail(
    service: StreamService,
    dir_fd: int,
    name: str,
    offset: int,
    *,
    from_end: bool = False,
    checked: os.stat_result | None = None,
) -> TailReader | None:
    """A reader of the regular file ``name`` in the directory ``dir_fd``, or None when there is none.

    Args:
        service: the agent's stream service (shared descriptors, the read buffer).
        dir_fd: a descriptor of the directory (``O_PATH`` is enough); it stays the caller's.
        name: one path component; a symlink there is not followed.
        offset: where reading starts: bytes from the start of the file, or with
            ``from_end`` bytes before its end (not before byte 0).
        from_end: count ``offset`` back from the end of the file.
        checked: the file as the caller checked it; another file at the name now
            counts as none.

    None means the name holds no regular file now (missing, a symlink, a FIFO, a
    directory...). Other failures raise the ``OSError``; no descriptor leaks.
    """
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _NOT_A_FILE:
            return None
        raise
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode) or (
            checked is not None and (st.st_dev, st.st_ino) != (checked.st_dev, checked.st_ino)
        ):
            os.close(fd)
            return None
        parent_fd = os.open(".", _DIR_FLAGS, dir_fd=dir_fd)
    except BaseException:
        os.close(fd)
        raise
    start = max(st.st_size - offset, 0) if from_end else offset
    # The kernel fails a read that would end past the largest file offset (EINVAL), and
    # no file holds data there; starting just short of it reads nothing, as past any EOF.
    start = min(start, MAX_FILE_OFFSET - len(service.scratch))
    return service.reader(fd, parent_fd, name, start)


def open_alloc_tail(
    service: StreamService, alloc: Allocation, user_path: str, rel: str, *, origin_end: bool, offset: int
) -> TailReader:
    """A reader of the file at ``rel`` beneath the allocation, positioned by ``origin``/``offset``.

    ``rel`` (already cleaned) is resolved beneath the allocation directory and
    checked as for every read (a directory, then a secret, then anything else
    that is not a regular file); the file is then opened in its resolved parent
    directory through :func:`open_tail`, and must still be the file checked.
    Raises OSError: :class:`~outrider.fs.allocdir.NotRegularFileError`,
    :class:`~outrider.fs.allocdir.SecretPathError`, ``FileNotFoundError``...
    """
    with open_regular(alloc, user_path, rel) as (_path_fd, st, resolved):
        parent_rel, _, name = resolved.rpartition("/")
        with open_in_alloc(alloc, parent_rel, os.O_PATH | os.O_DIRECTORY) as (dir_fd, _):
            reader = open_tail(service, dir_fd, name, offset, from_end=origin_end, checked=st)
    if reader is None:
        # Replaced or removed between the check and the open.
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), rel)
    return reader
