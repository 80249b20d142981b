"""Linux inotify through ctypes: the pure-Python twin of ``outrider._native.inotify``.

Only what the watcher needs: a non-blocking instance, adding and removing
watches, and turning the kernel's event records into ``(wd, mask, name)`` tuples.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_MASK_ADD = 0x20000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

READ_SIZE = 65536
"""Bytes read from the inotify descriptor at once: room for hundreds of events."""

_HEADER = struct.Struct("=iIII")

Event = tuple[int, int, bytes]

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        lib.inotify_init1.argtypes = [ctypes.c_int]
        lib.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        lib.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        _libc = lib
    return _libc


def _check(result: int) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def init() -> int:
    """Create a non-blocking, close-on-exec inotify instance and return its descriptor."""
    return _check(_lib().inotify_init1(IN_NONBLOCK | IN_CLOEXEC))


def add_watch(ifd: int, path: str | bytes, mask: int) -> int:
    """Watch ``path`` for the events in ``mask``; return the watch descriptor.

    The same inode always yields the same watch descriptor (and the new mask
    replaces the old one unless ``IN_MASK_ADD`` is set).
    """
    return _check(_lib().inotify_add_watch(ifd, os.fsencode(path), mask))


def rm_watch(ifd: int, wd: int) -> None:
    """Remove a watch; the kernel then queues an ``IN_IGNORED`` event for it."""
    _check(_lib().inotify_rm_watch(ifd, wd))


def parse_events(data: bytes | bytearray | memoryview) -> list[Event]:
    """Split raw ``struct inotify_event`` records into ``(wd, mask, name)`` tuples.

    ``name`` is empty for events about the watched object itself. Raises
    ValueError when the records are cut short.
    """
    view = memoryview(data).cast("B")
    events: list[Event] = []
    pos = 0
    end = view.nbytes
    while pos < end:
        if end - pos < _HEADER.size:
            raise ValueError("truncated inotify event header")
        wd, mask, _cookie, name_len = _HEADER.unpack_from(view, pos)
        pos += _HEADER.size
        if end - pos < name_len:
            raise ValueError("truncated inotify event name")
        name = bytes(view[pos : pos + name_len]).split(b"\0", 1)[0]
        pos += name_len
        events.append((wd, mask, name))
    return events


def read_events(ifd: int) -> list[Event]:
    """Read and parse every pending event; an empty list when none are queued."""
    try:
        data = os.read(ifd, READ_SIZE)
    except BlockingIOError:
        return []
    return parse_events(data)
