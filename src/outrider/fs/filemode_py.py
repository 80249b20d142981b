"""Pure-Python port of Go's ``os.FileMode.String()`` for Linux ``st_mode`` values.

Reference twin of ``outrider._native.filemode``. Mirrors Go in two steps:
``os/stat_linux.go`` maps stat's mode onto Go's FileMode bits, then
``io/fs`` ``FileMode.String`` prints them.
"""

from __future__ import annotations

import stat
from functools import lru_cache

# Go's FileMode type bits, highest first, in the order of the letters "dalTLDpSugct?".
_GO_LETTERS = "dalTLDpSugct?"
_MODE_DIR = 1 << 31
_MODE_SYMLINK = 1 << 27
_MODE_DEVICE = 1 << 26
_MODE_NAMED_PIPE = 1 << 25
_MODE_SOCKET = 1 << 24
_MODE_SETUID = 1 << 23
_MODE_SETGID = 1 << 22
_MODE_CHAR_DEVICE = 1 << 21
_MODE_STICKY = 1 << 20

_TYPE_BITS = {
    stat.S_IFBLK: _MODE_DEVICE,
    stat.S_IFCHR: _MODE_DEVICE | _MODE_CHAR_DEVICE,
    stat.S_IFDIR: _MODE_DIR,
    stat.S_IFIFO: _MODE_NAMED_PIPE,
    stat.S_IFLNK: _MODE_SYMLINK,
    stat.S_IFSOCK: _MODE_SOCKET,
}


def _go_mode(st_mode: int) -> int:
    mode = (st_mode & 0o777) | _TYPE_BITS.get(stat.S_IFMT(st_mode), 0)
    if st_mode & stat.S_ISGID:
        mode |= _MODE_SETGID
    if st_mode & stat.S_ISUID:
        mode |= _MODE_SETUID
    if st_mode & stat.S_ISVTX:
        mode |= _MODE_STICKY
    return mode


@lru_cache(maxsize=4096)
def _render(st_mode: int) -> str:
    mode = _go_mode(st_mode)
    letters = "".join(c for i, c in enumerate(_GO_LETTERS) if mode & (1 << (31 - i)))
    perms = "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
    return (letters or "-") + perms


def file_mode_string(st_mode: int) -> str:
    """Go ``os.FileMode.String()`` of a Linux ``st_mode`` (low 16 bits only).

    >>> file_mode_string(0o100644)
    '-rw-r--r--'
    >>> file_mode_string(0o041777)
    'dtrwxrwxrwx'
    """
    return _render(st_mode & 0xFFFF)
