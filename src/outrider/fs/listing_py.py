"""Listing a directory with each entry's ``lstat``, pure-Python reference (twin of ``outrider._native.listing``)."""

from __future__ import annotations

import errno
import os

Entry = tuple[str, int, int, int]
"""``(name, st_mode, st_size, st_mtime_ns)``; the name is decoded as file names are (``surrogateescape``)."""


def list_dir(dir_fd: int) -> list[Entry]:
    """The entries of the directory open (readable) at ``dir_fd``, sorted by their names' bytes.

    ``.`` and ``..`` are left out; each entry carries its own ``lstat`` (symlinks
    are not followed). An entry that vanishes between the listing and its
    ``lstat`` is skipped, not an error (Nomad's ``List`` fails whole); any other failure
    raises ``OSError``. ``dir_fd`` stays open.
    """
    if dir_fd < 0:
        # os.scandir(-1) would list the working directory instead.
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    found: list[tuple[bytes, str, int, int, int]] = []
    with os.scandir(dir_fd) as it:
        for entry in it:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            found.append((os.fsencode(entry.name), entry.name, st.st_mode, st.st_size, st.st_mtime_ns))
    found.sort()
    return [(name, mode, size, mtime) for _, name, mode, size, mtime in found]
